"""Reading runs and series back from /api/v1 as plain dicts and lists."""

import time

from ._http import Transport
from ._values import from_wire

MAX_PAGES = 10_000


class Api:
    """`scaleboard.Api().runs(project="Scaling laws")`, `.run(id)`, `.points(id, "val/loss")`.
    Uses SCALEBOARD_API_URL and SCALEBOARD_API_KEY unless given."""

    def __init__(self, api_url=None, api_key=None, timeout=30.0, retry_seconds=30.0):
        self._transport = Transport(api_url, api_key, timeout)
        self._retry_seconds = retry_seconds

    def _get(self, path, query=None):
        return self._transport.call("GET", path, query=query, deadline=time.monotonic() + self._retry_seconds)

    def _pages(self, path, field, query):
        """Every item of a cursor-paged list."""
        items = []
        cursor = None
        for _ in range(MAX_PAGES):
            answer = self._get(path, dict(query, cursor=cursor))
            items.extend(answer.get(field) or [])
            cursor = answer.get("nextCursor")
            if not cursor:
                return items
        raise RuntimeError("%s: more than %d pages" % (path, MAX_PAGES))

    def experiments(self, project=None):
        return self._pages("/experiments", "experiments", {"project": project})

    def runs(self, project=None, experiment=None):
        """Every run of the team the key belongs to, optionally of one project (name or slug) and experiment."""
        return self._pages("/runs", "runs", {"project": project, "experiment": experiment})

    def run(self, run_id):
        """One run: config, summary, status and the keys of its metrics."""
        return self._get("/runs/%s" % run_id)

    def points(self, run_id, key, from_step=None, to_step=None, max_points=None):
        """[{"step", "value"}] of one metric in step order: every point as logged (fetched a page at a time),
        or at most `max_points` keeping each bucket's first, last, min and max. NaN and infinities are floats."""
        points = []
        for _ in range(MAX_PAGES):
            answer = self._get(
                "/runs/%s/points" % run_id,
                {"key": key, "fromStep": from_step, "toStep": to_step, "maxPoints": max_points},
            )
            for point in answer.get("points", []):
                point["value"] = from_wire(point.get("value"))
                points.append(point)
            from_step = answer.get("nextFromStep")
            if max_points is not None or from_step is None:
                return points
        raise RuntimeError("run %s key %s: more than %d pages" % (run_id, key, MAX_PAGES))

    def scaling(self, experiment_id, metric=None, budget_flops=None, budget_seconds=None):
        """The experiment's scaling analysis (power law in paramCount, joint fit, advice for a budget) as a dict."""
        return self._get(
            "/experiments/%s/scaling" % experiment_id,
            {"metric": metric, "budgetFlops": budget_flops, "budgetSeconds": budget_seconds},
        )

    def history(self, run_id, keys=None):
        """{key: [(step, value), ...]} for the given metric keys (default: every key of the run)."""
        if keys is None:
            keys = [entry["key"] for entry in self.run(run_id).get("metricKeys", [])]
        return {key: [(point["step"], point["value"]) for point in self.points(run_id, key)] for key in keys}
