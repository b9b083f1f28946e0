"""A stand-in for the `mlflow` package's fluent API, for running MLflow-instrumented scripts here.

mlflow itself cannot be installed on these machines (only npm and Debian's packages are reachable),
so this module sends the requests mlflow's client sends for the calls below, as replayed and checked
by ../mlflow_sequences.py (rest_store.py's request sequence, each answer checked against
service.proto's shapes). Like mlflow, it reads MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN.
Covered: set_experiment, start_run (a context manager), active_run, log_param(s), log_metric(s),
set_tag(s), end_run.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import mlflow_sequences as _replay  # noqa: E402

_client = None
_experiment_id = "0"
_active = []


def _tracking():
    global _client
    if _client is None:
        url = os.environ.get("MLFLOW_TRACKING_URI")
        if not url or not url.startswith("http"):
            raise RuntimeError("set MLFLOW_TRACKING_URI to the Scaleboard server (http://HOST:PORT)")
        _client = _replay.Client(url, os.environ.get("MLFLOW_TRACKING_TOKEN"))
    return _client


class _Info:
    def __init__(self, info):
        self.run_id = info["run_id"]
        self.run_name = info.get("run_name")
        self.experiment_id = info["experiment_id"]
        self.status = info["status"]


class ActiveRun:
    def __init__(self, info):
        self.info = _Info(info)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        end_run("FINISHED" if kind is None else "FAILED")
        return False


def set_experiment(experiment_name):
    """get-by-name, else create; like mlflow, a create that lost a race to another process reads the winner's."""
    global _experiment_id
    client = _tracking()
    status, answer, _ = client.call("GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": experiment_name})
    if status == 200:
        experiment = answer["experiment"]
    else:
        _replay.check_error(answer, "RESOURCE_DOES_NOT_EXIST")
        status, answer, _ = client.call("POST", "/api/2.0/mlflow/experiments/create", body={"name": experiment_name})
        if status != 200:
            _replay.check_error(answer, "RESOURCE_ALREADY_EXISTS")
        experiment = client.api("GET", "experiments/get-by-name", query={"experiment_name": experiment_name})["experiment"]
    _replay.check_experiment(experiment)
    _experiment_id = experiment["experiment_id"]
    return experiment


def start_run(run_name=None, tags=None, **_ignored):
    info = _replay.start_run(_tracking(), _experiment_id, run_name or "run", tags=tags)
    _active.append(ActiveRun(info))
    return _active[-1]


def active_run():
    return _active[-1] if _active else None


def _run_id():
    if not _active:
        start_run()
    return _active[-1].info.run_id


def log_params(params):
    _replay.log_batch(_tracking(), _run_id(), params=[{"key": k, "value": str(v)} for k, v in params.items()])


def log_param(key, value):
    run_id = _run_id()
    _tracking().api("POST", "runs/log-parameter", {"run_id": run_id, "run_uuid": run_id, "key": key, "value": str(value)})
    return value


def set_tags(tags):
    _replay.log_batch(_tracking(), _run_id(), tags=[{"key": k, "value": str(v)} for k, v in tags.items()])


def set_tag(key, value):
    run_id = _run_id()
    _tracking().api("POST", "runs/set-tag", {"run_id": run_id, "run_uuid": run_id, "key": key, "value": str(value)})


def _now_ms():
    return int(time.time() * 1000)


def log_metrics(metrics, step=None):
    timestamp = _now_ms()
    _replay.log_batch(_tracking(), _run_id(), metrics=[
        {"key": k, "value": float(v), "timestamp": timestamp, "step": step or 0} for k, v in metrics.items()
    ])


def log_metric(key, value, step=None):
    run_id = _run_id()
    _tracking().api("POST", "runs/log-metric", {
        "run_id": run_id, "run_uuid": run_id, "key": key, "value": float(value), "timestamp": _now_ms(), "step": step or 0,
    })


def end_run(status="FINISHED"):
    if _active:
        _replay.end_run(_tracking(), _active.pop().info.run_id, status)
