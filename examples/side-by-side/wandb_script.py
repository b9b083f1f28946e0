"""A typical Weights & Biases training script, run against Scaleboard by changing one import.

    pip install ./clients/python        # or: pip install http://HOST:3000/api/v1/sdk/python
    SCALEBOARD_API_URL=http://localhost:3000 SCALEBOARD_API_KEY=sb_... python3 wandb_script.py --width 32

The only change from the W&B original is `import scaleboard as wandb` (was `import wandb`): init's
`group` names the Scaleboard experiment, `project` the project. The model is a random-features
regression in plain Python, so the script needs nothing installed.
"""

import argparse
import math
import random

import scaleboard as wandb

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=32)
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--project", default="Side by side")
parser.add_argument("--group", default="widths")
args = parser.parse_args()

wandb.init(project=args.project, name=f"wandb-width-{args.width}", group=args.group, config=vars(args))
config = wandb.config

rng = random.Random(config.seed)
# Fixed random tanh features and a trained linear read-out: more features, a better fit.
features = [(rng.gauss(0, 2), rng.uniform(-3, 3)) for _ in range(config.width)]
xs = [-3 + 6 * index / 511 for index in range(512)]
data = [(x, math.sin(2 * x) + 0.3 * x) for x in xs]
train, val = data[::2], data[1::2]
phi = {x: [math.tanh(a * (x - b)) for a, b in features] for x, _ in data}
weights = [0.0] * config.width
bias = 0.0


def mse(points):
    return sum((sum(w * f for w, f in zip(weights, phi[x])) + bias - y) ** 2 for x, y in points) / len(points)


for step in range(config.steps):
    # One full-batch gradient step on the mean squared error.
    grads = [0.0] * config.width
    grad_bias = 0.0
    for x, y in train:
        error = sum(w * f for w, f in zip(weights, phi[x])) + bias - y
        for index, f in enumerate(phi[x]):
            grads[index] += 2 * error * f / len(train)
        grad_bias += 2 * error / len(train)
    weights = [w - config.lr * g for w, g in zip(weights, grads)]
    bias -= config.lr * grad_bias
    if step % 10 == 0 or step == config.steps - 1:
        wandb.log({"train_loss": mse(train), "val_loss": mse(val)}, step=step)

wandb.run.summary["paramCount"] = 3 * config.width + 1
wandb.finish()
