"""Replays the requests the `mlflow` Python client sends (MLflow 2.x/3.x, rest_store.py and
http_artifact_repo.py; and the UI's metrics/get-history-bulk-interval) against a Scaleboard server, and checks every answer against the shapes of
mlflow/protos/service.proto. Standard library only: mlflow itself is not installed here.

    python3 test/python/mlflow_sequences.py --url http://127.0.0.1:3000 --token <API key> [--other-token <key>]

The last line printed is JSON: {"experimentId": ..., "runIds": [...]} (the runs it created).
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

RUN_STATUSES = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
RUN_INFO_FIELDS = {
    "run_id": str, "run_uuid": str, "run_name": str, "experiment_id": str, "user_id": str, "status": str,
    "start_time": int, "end_time": int, "artifact_uri": str, "lifecycle_stage": str,
}
EXPERIMENT_FIELDS = {
    "experiment_id": str, "name": str, "artifact_location": str, "lifecycle_stage": str,
    "last_update_time": int, "creation_time": int, "tags": list,
}


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


class Client:
    def __init__(self, url, token):
        self.url = url.rstrip("/")
        self.token = token
        self.requests = []

    def call(self, method, path, body=None, query=None, data=None, headers=None, token=True):
        """One request as mlflow's http_request sends it; (status, parsed JSON or raw bytes, headers)."""
        url = f"{self.url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        send_headers = {"User-Agent": "mlflow-python-client/2.x (Scaleboard replay)"}
        if token and self.token:
            send_headers["Authorization"] = f"Bearer {self.token}"
        payload = data
        if body is not None:
            # requests' json= is json.dumps: bare NaN / Infinity stay bare.
            payload = json.dumps(body).encode()
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})
        request = urllib.request.Request(url, data=payload, method=method, headers=send_headers)
        self.requests.append(f"{method} {path}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, self._decode(response.read(), response.headers), response.headers
        except urllib.error.HTTPError as error:
            return error.code, self._decode(error.read(), error.headers), error.headers

    @staticmethod
    def _decode(raw, headers):
        if "application/json" in (headers.get("Content-Type") or ""):
            return json.loads(raw or b"{}")
        return raw

    def api(self, method, endpoint, body=None, query=None):
        status, answer, _ = self.call(method, f"/api/2.0/mlflow/{endpoint}", body=body, query=query)
        expect(status == 200, f"{method} {endpoint}: HTTP {status}: {answer}")
        expect(isinstance(answer, dict), f"{method} {endpoint}: not a JSON object: {answer!r}")
        return answer

    def error(self, method, endpoint, status, code, body=None, query=None, token=True):
        got, answer, _ = self.call(method, f"/api/2.0/mlflow/{endpoint}", body=body, query=query, token=token)
        expect(got == status, f"{method} {endpoint}: expected HTTP {status}, got {got}: {answer}")
        check_error(answer, code)
        return answer


def check_error(answer, code):
    expect(isinstance(answer, dict) and set(answer) == {"error_code", "message"}, f"error shape: {answer}")
    expect(answer["error_code"] == code, f"expected error_code {code}, got {answer}")
    expect(isinstance(answer["message"], str) and answer["message"], f"empty error message: {answer}")


def check_fields(what, value, fields, required):
    expect(isinstance(value, dict), f"{what}: not an object: {value!r}")
    unknown = set(value) - set(fields)
    expect(not unknown, f"{what}: fields not in service.proto: {sorted(unknown)}")
    for name in required:
        expect(name in value, f"{what}: missing {name}: {value}")
    for name, kind in fields.items():
        if name in value:
            ok = isinstance(value[name], kind) and not (kind is int and isinstance(value[name], bool))
            expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            expect(ok, f"{what}.{name}: expected {expected}, got {value[name]!r}")


def check_key_values(what, items):
    expect(isinstance(items, list), f"{what}: not a list")
    for item in items:
        check_fields(what, item, {"key": str, "value": str}, ["key"])


def check_experiment(experiment):
    check_fields("Experiment", experiment, EXPERIMENT_FIELDS, ["experiment_id", "name", "lifecycle_stage"])
    check_key_values("ExperimentTag", experiment.get("tags", []))
    expect(experiment["lifecycle_stage"] in ("active", "deleted"), f"lifecycle_stage: {experiment}")


def check_metric(metric):
    check_fields("Metric", metric, {"key": str, "value": (int, float, str), "timestamp": int, "step": int}, ["key", "value"])
    if isinstance(metric["value"], str):
        expect(metric["value"] in ("NaN", "Infinity", "-Infinity"), f"Metric.value: {metric}")


def check_run_info(info):
    check_fields("RunInfo", info, RUN_INFO_FIELDS, ["run_id", "experiment_id", "status", "start_time", "artifact_uri"])
    expect(info["status"] in RUN_STATUSES, f"RunInfo.status: {info['status']}")
    expect(info.get("run_uuid", info["run_id"]) == info["run_id"], "run_uuid differs from run_id")


DATASET_FIELDS = {"name": str, "digest": str, "source_type": str, "source": str, "schema": str, "profile": str}


def check_run_inputs(inputs):
    check_fields("RunInputs", inputs, {"dataset_inputs": list, "model_inputs": list}, [])
    for item in inputs.get("dataset_inputs", []):
        check_fields("DatasetInput", item, {"tags": list, "dataset": dict}, ["dataset"])
        check_key_values("InputTag", item.get("tags", []))
        check_fields("Dataset", item["dataset"], DATASET_FIELDS, ["name", "digest", "source_type", "source"])


def check_run(run):
    check_fields("Run", run, {"info": dict, "data": dict, "inputs": dict}, ["info", "data"])
    check_run_info(run["info"])
    check_run_inputs(run.get("inputs", {}))
    check_fields("RunData", run["data"], {"metrics": list, "params": list, "tags": list}, [])
    for metric in run["data"].get("metrics", []):
        check_metric(metric)
    check_key_values("Param", run["data"].get("params", []))
    check_key_values("RunTag", run["data"].get("tags", []))


def now_ms():
    return int(time.time() * 1000)


def as_dict(items):
    return {item["key"]: item.get("value", "") for item in items}


def set_experiment(client, name):
    """mlflow.set_experiment(name): get-by-name; when missing, create and get."""
    status, answer, _ = client.call("GET", "/api/2.0/mlflow/experiments/get-by-name", query={"experiment_name": name})
    if status == 404:
        check_error(answer, "RESOURCE_DOES_NOT_EXIST")
        created = client.api("POST", "experiments/create", {"name": name})
        expect(set(created) == {"experiment_id"}, f"CreateExperiment.Response: {created}")
        experiment = client.api("GET", "experiments/get", query={"experiment_id": created["experiment_id"]})["experiment"]
    else:
        expect(status == 200, f"get-by-name: HTTP {status}: {answer}")
        experiment = answer["experiment"]
    check_experiment(experiment)
    expect(experiment["name"] == name, f"experiment name {experiment['name']!r} != {name!r}")
    return experiment


def start_run(client, experiment_id, run_name, tags=None):
    """mlflow.start_run(run_name=..., tags=...): one runs/create with the context tags."""
    resolved = {
        "mlflow.runName": run_name,
        "mlflow.user": "replay",
        "mlflow.source.name": "mlflow_sequences.py",
        "mlflow.source.type": "LOCAL",
        **(tags or {}),
    }
    body = {
        "experiment_id": experiment_id,
        "user_id": "replay",
        "start_time": now_ms(),
        "tags": [{"key": key, "value": value} for key, value in resolved.items()],
        "run_name": run_name,
    }
    answer = client.api("POST", "runs/create", body)
    expect(set(answer) == {"run"}, f"CreateRun.Response: {answer}")
    run = answer["run"]
    check_run(run)
    expect(run["info"]["status"] == "RUNNING", f"new run status {run['info']['status']}")
    expect(run["info"]["run_name"] == run_name, f"run_name {run['info']['run_name']}")
    expect(as_dict(run["data"]["tags"]).get("mlflow.source.type") == "LOCAL", "context tags not kept")
    return run["info"]


def log_batch(client, run_id, metrics=(), params=(), tags=()):
    """MlflowClient.log_batch: message_to_json leaves out empty lists; chunks of 1,000 metrics, 100 params/tags."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    while metrics or params or tags:
        body = {"run_id": run_id}
        chunk_params, params = params[:100], params[100:]
        chunk_tags, tags = tags[:100], tags[100:]
        room = 1000 - len(chunk_params) - len(chunk_tags)
        chunk_metrics, metrics = metrics[:room], metrics[room:]
        if chunk_metrics:
            body["metrics"] = chunk_metrics
        if chunk_params:
            body["params"] = chunk_params
        if chunk_tags:
            body["tags"] = chunk_tags
        answer = client.api("POST", "runs/log-batch", body)
        expect(answer == {}, f"LogBatch.Response: {answer}")


def log_artifact(client, run_id, local_file, artifact_path=None):
    """MlflowClient.log_artifact: runs/get for the artifact_uri, then PUT through the proxy."""
    run = client.api("GET", "runs/get", query={"run_uuid": run_id, "run_id": run_id})["run"]
    check_run(run)
    uri = run["info"]["artifact_uri"]
    expect(uri.startswith("mlflow-artifacts:/"), f"artifact_uri {uri}")
    root = uri[len("mlflow-artifacts:") :].lstrip("/")
    name = os.path.basename(local_file)
    target = "/".join(part for part in (root, artifact_path, name) if part)
    with open(local_file, "rb") as handle:
        data = handle.read()
    status, answer, _ = client.call(
        "PUT", f"/api/2.0/mlflow-artifacts/artifacts/{urllib.parse.quote(target)}", data=data,
        headers={"Content-Type": "text/plain"},
    )
    expect(status == 200, f"artifact upload: HTTP {status}: {answer}")
    return root


def end_run(client, run_id, status="FINISHED"):
    """mlflow.end_run(): set_terminated -> runs/update with the status and end_time."""
    answer = client.api(
        "POST", "runs/update", {"run_uuid": run_id, "run_id": run_id, "status": status, "end_time": now_ms()}
    )
    expect(set(answer) == {"run_info"}, f"UpdateRun.Response: {answer}")
    check_run_info(answer["run_info"])
    expect(answer["run_info"]["status"] == status, f"status after end_run: {answer['run_info']['status']}")
    expect("end_time" in answer["run_info"], "end_time missing after end_run")


def replay(client, other):
    suffix = str(now_ms())
    name = f"MLflow replay/seq-{suffix}"
    experiment = set_experiment(client, name)
    experiment_id = experiment["experiment_id"]
    again = client.api("GET", "experiments/get-by-name", query={"experiment_name": name})["experiment"]
    expect(again["experiment_id"] == experiment_id, "get-by-name after create finds another experiment")
    client.error("POST", "experiments/create", 400, "RESOURCE_ALREADY_EXISTS", {"name": name})
    searched = client.api("POST", "experiments/search", {"max_results": 1000, "filter": f"name = '{name}'"})
    expect([item["experiment_id"] for item in searched["experiments"]] == [experiment_id], f"search: {searched}")
    for item in searched["experiments"]:
        check_experiment(item)

    run_ids = []
    for size, width in ((1_000_000, 64), (4_000_000, 128)):
        info = start_run(client, experiment_id, f"mlflow-width-{width}", tags={"team": "replay"})
        run_id = info["run_id"]
        run_ids.append(run_id)
        # mlflow.log_params: one log-batch of params (strings, as str(value)).
        log_batch(client, run_id, params=[
            {"key": "lr", "value": "0.001"}, {"key": "width", "value": str(width)},
            {"key": "optimizer", "value": "adam"}, {"key": "paramCount", "value": str(size)},
        ])
        # mlflow.log_param: one log-parameter; the same value again is accepted, another is refused.
        client.api("POST", "runs/log-parameter", {"run_id": run_id, "run_uuid": run_id, "key": "seed", "value": "0"})
        client.api("POST", "runs/log-parameter", {"run_id": run_id, "run_uuid": run_id, "key": "seed", "value": "0"})
        client.error("POST", "runs/log-parameter", 400, "INVALID_PARAMETER_VALUE",
                     {"run_id": run_id, "run_uuid": run_id, "key": "seed", "value": "1"})
        # mlflow.log_metric: one log-metric per call.
        for step in range(3):
            client.api("POST", "runs/log-metric", {
                "run_id": run_id, "run_uuid": run_id, "key": "train/loss",
                "value": 2.0 / (step + 1) / (width / 64), "timestamp": now_ms(), "step": step,
            })
        # mlflow.log_metrics: log-batch, split at 1,000 metrics (2,500 points: three requests).
        loss = [{"key": "val/loss", "value": 3.0 / math.sqrt(step + 1) / (width / 64), "timestamp": now_ms(), "step": step}
                for step in range(2500)]
        before = len(client.requests)
        log_batch(client, run_id, metrics=loss)
        expect(len(client.requests) - before == 3, "log_metrics of 2,500 points is not three requests")
        # NaN and infinities as protobuf JSON writes them, and bare as json.dumps does.
        log_batch(client, run_id, metrics=[
            {"key": "grad/norm", "value": "NaN", "timestamp": now_ms(), "step": 0},
            {"key": "grad/norm", "value": float("inf"), "timestamp": now_ms(), "step": 1},
        ])
        # mlflow.set_tags: log-batch of tags; mlflow.set_tag: set-tag; MlflowClient.delete_tag.
        log_batch(client, run_id, tags=[{"key": "stage", "value": "replay"}, {"key": "mlflow.note.content", "value": "from replay"}])
        client.api("POST", "runs/set-tag", {"run_id": run_id, "run_uuid": run_id, "key": "temp", "value": "x"})
        client.api("POST", "runs/delete-tag", {"run_id": run_id, "key": "temp"})
        client.error("POST", "runs/delete-tag", 404, "RESOURCE_DOES_NOT_EXIST", {"run_id": run_id, "key": "temp"})
        # mlflow.log_artifact.
        with tempfile.TemporaryDirectory() as folder:
            local = os.path.join(folder, "notes.txt")
            with open(local, "w") as handle:
                handle.write(f"width {width}\n")
            root = log_artifact(client, run_id, local, "texts")
        status, listed, _ = client.call("GET", "/api/2.0/mlflow-artifacts/artifacts", query={"path": root})
        expect(status == 200 and listed.get("files") == [{"path": "texts", "is_dir": True}], f"list root: {listed}")
        status, listed, _ = client.call("GET", "/api/2.0/mlflow-artifacts/artifacts", query={"path": f"{root}/texts"})
        expect(status == 200 and listed.get("files") == [{"path": "notes.txt", "is_dir": False, "file_size": len(f"width {width}\n")}],
               f"list texts: {listed}")
        status, body, headers = client.call("GET", f"/api/2.0/mlflow-artifacts/artifacts/{root}/texts/notes.txt")
        expect(status == 200 and body == f"width {width}\n".encode(), f"download: {status} {body!r}")
        expect((headers.get("Content-Disposition") or "").startswith("attachment"), "download is not an attachment")
        # mlflow.log_input(mlflow.data.from_pandas(df, name=...), context="training"): rest_store.log_inputs.
        schema = json.dumps({"mlflow_colspec": [{"type": "double", "name": f"x{i}", "required": True} for i in range(300)]})
        client.api("POST", "runs/log-inputs", {"run_id": run_id, "datasets": [{
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {"name": "replay-data", "digest": f"d{width:07d}", "source_type": "code",
                        "source": json.dumps({"tags": {"mlflow.source.name": "train.py"}}), "schema": schema,
                        "profile": json.dumps({"num_rows": 100, "num_elements": 30000})},
        }]})
        # mlflow.end_run.
        end_run(client, run_id)

        run = client.api("GET", "runs/get", query={"run_uuid": run_id, "run_id": run_id})["run"]
        check_run(run)
        expect(run["info"]["status"] == "FINISHED", f"status {run['info']['status']}")
        params = as_dict(run["data"]["params"])
        expect(params == {"lr": "0.001", "width": str(width), "optimizer": "adam", "paramCount": str(size), "seed": "0"},
               f"params {params}")
        tags = as_dict(run["data"]["tags"])
        expect(tags.get("stage") == "replay" and "temp" not in tags and tags.get("mlflow.runName") == f"mlflow-width-{width}",
               f"tags {tags}")
        metrics = {metric["key"]: metric for metric in run["data"]["metrics"]}
        expect(metrics["val/loss"]["step"] == 2499, f"latest val/loss {metrics.get('val/loss')}")
        expect(metrics["grad/norm"]["value"] == "Infinity", f"latest grad/norm {metrics.get('grad/norm')}")
        history = client.api("GET", "metrics/get-history",
                             query={"run_uuid": run_id, "run_id": run_id, "metric_key": "val/loss"})
        for metric in history["metrics"]:
            check_metric(metric)
        steps = [metric["step"] for metric in history["metrics"]]
        expect(steps == list(range(len(steps))) and len(steps) == 2500, f"history steps: {len(steps)}")
        datasets = run["inputs"]["dataset_inputs"]
        expect([(item["dataset"]["name"], as_dict(item["tags"]).get("mlflow.data.context")) for item in datasets]
               == [("replay-data", "training")], f"run inputs: {datasets}")
        expect(datasets[0]["dataset"]["schema"].endswith(f"(truncated from {len(schema)} characters)"),
               "a long schema is not cut to the stated bound")

    # The MLflow UI's charts: metrics/get-history-bulk-interval over both runs, 100 points a run at most.
    bulk = client.api("GET", "metrics/get-history-bulk-interval",
                      query={"run_ids": run_ids, "metric_key": "val/loss", "max_results": 100})
    for metric in bulk["metrics"]:
        check_fields("MetricWithRunId", metric,
                     {"key": str, "value": (int, float, str), "timestamp": int, "step": int, "run_id": str},
                     ["key", "value", "step", "run_id"])
    for run_id in run_ids:
        steps = [metric["step"] for metric in bulk["metrics"] if metric["run_id"] == run_id]
        expect(0 < len(steps) <= 100 and steps[0] == 0 and steps[-1] == 2499, f"bulk interval steps: {steps}")

    found = client.api("POST", "runs/search", {"experiment_ids": [experiment_id], "max_results": 1000})
    expect(sorted(run["info"]["run_id"] for run in found["runs"]) == sorted(run_ids), f"runs/search: {found}")
    for run in found["runs"]:
        check_run(run)
    narrowed = client.api("POST", "runs/search", {
        "experiment_ids": [experiment_id], "filter": "params.width = '128' AND metrics.`val/loss` < 10",
    })
    expect([run["info"]["run_id"] for run in narrowed["runs"]] == [run_ids[1]], f"filtered search: {narrowed}")

    # A run resumed (MLFLOW_RUN_ID) and killed; a run failing in a `with` block.
    client.api("POST", "runs/update", {"run_id": run_ids[0], "status": "RUNNING", "end_time": now_ms()})
    end_run(client, run_ids[0], "FINISHED")
    failed = start_run(client, experiment_id, "mlflow-failed")
    end_run(client, failed["run_id"], "FAILED")
    killed = start_run(client, "0", "mlflow-default-experiment")
    end_run(client, killed["run_id"], "KILLED")

    # MlflowClient.rename_experiment and set_experiment_tag("mlflow.note.content", ...).
    client.api("POST", "experiments/set-experiment-tag",
               {"experiment_id": experiment_id, "key": "mlflow.note.content", "value": "replayed"})
    renamed = f"{name}-renamed"
    client.api("POST", "experiments/update", {"experiment_id": experiment_id, "new_name": renamed})
    found_again = client.api("GET", "experiments/get", query={"experiment_id": experiment_id})["experiment"]
    check_experiment(found_again)
    expect(found_again["name"] == renamed and as_dict(found_again["tags"]).get("mlflow.note.content") == "replayed",
           f"renamed experiment: {found_again}")
    client.error("POST", "experiments/set-experiment-tag", 400, "INVALID_PARAMETER_VALUE",
                 {"experiment_id": experiment_id, "key": "owner", "value": "x"})
    # MlflowClient.delete_run: Scaleboard keeps every run; restore_run of a live run is a no-change.
    client.error("POST", "runs/delete", 501, "NOT_IMPLEMENTED", {"run_id": failed["run_id"]})
    client.api("POST", "runs/restore", {"run_id": failed["run_id"]})

    # Errors in MLflow's shape.
    client.error("GET", "experiments/get-by-name", 404, "RESOURCE_DOES_NOT_EXIST", query={"experiment_name": f"missing-{suffix}"})
    client.error("GET", "runs/get", 404, "RESOURCE_DOES_NOT_EXIST", query={"run_id": "no-such-run"})
    client.error("POST", "runs/log-metric", 400, "INVALID_PARAMETER_VALUE",
                 {"run_id": run_ids[0], "key": "x", "value": 1, "timestamp": now_ms(), "step": -1})
    client.error("POST", "runs/log-batch", 400, "INVALID_PARAMETER_VALUE",
                 {"run_id": run_ids[0], "metrics": [{"key": "x", "value": 1, "timestamp": 0, "step": i} for i in range(1001)]})
    client.error("POST", "runs/log-batch", 400, "INVALID_PARAMETER_VALUE", {"metrics": []})
    client.error("GET", "runs/get", 401, "UNAUTHENTICATED", query={"run_id": run_ids[0]}, token=False)
    client.error("POST", "runs/unknown", 404, "ENDPOINT_NOT_FOUND", {})
    if other is not None:
        other.error("GET", "runs/get", 404, "RESOURCE_DOES_NOT_EXIST", query={"run_id": run_ids[0]})
        other.error("POST", "runs/log-batch", 404, "RESOURCE_DOES_NOT_EXIST",
                    {"run_id": run_ids[0], "params": [{"key": "stolen", "value": "1"}]})
        other.error("GET", "experiments/get", 404, "RESOURCE_DOES_NOT_EXIST", query={"experiment_id": experiment_id})
        other.error("GET", "experiments/get-by-name", 404, "RESOURCE_DOES_NOT_EXIST", query={"experiment_name": renamed})
        other.error("POST", "runs/log-inputs", 404, "RESOURCE_DOES_NOT_EXIST", {"run_id": run_ids[0], "datasets": []})
        other.error("GET", "metrics/get-history-bulk-interval", 404, "RESOURCE_DOES_NOT_EXIST",
                    query={"run_ids": run_ids, "metric_key": "val/loss"})
        status, answer, _ = other.call("GET", f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_ids[0]}/artifacts/texts/notes.txt")
        expect(status == 404, f"other team's artifact: HTTP {status}")
        check_error(answer, "RESOURCE_DOES_NOT_EXIST")
    return {"experimentId": experiment_id, "runIds": run_ids, "requests": len(client.requests)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--other-token")
    arguments = parser.parse_args()
    client = Client(arguments.url, arguments.token)
    other = Client(arguments.url, arguments.other_token) if arguments.other_token else None
    try:
        result = replay(client, other)
    except Failure as failure:
        print(f"FAILED after {len(client.requests)} requests ({client.requests[-1] if client.requests else '-'}): {failure}",
              file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
