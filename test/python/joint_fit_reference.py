"""Independent reference for Scaleboard's joint scaling-law fit (server/domain/scaling/fit-joint-scaling-law.ts).

Minimises the same objective as Hoffmann et al. (2022, Appendix D.2) and Besiroglu et al. (2024):
sum_i Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i), with scipy's L-BFGS-B
(no bounds) from each given start, keeping the lowest objective. The objective is divided by delta,
as the TypeScript side does; the optimum is the same.

stdin:  {"points": [{"params": N, "data": D, "loss": L}, ...], "starts": [[a, b, e, alpha, beta], ...], "delta": 1e-3}
stdout: {"theta": [a, b, e, alpha, beta], "objective": value (undivided), "starts": count}
"""

import json
import sys

import numpy as np
from scipy.optimize import minimize
from scipy.special import huber


def main() -> None:
    request = json.load(sys.stdin)
    delta = float(request.get("delta", 1e-3))
    log_n = np.log(np.array([p["params"] for p in request["points"]], dtype=float))
    log_d = np.log(np.array([p["data"] for p in request["points"]], dtype=float))
    log_l = np.log(np.array([p["loss"] for p in request["points"]], dtype=float))

    def objective(theta):
        a, b, e, alpha, beta = theta
        terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])
        top = terms.max(axis=0)
        prediction = top + np.log(np.exp(terms - top).sum(axis=0))
        residual = prediction - log_l
        value = np.sum(huber(delta, residual)) / delta
        slope = np.clip(residual, -delta, delta) / delta
        weights = np.exp(terms - prediction)
        gradient = np.array(
            [
                np.sum(slope * weights[0]),
                np.sum(slope * weights[1]),
                np.sum(slope * weights[2]),
                -np.sum(slope * weights[0] * log_n),
                -np.sum(slope * weights[1] * log_d),
            ]
        )
        return value, gradient

    best = None
    for start in request["starts"]:
        with np.errstate(all="ignore"):
            result = minimize(
                objective,
                np.array(start, dtype=float),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": 5000, "ftol": 1e-14, "gtol": 1e-10},
            )
        if np.all(np.isfinite(result.x)) and np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        json.dump({"theta": None, "objective": None, "starts": len(request["starts"])}, sys.stdout)
        return
    json.dump(
        {"theta": [float(v) for v in best.x], "objective": float(best.fun) * delta, "starts": len(request["starts"])},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
