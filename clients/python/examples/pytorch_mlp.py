"""A plain PyTorch training loop logging to Scaleboard with three added lines (marked # scaleboard).

    SCALEBOARD_API_URL=http://localhost:3000 SCALEBOARD_API_KEY=sb_... python3 pytorch_mlp.py --width 64
"""

import argparse

import torch

import scaleboard  # scaleboard

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=64)
parser.add_argument("--steps", type=int, default=300)
parser.add_argument("--lr", type=float, default=1e-2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--project", default="PyTorch example")
args = parser.parse_args()

torch.manual_seed(args.seed)
# A teacher network to regress: the loss falls with the student's width, as a scaling law wants.
teacher = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
inputs = torch.randn(2048, 8)
with torch.no_grad():
    targets = teacher(inputs)
train_x, train_y, val_x, val_y = inputs[:1536], targets[:1536], inputs[1536:], targets[1536:]

model = torch.nn.Sequential(torch.nn.Linear(8, args.width), torch.nn.Tanh(), torch.nn.Linear(args.width, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
run = scaleboard.init(project=args.project, experiment="mlp-widths", config=vars(args), model=model)  # scaleboard

for step in range(args.steps):
    batch = torch.randint(0, len(train_x), (128,))
    loss = torch.nn.functional.mse_loss(model(train_x[batch]), train_y[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0 or step == args.steps - 1:
        with torch.no_grad():
            val_loss = torch.nn.functional.mse_loss(model(val_x), val_y)
        run.log({"train/loss": loss, "val/loss": val_loss}, step=step)  # scaleboard
print(run.id)
