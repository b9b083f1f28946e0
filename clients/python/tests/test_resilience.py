"""A server that throttles, goes away and comes back, or stays away: nothing lost, nothing stored twice."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from support import API_URL, Proxy, needs_server, unique
import scaleboard


def steps(api, run_id, key):
    return [p["step"] for p in api.points(run_id, key)]


def sync(folder, *extra):
    env = dict(os.environ, SCALEBOARD_SPOOL_DIR=folder)
    return subprocess.run(
        [sys.executable, "-m", "scaleboard", "sync", *extra], capture_output=True, text=True, env=env, timeout=120
    )


@needs_server
class ResilienceTest(unittest.TestCase):
    def setUp(self):
        self.api = scaleboard.Api()
        self.project = unique("py-resilience")
        self.spool_dir = tempfile.mkdtemp(prefix="scaleboard-spool-")
        self.proxy = Proxy().start()
        self.saved = {name: os.environ.get(name) for name in ("SCALEBOARD_RETRY_SECONDS", "SCALEBOARD_INIT_TIMEOUT")}

    def tearDown(self):
        self.proxy.stop()
        shutil.rmtree(self.spool_dir, ignore_errors=True)
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def start(self, experiment):
        return scaleboard.init(
            project=self.project,
            experiment=experiment,
            api_url=self.proxy.url,
            spool_dir=self.spool_dir,
            system_metrics=False,
        )

    def test_429_and_503_are_retried_after_the_time_the_server_asks_for(self):
        run = self.start("throttled")
        self.proxy.faults += [(429, {"Retry-After": "1"}), (503, {"Retry-After": "1"}), (503, {})]
        for step in range(100):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.finish()
        self.assertEqual(steps(self.api, run.id, "loss"), list(range(100)))
        self.assertEqual(self.proxy.faults, [], "the three injected errors were each answered to a request")
        self.assertEqual(self.api.run(run.id)["status"], "succeeded")
        self.assertEqual(glob.glob(os.path.join(self.spool_dir, "*")), [])

    def test_a_413_from_a_server_with_lower_limits_halves_the_batch_until_it_fits(self):
        run = self.start("smaller-limit")
        self.proxy.faults += [(413, {}), (413, {})]
        for step in range(100):
            run.log({"loss": float(step)}, step=step)
        run.finish()
        self.assertEqual(steps(self.api, run.id, "loss"), list(range(100)))
        sizes = [body.count(b'"key"') for _, body in self.proxy.posts("/points")]
        self.assertEqual(sum(sizes), 100, "every point stored once, in the smaller batches")
        self.assertLessEqual(max(sizes), 50)

    def test_a_server_that_goes_away_and_comes_back_gets_every_point_once(self):
        run = self.start("restart")
        for step in range(0, 500):
            run.log({"loss": float(step)}, step=step)
        run.flush()
        self.proxy.stop()  # connections refused from now on
        for step in range(500, 1_000):
            run.log({"loss": float(step)}, step=step)
        time.sleep(1.5)  # the sender meets the refused port and retries (wall time only lets it happen)
        self.proxy.start()
        for step in range(1_000, 1_500):
            run.log({"loss": float(step)}, step=step)
        run.finish()
        points = self.api.points(run.id, "loss")
        self.assertEqual([p["step"] for p in points], list(range(1_500)))
        self.assertEqual([p["value"] for p in points], [float(s) for s in range(1_500)])
        self.assertEqual(self.api.run(run.id)["status"], "succeeded")

    def test_a_server_away_for_good_leaves_a_spool_that_sync_uploads_once_however_often_it_runs(self):
        os.environ["SCALEBOARD_RETRY_SECONDS"] = "1"
        run = self.start("spooled")
        for step in range(200):
            run.log({"loss": float(step)}, step=step)
        run.flush()
        self.proxy.stop()
        for step in range(200, 3_000):
            run.log({"loss": float(step), "acc": step / 3_000}, step=step)
        run.summary(paramCount=1_000)
        run.finish()
        self.assertEqual(self.api.run(run.id)["status"], "running", "the finish is spooled too")
        spooled = glob.glob(os.path.join(self.spool_dir, "*.jsonl"))
        self.assertEqual(spooled, [run.spool_path])
        copy = run.spool_path + ".copy"
        shutil.copy(run.spool_path, copy)

        done = sync(self.spool_dir, "--api-url", API_URL)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("synced run %s" % run.id, done.stdout)
        self.assertEqual(glob.glob(os.path.join(self.spool_dir, "*.jsonl")), [])
        # A second upload of the same records (a sync cut short and run again) changes nothing.
        os.rename(copy, run.spool_path)
        again = sync(self.spool_dir, "--api-url", API_URL)
        self.assertEqual(again.returncode, 0, again.stdout + again.stderr)

        self.assertEqual(steps(self.api, run.id, "loss"), list(range(3_000)))
        self.assertEqual(steps(self.api, run.id, "acc"), list(range(200, 3_000)))
        read = self.api.run(run.id)
        self.assertEqual(read["status"], "succeeded")
        self.assertEqual(read["paramCount"], 1_000)
        self.assertEqual({k["key"]: k["points"] for k in read["metricKeys"]}, {"loss": 3_000, "acc": 2_800})

    def test_a_run_started_while_the_server_is_away_is_created_by_sync(self):
        os.environ["SCALEBOARD_RETRY_SECONDS"] = "1"
        os.environ["SCALEBOARD_INIT_TIMEOUT"] = "1"
        self.proxy.stop()
        run = self.start("offline")
        self.assertIsNone(run.id)
        for step in range(1_000):
            run.log({"loss": float(step)}, step=step)
        run.finish()
        done = sync(self.spool_dir, "--api-url", API_URL)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        created = [line.split()[3] for line in done.stdout.splitlines() if line.startswith("scaleboard: synced run")]
        self.assertEqual(len(created), 1)
        run_id = created[0]
        self.assertEqual(steps(self.api, run_id, "loss"), list(range(1_000)))
        self.assertEqual(self.api.run(run_id)["status"], "succeeded")
        runs = self.api.runs(project=self.project, experiment="offline")
        self.assertEqual([r["id"] for r in runs], [run_id], "exactly one run was created")

    def test_a_run_started_while_the_server_is_away_is_created_when_it_answers(self):
        os.environ["SCALEBOARD_INIT_TIMEOUT"] = "1"
        self.proxy.stop()
        run = self.start("late")
        self.assertIsNone(run.id)
        for step in range(100):
            run.log({"loss": float(step)}, step=step)
        self.proxy.start()
        for step in range(100, 200):
            run.log({"loss": float(step)}, step=step)
        run.finish()
        self.assertIsNotNone(run.id)
        self.assertEqual(steps(self.api, run.id, "loss"), list(range(200)))
        self.assertEqual(self.api.run(run.id)["status"], "succeeded")
        self.assertEqual(glob.glob(os.path.join(self.spool_dir, "*.jsonl")), [])

    def test_logging_returns_at_once_while_the_server_is_unreachable(self):
        os.environ["SCALEBOARD_RETRY_SECONDS"] = "1"
        run = self.start("never-blocks")
        self.proxy.stop()
        finished = threading.Event()

        def train():
            for step in range(20_000):
                run.log({"loss": 1.0}, step=step)
            finished.set()

        worker = threading.Thread(target=train)
        worker.start()
        worker.join(60)
        # Logging queued everything without a single answer from the server.
        self.assertTrue(finished.is_set())
        self.proxy.start()
        run.finish()
        self.assertEqual(len(steps(self.api, run.id, "loss")), 20_000)


if __name__ == "__main__":
    unittest.main()
