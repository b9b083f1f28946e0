"""A plain PyTorch training loop logging to Scaleboard with three added lines (marked # scaleboard).

    pip install ./clients/python        # or: pip install http://HOST:3000/api/v1/sdk/python
    SCALEBOARD_API_URL=http://localhost:3000 SCALEBOARD_API_KEY=sb_... python3 pytorch_scaleboard.py --width 16

`model=model` records the model's parameter count as the run's paramCount, the scaling view's N.
"""

import argparse

import torch

import scaleboard  # scaleboard

parser = argparse.ArgumentParser()
parser.add_argument("--width", type=int, default=16)
parser.add_argument("--steps", type=int, default=200)
parser.add_argument("--lr", type=float, default=1e-2)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--project", default="Side by side")
parser.add_argument("--experiment", default="widths")
args = parser.parse_args()

torch.manual_seed(args.seed)
# Regress a smooth 1-D target: a wider network fits it better, so the final loss falls with size.
inputs = torch.linspace(-3, 3, 512).unsqueeze(1)
targets = torch.sin(2 * inputs) + 0.3 * inputs
train_x, train_y, val_x, val_y = inputs[::2], targets[::2], inputs[1::2], targets[1::2]

model = torch.nn.Sequential(torch.nn.Linear(1, args.width), torch.nn.Tanh(), torch.nn.Linear(args.width, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
run = scaleboard.init(project=args.project, experiment=args.experiment, config=vars(args), name=f"pytorch-width-{args.width}", model=model)  # scaleboard

for step in range(args.steps):
    loss = torch.nn.functional.mse_loss(model(train_x), train_y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 10 == 0 or step == args.steps - 1:
        with torch.no_grad():
            val_loss = torch.nn.functional.mse_loss(model(val_x), val_y)
        run.log({"train_loss": loss.item(), "val_loss": val_loss.item()}, step=step)  # scaleboard
print(run.id)
