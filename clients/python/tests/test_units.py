"""Parts that need no server: value encoding, request splitting, spool files, nvidia-smi output, config."""

import json
import math
import os
import tempfile
import unittest

import support  # noqa: F401 - makes the package importable from the source tree
import scaleboard
from scaleboard import _batch, _spool, _system
from scaleboard._values import from_wire, jsonable, metric_value


class ValuesTest(unittest.TestCase):
    def test_non_finite_values_travel_as_the_strings_the_server_accepts(self):
        self.assertEqual(metric_value(math.nan), "NaN")
        self.assertEqual(metric_value(math.inf), "Infinity")
        self.assertEqual(metric_value(-math.inf), "-Infinity")
        self.assertEqual([from_wire(v) for v in ("Infinity", "-Infinity")], [math.inf, -math.inf])
        self.assertTrue(math.isnan(from_wire("NaN")))
        self.assertEqual(metric_value(True), 1)
        self.assertEqual(metric_value(0.25), 0.25)
        self.assertIsNone(metric_value("0.25"))
        self.assertIsNone(metric_value(scaleboard.Image("x.png")))

    def test_config_values_become_json(self):
        import argparse

        namespace = argparse.Namespace(lr=1e-3, layers=(64, 64), bad=math.nan)
        self.assertEqual(jsonable({"args": namespace}), {"args": {"lr": 1e-3, "layers": [64, 64], "bad": "NaN"}})
        self.assertEqual(json.loads(json.dumps(jsonable({"x": object()})))["x"][:8], "<object ")


class HttpTest(unittest.TestCase):
    def test_the_api_url_may_be_given_with_or_without_api_v1(self):
        from scaleboard._http import normalize_api_url

        for given in ("http://h:3000", "http://h:3000/", "http://h:3000/api/v1", "http://h:3000/api/v1/"):
            self.assertEqual(normalize_api_url(given), "http://h:3000/api/v1")

    def test_retry_after_is_read_as_seconds_or_an_http_date(self):
        import email.utils
        import time

        from scaleboard._http import _retry_after_seconds

        self.assertEqual(_retry_after_seconds("3"), 3.0)
        later = _retry_after_seconds(email.utils.formatdate(time.time() + 120, usegmt=True))
        self.assertTrue(100 < later <= 120)
        self.assertIsNone(_retry_after_seconds("soon"))


class SplittingTest(unittest.TestCase):
    def test_requests_stay_within_the_servers_point_and_byte_limits(self):
        short = [_batch.encode_point({"key": "k", "step": s, "value": 0.5}) for s in range(25_000)]
        self.assertEqual([len(batch) for _, batch in _batch.bodies(short)], [10_000, 10_000, 5_000])
        long_keys = [_batch.encode_point({"key": "k" * 200, "step": s, "value": 0.5}) for s in range(25_000)]
        split = list(_batch.bodies(long_keys))
        self.assertGreater(len(split), 3)
        self.assertTrue(all(len(body) <= _batch.MAX_BODY_BYTES for body, _ in split))
        self.assertEqual(sum(len(batch) for _, batch in split), 25_000)
        # Each body is the JSON the server expects, in order, nothing lost.
        steps = [p["step"] for body, _ in split for p in json.loads(body)["points"]]
        self.assertEqual(steps, list(range(25_000)))


class SpoolFileTest(unittest.TestCase):
    def test_a_line_cut_short_by_a_crash_is_ignored_and_the_rest_is_read(self):
        with tempfile.TemporaryDirectory() as folder:
            spool = _spool.Spool("http://127.0.0.1:9/api/v1", run_id="r1", directory=folder)
            spool.append_points([_batch.encode_point({"key": "k", "step": 1, "value": 1.0})])
            spool.append_record("finish", {"status": "succeeded"})
            spool.close()
            with open(spool.path, "a", encoding="utf-8") as target:
                target.write('{"type":"points","poi')
            records = _spool._read_records(spool.path)
            self.assertEqual([r["type"] for r in records], ["run", "points", "finish"])

    def test_sync_leaves_a_file_held_by_a_live_run_alone(self):
        with tempfile.TemporaryDirectory() as folder:
            spool = _spool.Spool("http://127.0.0.1:9/api/v1", run_id="r2", directory=folder)
            spool.append_record("summary", {"summary": {"a": 1}})
            out = open(os.devnull, "w")
            try:
                uploaded, left = _spool.sync_directory(lambda url: None, folder, out=out)
            finally:
                out.close()
            self.assertEqual((uploaded, left), (0, 1))
            self.assertTrue(os.path.exists(spool.path))
            spool.close()


class NvidiaSmiTest(unittest.TestCase):
    def test_gpu_utilisation_and_memory_become_system_keys(self):
        # nvidia-smi's csv,noheader,nounits output for two GPUs (no GPU here; this is its documented format).
        text = "0, 87, 30512, 81559, 64, 312.45\n1, [N/A], 0, 81559, 31, [N/A]\n"
        metrics = _system.parse_nvidia_smi(text)
        self.assertEqual(metrics["system/gpu.0.utilization"], 87.0)
        self.assertEqual(metrics["system/gpu.0.memory_used_mb"], 30512.0)
        self.assertAlmostEqual(metrics["system/gpu.0.memory_percent"], 100 * 30512 / 81559)
        self.assertNotIn("system/gpu.1.utilization", metrics)
        self.assertEqual(metrics["system/gpu.1.memory_used_mb"], 0.0)

    def test_cpu_and_memory_come_from_proc(self):
        seen = []
        sampler = _system.SystemMetrics(lambda metrics, step: seen.append((metrics, step)), interval=60)
        sum(i * i for i in range(200_000))
        sampler.sample()
        metrics, step = seen[0]
        if os.path.exists("/proc/meminfo"):
            self.assertTrue(0 < metrics["system/memory_percent"] <= 100)
            self.assertGreater(metrics["system/process_memory_mb"], 0)
        self.assertEqual(step, 0)


class WandbSurfaceTest(unittest.TestCase):
    def test_module_level_names_a_wandb_script_touches_exist(self):
        for name in ("init", "log", "finish", "login", "watch", "save", "define_metric", "Settings", "Image", "Table"):
            self.assertTrue(hasattr(scaleboard, name), name)
        self.assertIsNone(scaleboard.run)
        self.assertEqual(dict(scaleboard.config), {})
        with self.assertRaises(scaleboard.Error):
            scaleboard.log({"loss": 1.0})

    def test_mode_disabled_sends_nothing_and_keeps_the_calls_working(self):
        run = scaleboard.init(project="p", config={"lr": 0.1}, mode="disabled", api_url="http://127.0.0.1:9")
        scaleboard.log({"loss": 1.0})
        run.summary["best"] = 1.0
        self.assertEqual((scaleboard.run, scaleboard.config.lr, run.summary["best"]), (run, 0.1, 1.0))
        scaleboard.finish()
        self.assertIsNone(scaleboard.run)

    def test_config_reads_as_attributes_and_items(self):
        config = scaleboard.Config({"lr": 0.1, "model": {"width": 64}})
        self.assertEqual((config.lr, config["lr"], config.model.width), (0.1, 0.1, 64))
        config.update({"batch": 32})
        self.assertEqual(config.batch, 32)
        with self.assertRaises(AttributeError):
            config.missing


if __name__ == "__main__":
    unittest.main()
