#!/usr/bin/env python3
"""A tiny 1-hidden-layer network trained by mini-batch SGD, in plain Python (standard library only).

Used by examples/python-command.yaml through Scaleboard's command runner. It prints one JSON object
per line to stdout:

    {"step": 10, "train/loss": 0.52}
    ...
    {"step": 300, "val/loss": 0.08}

Settings come from the command line (--width, --seed, --steps, ...); anything not given there is
read from the SCALEBOARD_CONFIG environment variable when it is set (the cell's config as JSON:
{"dataset": {...}, "validation": {...}, "model": {...}, "training": {...}}), then from defaults.
The same arguments always give the same output: every random draw comes from --seed (or from the
dataset's own seed for the data).
"""

import argparse
import json
import math
import os
import random
import sys


def load_config():
    text = os.environ.get("SCALEBOARD_CONFIG")
    if not text:
        return {}
    try:
        config = json.loads(text)
    except ValueError as error:
        print(f"train_tiny.py: ignoring SCALEBOARD_CONFIG, not JSON: {error}", file=sys.stderr)
        return {}
    return config if isinstance(config, dict) else {}


def get(config, path, default):
    node = config
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return default if node is None else node


def parse_args(config):
    batch = get(config, "training.batchSize", 16)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=int(get(config, "model.width", 16)))
    parser.add_argument("--seed", type=int, default=int(get(config, "training.seed", 0)))
    parser.add_argument("--steps", type=int, default=int(get(config, "training.budget.steps", 300)))
    parser.add_argument("--lr", type=float, default=float(get(config, "training.optimizer.lr", 0.05)))
    parser.add_argument("--batch-size", type=int, default=int(batch) if batch != "full" else 0)
    parser.add_argument("--log-every", type=int, default=int(get(config, "training.logEvery", 10)))
    parser.add_argument("--inputs", type=int, default=int(get(config, "dataset.inputs", 4)))
    parser.add_argument("--teacher-hidden", type=int, default=int(get(config, "dataset.hidden", 8)))
    parser.add_argument("--samples", type=int, default=int(get(config, "dataset.samples", 256)))
    parser.add_argument("--noise", type=float, default=float(get(config, "dataset.noise", 0.05)))
    parser.add_argument("--data-seed", type=int, default=int(get(config, "dataset.seed", 0)))
    parser.add_argument("--val-fraction", type=float, default=float(get(config, "validation.fraction", 0.25)))
    args = parser.parse_args()
    if args.width < 1 or args.steps < 1 or args.inputs < 1 or args.samples < 2:
        parser.error("width, steps and inputs must be at least 1, samples at least 2")
    return args


def make_teacher_data(args):
    """Inputs ~ N(0, 1); targets from a random tanh teacher network plus Gaussian noise."""
    rng = random.Random(args.data_seed)
    n_in, n_hidden = args.inputs, args.teacher_hidden
    w1 = [[rng.gauss(0, 1 / math.sqrt(n_in)) for _ in range(n_in)] for _ in range(n_hidden)]
    w2 = [rng.gauss(0, 1 / math.sqrt(n_hidden)) for _ in range(n_hidden)]
    xs, ys = [], []
    for _ in range(args.samples):
        x = [rng.gauss(0, 1) for _ in range(n_in)]
        h = [math.tanh(sum(w * xi for w, xi in zip(row, x))) for row in w1]
        y = sum(w * hi for w, hi in zip(w2, h)) + args.noise * rng.gauss(0, 1)
        xs.append(x)
        ys.append(y)
    n_val = max(1, int(args.samples * args.val_fraction)) if args.val_fraction > 0 else 0
    return (xs[n_val:], ys[n_val:]), (xs[:n_val], ys[:n_val])


class TinyNet:
    """y = v . tanh(W x + b) + c, trained on mean squared error."""

    def __init__(self, n_in, width, rng):
        self.W = [[rng.gauss(0, 1 / math.sqrt(n_in)) for _ in range(n_in)] for _ in range(width)]
        self.b = [0.0] * width
        self.v = [rng.gauss(0, 1 / math.sqrt(width)) for _ in range(width)]
        self.c = 0.0

    def forward(self, x):
        h = [math.tanh(sum(w * xi for w, xi in zip(row, x)) + bj) for row, bj in zip(self.W, self.b)]
        return h, sum(vj * hj for vj, hj in zip(self.v, h)) + self.c

    def loss(self, xs, ys):
        return sum((self.forward(x)[1] - y) ** 2 for x, y in zip(xs, ys)) / len(xs)

    def sgd_step(self, xs, ys, lr):
        width, n_in = len(self.W), len(self.W[0])
        gW = [[0.0] * n_in for _ in range(width)]
        gb = [0.0] * width
        gv = [0.0] * width
        gc = 0.0
        total = 0.0
        scale = 2.0 / len(xs)
        for x, y in zip(xs, ys):
            h, out = self.forward(x)
            err = out - y
            total += err * err
            gc += scale * err
            for j in range(width):
                gv[j] += scale * err * h[j]
                dz = scale * err * self.v[j] * (1 - h[j] * h[j])
                gb[j] += dz
                row = gW[j]
                for i in range(n_in):
                    row[i] += dz * x[i]
        for j in range(width):
            self.v[j] -= lr * gv[j]
            self.b[j] -= lr * gb[j]
            row, grow = self.W[j], gW[j]
            for i in range(n_in):
                row[i] -= lr * grow[i]
        self.c -= lr * gc
        return total / len(xs)


def emit(record):
    print(json.dumps(record), flush=True)


def main():
    args = parse_args(load_config())
    (train_x, train_y), (val_x, val_y) = make_teacher_data(args)
    rng = random.Random(args.seed)
    net = TinyNet(args.inputs, args.width, rng)
    batch = args.batch_size if 0 < args.batch_size < len(train_x) else len(train_x)
    order = list(range(len(train_x)))
    rng.shuffle(order)
    cursor = 0
    for step in range(1, args.steps + 1):
        if cursor + batch > len(order):
            rng.shuffle(order)
            cursor = 0
        idx = order[cursor:cursor + batch]
        cursor += batch
        loss = net.sgd_step([train_x[i] for i in idx], [train_y[i] for i in idx], args.lr)
        if not math.isfinite(loss):
            print(f"train_tiny.py: loss diverged at step {step}", file=sys.stderr)
            return 1
        if step % args.log_every == 0 or step == args.steps:
            emit({"step": step, "train/loss": round(loss, 6)})
    if val_x:
        emit({"step": args.steps, "val/loss": round(net.loss(val_x, val_y), 6)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
