"""An MLflow-instrumented training script, logging to Scaleboard with two environment variables.

    MLFLOW_TRACKING_URI=http://localhost:3000 MLFLOW_TRACKING_TOKEN=sb_... python3 mlflow_script.py --width 64

Nothing in it names Scaleboard: mlflow's client speaks MLflow's tracking protocol to the server's
/api/2.0/mlflow endpoint. The experiment "Side by side/widths" is the Scaleboard project "Side by
side", experiment "widths"; params become the run's config (numbers parsed) and the param
`paramCount` its size for the scaling view. The model is the same random-features regression as
wandb_script.py, in plain Python.
"""

import argparse
import math
import random

import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--experiment", default="Side by side/widths")
args = parser.parse_args()

rng = random.Random(args.seed)
features = [(rng.gauss(0, 2), rng.uniform(-3, 3)) for _ in range(args.width)]
xs = [-3 + 6 * index / 511 for index in range(512)]
data = [(x, math.sin(2 * x) + 0.3 * x) for x in xs]
train, val = data[::2], data[1::2]
phi = {x: [math.tanh(a * (x - b)) for a, b in features] for x, _ in data}
weights = [0.0] * args.width
bias = 0.0


def mse(points):
    return sum((sum(w * f for w, f in zip(weights, phi[x])) + bias - y) ** 2 for x, y in points) / len(points)


mlflow.set_experiment(args.experiment)
with mlflow.start_run(run_name=f"mlflow-width-{args.width}"):
    mlflow.log_params({"width": args.width, "lr": args.lr, "seed": args.seed, "paramCount": 3 * args.width + 1})
    mlflow.set_tags({"framework": "plain-python"})
    for step in range(args.steps):
        grads = [0.0] * args.width
        grad_bias = 0.0
        for x, y in train:
            error = sum(w * f for w, f in zip(weights, phi[x])) + bias - y
            for index, f in enumerate(phi[x]):
                grads[index] += 2 * error * f / len(train)
            grad_bias += 2 * error / len(train)
        weights = [w - args.lr * g for w, g in zip(weights, grads)]
        bias -= args.lr * grad_bias
        if step % 10 == 0 or step == args.steps - 1:
            mlflow.log_metrics({"train_loss": mse(train), "val_loss": mse(val)}, step=step)
    mlflow.log_metric("final_val_loss", mse(val))
    print(mlflow.active_run().info.run_id)
