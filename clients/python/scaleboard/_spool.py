"""The local spool: what could not reach the server, as JSON lines, uploaded later by the run itself
when the server answers again or by `python -m scaleboard sync`.

A spool file holds one run: a header ({"type": "run", "runId" or "create"}), then points, summary and
finish records in the order they were logged. Uploading is idempotent: the server keeps one value per
run, key and step, a summary merges, a second finish is answered 409 and taken as done, and a run the
spool created is written back as a {"type": "created"} record before anything else is sent, so an
upload cut short and started again neither loses nor duplicates anything.
"""

import json
import os
import sys
import time
import uuid

from . import _batch
from ._http import ScaleboardError

try:
    import fcntl
except ImportError:  # Windows: no lock; do not run sync beside a live run there.
    fcntl = None


def default_directory():
    configured = os.environ.get("SCALEBOARD_SPOOL_DIR")
    if configured:
        return configured
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "scaleboard", "spool")


def _lock(handle, blocking):
    if fcntl is None:
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except OSError:
        return False


class Spool:
    """One live run's spool file, locked while the run holds it so that `sync` leaves it alone."""

    def __init__(self, api_url, run_id=None, create=None, directory=None):
        self.directory = directory or default_directory()
        self.api_url = api_url
        self.run_id = run_id
        self.create = create
        name = run_id or "offline-%s-%s" % (time.strftime("%Y%m%dT%H%M%S"), uuid.uuid4().hex[:8])
        self.path = os.path.join(self.directory, name + ".jsonl")
        self._handle = None
        self.points = 0

    @property
    def pending(self):
        return self._handle is not None

    def open(self):
        if self._handle is None:
            os.makedirs(self.directory, exist_ok=True)
            self._handle = open(self.path, "ab+")
            _lock(self._handle, blocking=True)
            self._handle.seek(0, os.SEEK_END)
            if self._handle.tell() == 0:
                header = {"type": "run", "apiUrl": self.api_url, "runId": self.run_id, "create": self.create}
                self._handle.write(json.dumps(header, allow_nan=False).encode("utf-8") + b"\n")
        return self._handle

    def _write(self, line):
        handle = self.open()
        handle.write(line + b"\n")
        handle.flush()
        os.fsync(handle.fileno())

    def append_points(self, encoded):
        """Points already encoded by _batch.encode_point, kept as they would have been sent."""
        if encoded:
            self._write(b'{"type":"points","points":[' + b",".join(encoded) + b"]}")
            self.points += len(encoded)

    def append_record(self, kind, body):
        self._write(json.dumps({"type": kind, "body": body}, allow_nan=False, separators=(",", ":")).encode("utf-8"))

    def drain(self, transport, deadline=None, stop=None):
        """Uploads the whole file; on success removes it and returns the run id (created if need be)."""
        if self._handle is None:
            return self.run_id
        run_id = upload_file(self.path, transport, deadline=deadline, stop=stop)
        os.remove(self.path)
        self._handle.close()
        self._handle = None
        self.points = 0
        self.run_id = run_id
        return run_id

    def close(self):
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _read_records(path):
    with open(path, encoding="utf-8") as source:
        lines = source.read().split("\n")
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            # A line cut short by a crash while it was written: only the last line can be.
            if number < len(lines) - 1:
                raise ValueError("%s line %d is not JSON" % (path, number)) from None
    if not records or records[0].get("type") != "run":
        raise ValueError("%s is not a Scaleboard spool file (no run header)" % path)
    return records


def upload_file(path, transport, deadline=None, stop=None, report=None):
    """Uploads one spool file in order; returns the run id. Raises on what needs a person (401, 403, 404)."""
    records = _read_records(path)
    header = records[0]
    run_id = header.get("runId")
    for record in records:
        if record.get("type") == "created":
            run_id = record["runId"]
    if run_id is None:
        created = transport.call("POST", "/runs", body=header["create"], deadline=deadline, stop=stop)
        run_id = created["runId"]
        with open(path, "a", encoding="utf-8") as target:
            target.write(json.dumps({"type": "created", "runId": run_id}) + "\n")
            target.flush()
            os.fsync(target.fileno())
    points = 0
    for record in records[1:]:
        kind = record.get("type")
        try:
            if kind == "points":
                encoded = [_batch.encode_point(point) for point in record["points"]]
                for body, batch in _batch.bodies(encoded):
                    transport.call("POST", "/runs/%s/points" % run_id, raw_body=body, deadline=deadline, stop=stop)
                    points += len(batch)
            elif kind == "summary":
                transport.call("POST", "/runs/%s/summary" % run_id, body=record["body"], deadline=deadline, stop=stop)
            elif kind == "finish":
                try:
                    transport.call("POST", "/runs/%s/finish" % run_id, body=record["body"], deadline=deadline, stop=stop)
                except ScaleboardError as error:
                    if error.status != 409:  # already ended: an earlier upload finished it
                        raise
        except ScaleboardError as error:
            if error.status in (400, 413, 422):
                # This record can never be stored; the rest still can.
                print("scaleboard: skipped a %s record of run %s: %s" % (kind, run_id, error.message), file=sys.stderr)
                continue
            raise
    if report is not None:
        report(run_id, points)
    return run_id


def sync_directory(transport_for, directory=None, out=sys.stdout):
    """Uploads every spool file not held by a live run; returns (files uploaded, files left)."""
    directory = directory or default_directory()
    if not os.path.isdir(directory):
        print("scaleboard: nothing to sync (%s does not exist)" % directory, file=out)
        return 0, 0
    uploaded = left = 0
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".jsonl"):
            continue
        path = os.path.join(directory, name)
        with open(path, "a+", encoding="utf-8") as handle:
            if not _lock(handle, blocking=False):
                print("scaleboard: %s is in use by a running script; left for later" % name, file=out)
                left += 1
                continue
            if os.fstat(handle.fileno()).st_size == 0:
                # Created by our open() after a live run removed it: nothing was ever in it.
                os.remove(path)
                continue
            try:
                header = _read_records(path)[0]
                transport = transport_for(header.get("apiUrl"))
                upload_file(
                    path,
                    transport,
                    deadline=time.monotonic() + 60,
                    report=lambda run_id, points: print(
                        "scaleboard: synced run %s (%d points) to %s" % (run_id, points, transport.api_url), file=out
                    ),
                )
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
                print("scaleboard: could not sync %s: %s" % (name, error), file=out)
                left += 1
                continue
            os.remove(path)
            uploaded += 1
    return uploaded, left
