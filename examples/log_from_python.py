"""Log a training run to Scaleboard from Python with only the standard library.

    SCALEBOARD_API_URL=http://localhost:3000/api/v1 SCALEBOARD_API_KEY=sb_... python3 log_from_python.py
"""
import json
import math
import os
import urllib.request

API = os.environ.get("SCALEBOARD_API_URL", "http://localhost:3000/api/v1").rstrip("/")
KEY = os.environ["SCALEBOARD_API_KEY"]


def call(path, body):
    request = urllib.request.Request(
        API + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + KEY, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


run = call("/runs", {"project": "Scaling laws", "experiment": "pytorch-widths",
                     "name": "width=256 seed=0", "config": {"width": 256, "lr": 3e-4, "seed": 0}})
run_id = run["runId"]

points = []
for step in range(0, 1000, 10):
    loss = 2.0 * math.exp(-step / 300) + 0.1  # your model's loss here
    points.append({"key": "train/loss", "step": step, "value": loss})
    points.append({"key": "flops", "step": step, "value": 6 * 250_000 * 64 * (step + 1)})
call("/runs/%s/points" % run_id, {"points": points})
call("/runs/%s/summary" % run_id, {"paramCount": 250_000, "summary": {"val/loss": 0.12}})
call("/runs/%s/finish" % run_id, {"status": "succeeded"})
print("logged run", run_id)
