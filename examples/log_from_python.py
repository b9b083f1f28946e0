"""Log a training run to Scaleboard from Python with the `scaleboard` package (standard library only).

    pip install http://localhost:3000/api/v1/sdk/python     # or: pip install ./clients/python
    SCALEBOARD_API_URL=http://localhost:3000 SCALEBOARD_API_KEY=sb_... python3 log_from_python.py
"""
import math
import os
import sys

try:
    import scaleboard
except ImportError:  # not installed: use the copy in this checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))
    import scaleboard

with scaleboard.init(project="Scaling laws", experiment="pytorch-widths", name="width=256 seed=0",
                     config={"width": 256, "lr": 3e-4, "seed": 0}) as run:
    for step in range(0, 1000, 10):
        loss = 2.0 * math.exp(-step / 300) + 0.1  # your model's loss here
        run.log({"train/loss": loss, "flops": 6 * 250_000 * 64 * (step + 1)}, step=step)
    run.summary(paramCount=250_000, **{"val/loss": 0.12})
print("logged run", run.id)
