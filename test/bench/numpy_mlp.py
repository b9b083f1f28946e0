#!/usr/bin/env python3
"""numpy/OpenBLAS reference for test/bench/train-bench.ts.

The same MLP as the tfjs benches, in float32: 64 -> w -> w -> 10, ReLU, mean squared error,
forward + backward + Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8) on one fixed random batch.
Each width runs --reps timed windows (sharing --target-seconds) and keeps the fastest.
Prints one JSON object: the BLAS in use (threadpoolctl when importable, else OpenBLAS's own
C API through ctypes) and, per width, steps timed, seconds, samples/s and GFLOP/s where
GFLOP/s = 6 x params x samples/s (2 FLOPs per parameter per sample forward, 4 backward).

Usage: python3 test/bench/numpy_mlp.py [--widths 32,128,512,2048] [--batch 128]
       [--target-seconds 2] [--warmup 3] [--max-steps 5000] [--reps 3]
Thread count: OpenBLAS's default (all cores) unless OPENBLAS_NUM_THREADS is set.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are read at load: the caller unsets them for this
command alone (see test/bench/README.md).
"""

import argparse
import ctypes
import glob
import json
import os
import sys
import time

import numpy as np

F32 = np.float32


def blas_info():
    """Which BLAS library, kernel (core) and thread count numpy runs on."""
    info = {
        "numpy": np.__version__,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
    }
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        info["source"] = "threadpoolctl"
        info["libraries"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")} for p in pools
        ]
        if pools:
            info["corename"] = pools[0].get("architecture")
            info["num_threads"] = pools[0].get("num_threads")
        return info
    except ImportError:
        info["source"] = "ctypes (threadpoolctl not importable)"
    # Fallback: numpy's wheel bundles scipy-openblas; ask it directly.
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    candidates = glob.glob(os.path.join(libs_dir, "*openblas*.so*"))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
            try:
                corename = getattr(lib, f"{prefix}get_corename{suffix}")
                config = getattr(lib, f"{prefix}get_config{suffix}")
                threads = getattr(lib, f"{prefix}get_num_threads{suffix}")
            except AttributeError:
                continue
            corename.restype = ctypes.c_char_p
            config.restype = ctypes.c_char_p
            threads.restype = ctypes.c_int
            info["libraries"] = [{"filepath": path, "config": config().decode(), "architecture": corename().decode(), "num_threads": threads()}]
            info["corename"] = corename().decode()
            info["num_threads"] = threads()
            return info
    info["corename"] = None
    info["note"] = "could not identify the BLAS (no threadpoolctl, no bundled OpenBLAS found)"
    return info


class Mlp:
    def __init__(self, width, inputs=64, outputs=10, seed=0):
        rng = np.random.default_rng(seed)
        gain = np.sqrt(2.0)
        shapes = [(inputs, width), (width, width), (width, outputs)]
        self.params = []
        for index, (fan_in, fan_out) in enumerate(shapes):
            std = (gain if index < 2 else 1.0) / np.sqrt(fan_in)
            self.params.append((rng.standard_normal((fan_in, fan_out)) * std).astype(F32))
            self.params.append(np.zeros(fan_out, dtype=F32))
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.tmp = [np.empty_like(p) for p in self.params]
        self.t = 0

    @property
    def count(self):
        return sum(p.size for p in self.params)

    def loss_and_grads(self, x, y):
        w1, c1, w2, c2, w3, c3 = self.params
        # forward
        z1 = x @ w1
        z1 += c1
        h1 = np.maximum(z1, F32(0))
        z2 = h1 @ w2
        z2 += c2
        h2 = np.maximum(z2, F32(0))
        out = h2 @ w3
        out += c3
        diff = out - y
        loss = float(np.mean(diff * diff))
        # backward (mean over all elements, as tf.losses.meanSquaredError)
        d_out = diff * F32(2.0 / diff.size)
        g_w3 = h2.T @ d_out
        g_c3 = d_out.sum(axis=0)
        d_h2 = d_out @ w3.T
        d_h2 *= z2 > 0
        g_w2 = h1.T @ d_h2
        g_c2 = d_h2.sum(axis=0)
        d_h1 = d_h2 @ w2.T
        d_h1 *= z1 > 0
        g_w1 = x.T @ d_h1
        g_c1 = d_h1.sum(axis=0)
        return loss, [g_w1, g_c1, g_w2, g_c2, g_w3, g_c3]

    def step(self, x, y, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        loss, grads = self.loss_and_grads(x, y)
        # Adam, in place
        self.t += 1
        step_size = F32(lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t))
        for p, g, m, v, tmp in zip(self.params, grads, self.m, self.v, self.tmp):
            m *= F32(b1)
            np.multiply(g, F32(1 - b1), out=tmp)
            m += tmp
            v *= F32(b2)
            np.multiply(g, g, out=tmp)
            tmp *= F32(1 - b2)
            v += tmp
            np.sqrt(v, out=tmp)
            tmp += F32(eps)
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp
        return loss


def bench(width, batch, target_seconds, warmup, max_steps, min_steps, reps):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((batch, 64)).astype(F32)
    y = rng.standard_normal((batch, 10)).astype(F32)
    model = Mlp(width)
    for _ in range(warmup):
        model.step(x, y)
    # calibrate
    started = time.perf_counter()
    calibration = 0
    while calibration < 1 or (time.perf_counter() - started < 0.2 and calibration < max_steps):
        model.step(x, y)
        calibration += 1
    per_step = (time.perf_counter() - started) / calibration
    steps = int(max(min_steps, min(max_steps, round(target_seconds / reps / per_step))))
    # Best of `reps` timed windows: other load on the machine only ever slows a window down.
    windows = []
    for _ in range(reps):
        started = time.perf_counter()
        for _ in range(steps):
            loss = model.step(x, y)
        windows.append(time.perf_counter() - started)
    seconds = min(windows)
    samples_per_second = steps * batch / seconds
    assert all(p.dtype == F32 for p in model.params), "parameters left float32"
    return {
        "width": width,
        "params": model.count,
        "steps": steps,
        "seconds": seconds,
        "windows": windows,
        "samplesPerSecond": samples_per_second,
        "gflops": 6 * model.count * samples_per_second / 1e9,
        "finalLoss": loss,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--widths", default="32,128,512,2048")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--target-seconds", type=float, default=2.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--max-steps", type=int, default=5000)
    parser.add_argument("--min-steps", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3, help="timed windows per width (target-seconds split among them); the best is kept")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",") if w]
    info = blas_info()
    results = [bench(w, args.batch, args.target_seconds, args.warmup, args.max_steps, args.min_steps, max(1, args.reps)) for w in widths]
    json.dump({"blas": info, "batch": args.batch, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
