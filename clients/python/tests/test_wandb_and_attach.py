"""`import scaleboard as wandb` in a typical W&B script, and a script inside a command run."""

import json
import os
import subprocess
import sys
import textwrap
import unittest

from support import API_KEY, API_URL, needs_server, unique
import scaleboard

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A W&B training script as people write them; the only change is its first line.
WANDB_SCRIPT = '''
import scaleboard as wandb
import argparse, math, random

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--project", default="demo")
args = parser.parse_args()

wandb.login()
run = wandb.init(project=args.project, group="wandb-style", name="lr-0.01", config=args, tags=["baseline"],
                 entity="my-team", job_type="train", reinit=True, settings=wandb.Settings(start_method="thread"))
config = wandb.config
wandb.watch(None, log="all")
wandb.define_metric("val/loss", summary="min")
best = math.inf
step = 0
for epoch in range(config.epochs):
    for batch in range(20):
        loss = math.exp(-config.lr * step) + random.random() * 0.01
        wandb.log({"train/loss": loss, "epoch": epoch})
        step += 1
    val = math.exp(-config.lr * step)
    best = min(best, val)
    wandb.log({"val/loss": val, "examples": wandb.Image("sample.png")}, commit=False)
    wandb.run.summary["best_val_loss"] = best
wandb.summary["final_step"] = step
print(wandb.run.id)
wandb.finish()
'''


def run_python(code, env, *args):
    environment = dict(os.environ, PYTHONPATH=SOURCE_DIR, **env)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=environment, timeout=120)


@needs_server
class WandbScriptTest(unittest.TestCase):
    def test_a_wandb_script_logs_with_only_its_import_changed(self):
        api = scaleboard.Api()
        project = unique("py-wandb")
        done = run_python(WANDB_SCRIPT, {}, "--project", project, "--epochs", "3")
        self.assertEqual(done.returncode, 0, done.stderr)
        run_id = done.stdout.split()[-1]
        read = api.run(run_id)
        self.assertEqual(read["status"], "succeeded")
        self.assertEqual(read["experiment"]["name"], "wandb-style")
        self.assertEqual(read["project"]["name"], project)
        self.assertEqual(read["name"], "lr-0.01")
        self.assertEqual(read["tags"], ["baseline"])
        self.assertEqual(read["config"]["params"], {"lr": 0.01, "epochs": 3, "project": project})
        self.assertEqual(read["summary"]["final_step"], 60)
        train = api.points(run_id, "train/loss")
        self.assertEqual([p["step"] for p in train], list(range(60)))
        # commit=False puts val/loss at the step of the next log call, as wandb does.
        self.assertEqual([p["step"] for p in api.points(run_id, "val/loss")], [20, 40, 60])
        self.assertAlmostEqual(read["summary"]["best_val_loss"], api.points(run_id, "val/loss")[-1]["value"])
        self.assertIn("'examples' is a Image, not a number: not logged", done.stderr)


ATTACHED_SCRIPT = '''
import scaleboard
run = scaleboard.init(project="ignored", experiment="ignored", config={"width": 8, "lr": 0.1})
assert run.attached
print(run.id, run.config.width, run.config.lr)
for step in range(50):
    run.log({"loss": 1.0 / (step + 1)}, step=step)
run.summary(paramCount=1234)
'''


@needs_server
class CommandRunTest(unittest.TestCase):
    """The worker runs a command with SCALEBOARD_RUN_ID, SCALEBOARD_CONFIG, SCALEBOARD_API_URL and a key
    bound to that run (test/integration/python-client.test.ts makes one as the worker does)."""

    @unittest.skipUnless(os.environ.get("SCALEBOARD_TEST_COMMAND_RUN_ID"), "needs a command run made by the test")
    def test_init_inside_a_command_run_attaches_to_it_and_leaves_its_end_to_the_worker(self):
        run_id = os.environ["SCALEBOARD_TEST_COMMAND_RUN_ID"]
        run_key = os.environ["SCALEBOARD_TEST_COMMAND_RUN_KEY"]
        env = {
            "SCALEBOARD_RUN_ID": run_id,
            "SCALEBOARD_CONFIG": json.dumps({"params": {"width": 64}, "runner": {"kind": "command", "argv": ["x"]}}),
            "SCALEBOARD_API_URL": API_URL,
            "SCALEBOARD_API_KEY": run_key,
        }
        done = run_python(ATTACHED_SCRIPT, env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split(), [run_id, "64", "0.1"])
        api = scaleboard.Api()
        self.assertEqual([p["step"] for p in api.points(run_id, "loss")], list(range(50)))
        read = api.run(run_id)
        self.assertEqual(read["paramCount"], 1234)
        self.assertEqual(read["status"], "running", "the worker, not the script, ends a command run")


if __name__ == "__main__":
    unittest.main()
