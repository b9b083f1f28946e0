"""Logging against a running server, read back with scaleboard.Api()."""

import math
import os
import subprocess
import sys
import textwrap
import time
import unittest

from support import API_KEY, API_URL, Proxy, needs_server, unique
import scaleboard


def values(api, run_id, key):
    return [(p["step"], p["value"]) for p in api.points(run_id, key)]


@needs_server
class LoggingTest(unittest.TestCase):
    def setUp(self):
        self.api = scaleboard.Api()
        self.project = unique("py-logging")

    def test_every_point_arrives_once_with_the_summary_tags_and_status(self):
        run = scaleboard.init(
            project=self.project, experiment="basics", config={"lr": 3e-4, "width": 256}, name="w256", tags=["py"]
        )
        for step in range(2_500):
            run.log({"train/loss": 2.0 * math.exp(-step / 500), "lr": 3e-4}, step=step)
        run.summary(paramCount=250_000, tokens=1.2e9)
        run.summary["best/val_loss"] = 0.5
        run.finish()

        logged = values(self.api, run.id, "train/loss")
        self.assertEqual(logged, [(s, 2.0 * math.exp(-s / 500)) for s in range(2_500)])
        read = self.api.run(run.id)
        self.assertEqual(read["status"], "succeeded")
        self.assertEqual(read["name"], "w256")
        self.assertEqual(read["tags"], ["py"])
        self.assertEqual(read["paramCount"], 250_000)
        self.assertEqual(read["tokens"], 1.2e9, "D for the compute-optimal analysis")
        self.assertEqual(read["summary"]["best/val_loss"], 0.5)
        self.assertEqual(read["config"]["params"], {"lr": 3e-4, "width": 256})
        self.assertIn(run.id, [r["id"] for r in self.api.runs(project=self.project)])

    def test_nan_and_infinities_are_kept(self):
        with scaleboard.init(project=self.project, experiment="non-finite", system_metrics=False) as run:
            run.log({"val/loss": math.nan}, step=0)
            run.log({"val/loss": math.inf}, step=1)
            run.log({"val/loss": -math.inf}, step=2)
            run.log({"val/loss": 0.5}, step=3)
        val = values(self.api, run.id, "val/loss")
        self.assertEqual([s for s, _ in val], [0, 1, 2, 3])
        self.assertTrue(math.isnan(val[0][1]))
        self.assertEqual([v for _, v in val[1:]], [math.inf, -math.inf, 0.5])

    def test_points_are_batched_within_the_servers_limits(self):
        proxy = Proxy().start()
        try:
            run = scaleboard.init(project=self.project, experiment="batching", api_url=proxy.url, system_metrics=False)
            # 25,000 points logged in a tight loop: a handful of requests, none over 10,000 points or 1 MB.
            for step in range(5_000):
                run.log({"a": step, "b": step, "c": step, "d": step, "e": step}, step=step)
            run.finish()
        finally:
            proxy.stop()
        posts = proxy.posts("/points")
        sizes = [body.count(b'"key"') for _, body in posts]
        self.assertEqual(sum(sizes), 25_000)
        self.assertLessEqual(max(sizes), 10_000)
        self.assertLessEqual(max(len(body) for _, body in posts), 1_000_000)
        self.assertLess(len(posts), 25_000 / 500, "points went one request each, not in batches: %d requests" % len(posts))
        self.assertEqual(len(values(self.api, run.id, "e")), 5_000)

    def test_log_without_step_counts_up_and_nested_dicts_become_slash_keys(self):
        with scaleboard.init(project=self.project, experiment="steps", system_metrics=False) as run:
            run.log({"loss": 1.0})
            run.log({"loss": 0.5, "val": {"acc": 0.9}})
            run.log({"extra": 1.0}, commit=False)
            run.log({"loss": 0.25})
        self.assertEqual(values(self.api, run.id, "loss"), [(0, 1.0), (1, 0.5), (2, 0.25)])
        self.assertEqual(values(self.api, run.id, "val/acc"), [(1, 0.9)])
        self.assertEqual(values(self.api, run.id, "extra"), [(2, 1.0)])

    def test_an_exception_inside_with_marks_the_run_failed_with_the_traceback(self):
        with self.assertRaises(ZeroDivisionError):
            with scaleboard.init(project=self.project, experiment="failing", system_metrics=False) as run:
                run.log({"loss": 1.0}, step=0)
                1 / 0
        read = self.api.run(run.id)
        self.assertEqual(read["status"], "failed")
        self.assertIn("Traceback", read["error"])
        self.assertIn("ZeroDivisionError: division by zero", read["error"])
        self.assertEqual(values(self.api, run.id, "loss"), [(0, 1.0)])

    def test_a_script_that_dies_of_an_exception_or_just_ends_is_finished_at_exit(self):
        script = textwrap.dedent(
            """
            import scaleboard, sys
            run = scaleboard.init(project=%r, experiment="exit", system_metrics=False)
            print(run.id, flush=True)
            for step in range(300):
                run.log({"loss": 1.0 / (step + 1)}, step=step)
            if sys.argv[1] == "raise":
                raise RuntimeError("diverged on purpose")
            """
            % self.project
        )
        for mode, status in (("end", "succeeded"), ("raise", "failed")):
            done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120)
            run_id = done.stdout.split()[0]
            read = self.api.run(run_id)
            self.assertEqual(read["status"], status, done.stderr)
            self.assertEqual(len(values(self.api, run_id, "loss")), 300)
            if mode == "raise":
                self.assertIn("RuntimeError: diverged on purpose", read["error"])

    def test_system_metrics_are_logged_as_system_keys(self):
        os.environ["SCALEBOARD_SYSTEM_METRICS_INTERVAL"] = "0.2"
        try:
            run = scaleboard.init(project=self.project, experiment="system")
        finally:
            del os.environ["SCALEBOARD_SYSTEM_METRICS_INTERVAL"]
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            sum(i * i for i in range(10_000))
        run.finish()
        keys = [entry["key"] for entry in self.api.run(run.id)["metricKeys"]]
        self.assertIn("system/memory_percent", keys)
        self.assertIn("system/cpu_percent", keys)
        memory = values(self.api, run.id, "system/memory_percent")
        self.assertTrue(all(0 < v <= 100 for _, v in memory))


if __name__ == "__main__":
    unittest.main()
