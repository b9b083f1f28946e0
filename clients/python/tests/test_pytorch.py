"""A PyTorch training loop with three added lines (examples/pytorch_mlp.py), in compare and the scaling view."""

import os
import subprocess
import sys
import unittest

from support import needs_server, unique
import scaleboard

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(SOURCE_DIR, "examples", "pytorch_mlp.py")

try:
    import torch  # noqa: F401
except ImportError:
    torch = None


@needs_server
@unittest.skipIf(torch is None, "needs PyTorch (Debian's python3-torch: run with /usr/bin/python3)")
class PyTorchTest(unittest.TestCase):
    def test_three_widths_log_their_curves_and_parameter_counts_and_are_fitted(self):
        api = scaleboard.Api()
        project = unique("py-torch")
        ids = {}
        for width in (8, 32, 128):
            done = subprocess.run(
                [sys.executable, SCRIPT, "--width", str(width), "--steps", "200", "--project", project],
                capture_output=True,
                text=True,
                timeout=300,
                env=dict(os.environ, PYTHONPATH=SOURCE_DIR),
            )
            self.assertEqual(done.returncode, 0, done.stderr)
            ids[width] = done.stdout.split()[-1]
        for width, run_id in ids.items():
            read = api.run(run_id)
            self.assertEqual(read["status"], "succeeded")
            # Linear(8, w) + Linear(w, 1): 8w + w + w + 1 trainable parameters.
            self.assertEqual(read["paramCount"], 10 * width + 1)
            self.assertEqual(read["config"]["params"]["width"], width)
            steps = [p["step"] for p in api.points(run_id, "val/loss")]
            self.assertEqual(steps, list(range(0, 200, 10)) + [199])
            self.assertTrue(all(0 <= p["value"] < 10 for p in api.points(run_id, "train/loss")))
        experiment_id = api.run(ids[8])["experiment"]["id"]
        scaling = api.scaling(experiment_id, metric="val/loss")
        self.assertEqual(scaling["runs"]["used"], 3, scaling["runs"])
        self.assertEqual(scaling["runs"]["excluded"], [])


if __name__ == "__main__":
    unittest.main()
