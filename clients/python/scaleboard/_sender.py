"""The background thread that delivers a run's points and summary, so that logging never waits on the network.

Points are sent every `interval` seconds or as soon as `batch_size` are waiting, in requests within the
server's limits. A failed request is retried with backoff (Retry-After honoured) for `retry_seconds`;
after that, or when the server answers 401/403/404, what could not be sent goes to the spool file and
later batches join it until the server answers again, when the spool is uploaded first, in order.
"""

import sys
import threading
import time

from . import _batch
from ._http import ScaleboardError, Unreachable, retryable

HEARTBEAT_SECONDS = 30.0


def _warn(message):
    print("scaleboard: " + message, file=sys.stderr)


class Sender(threading.Thread):
    def __init__(self, transport, spool, run_id, heartbeat, batch_size=1000, interval=1.0, retry_seconds=120.0):
        # A daemon thread: the interpreter's exit does not wait for it; Run's atexit hook flushes instead.
        super().__init__(name="scaleboard-sender", daemon=True)
        self.transport = transport
        self.spool = spool
        self.run_id = run_id
        self.heartbeat = heartbeat
        self.batch_size = batch_size
        self.interval = interval
        self.retry_seconds = retry_seconds
        self.sent_points = 0
        self.dropped_points = 0
        self.last_step = None
        self.cancel_requested = False
        self._cond = threading.Condition()
        self._points = []
        self._summary = None
        self._queued = 0
        self._handled = 0
        self._flush_requested = False
        self._busy = False
        self._stopping = False
        self._stop_now = threading.Event()
        self._next_drain = 0.0
        self._drain_backoff = 1.0
        self._next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        self._warned = set()

    # Called from the training thread: never blocks on the network.
    def enqueue(self, encoded, step=None):
        with self._cond:
            self._points.extend(encoded)
            self._queued += len(encoded)
            if step is not None:
                self.last_step = step if self.last_step is None else max(self.last_step, step)
            if len(self._points) >= self.batch_size:
                self._cond.notify_all()

    def update_summary(self, body):
        with self._cond:
            if self._summary is None:
                self._summary = {}
            for field, value in body.items():
                if field == "summary":
                    self._summary.setdefault("summary", {}).update(value)
                else:
                    self._summary[field] = value
            self._cond.notify_all()

    def flush(self, timeout=None):
        """Waits until everything enqueued so far was sent or spooled; False if `timeout` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._flush_requested = True
            self._cond.notify_all()
            while self._handled < target or self._summary is not None or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                if not self.is_alive():
                    return False
                self._cond.wait(remaining if remaining is not None else 1.0)
        return True

    def close(self, timeout):
        """Delivers what is left, waiting at most `timeout` seconds for the server; the rest is spooled."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self.join(timeout)
        if self.is_alive():
            self._stop_now.set()  # cuts retries short: what is still unsent goes to the spool
            self.join(30)

    def run(self):
        while True:
            with self._cond:
                if not (self._stopping or self._flush_requested or len(self._points) >= self.batch_size):
                    self._cond.wait(self.interval)
                points, self._points = self._points, []
                summary, self._summary = self._summary, None
                stopping = self._stopping
                self._flush_requested = False
                self._busy = True
            try:
                self._deliver(points, summary)
            except Exception as error:  # noqa: BLE001 - the thread must outlive any surprise
                _warn("could not deliver %d points: %r" % (len(points), error))
                self.dropped_points += len(points)
            with self._cond:
                self._handled += len(points)
                self._busy = False
                self._cond.notify_all()
                if stopping and not self._points and self._summary is None:
                    if self.spool.pending and not self._stop_now.is_set():
                        self._try_drain(force=True)
                    return
            if not stopping:
                self._maybe_heartbeat()

    def _deadline(self):
        return time.monotonic() + self.retry_seconds

    def _try_drain(self, force=False):
        if not self.spool.pending:
            return True
        now = time.monotonic()
        if not force and now < self._next_drain:
            return False
        try:
            # One attempt per request: the backoff between drains is the retry.
            self.run_id = self.spool.drain(self.transport, deadline=None, stop=self._stop_now)
        except (ScaleboardError, Unreachable, OSError, ValueError) as error:
            self._drain_backoff = min(30.0, self._drain_backoff * 2)
            self._next_drain = time.monotonic() + self._drain_backoff
            self._warn_once("spool", "the server is unreachable (%s); spooling to %s" % (error, self.spool.path))
            return False
        self._drain_backoff = 1.0
        self._warned.discard("spool")
        _warn("the server answers again; uploaded the spooled records of run %s" % self.run_id)
        return True

    def _warn_once(self, kind, message):
        if kind not in self._warned:
            self._warned.add(kind)
            _warn(message)

    def _deliver(self, points, summary):
        if not points and summary is None:
            if self.spool.pending and not self._stop_now.is_set():
                self._try_drain()
            return
        if self.spool.pending or self.run_id is None:
            if self._stop_now.is_set() or not self._try_drain():
                self.spool.append_points(points)
                if summary is not None:
                    self.spool.append_record("summary", summary)
                return
        chunks = [batch for _, batch in _batch.bodies(points)]
        for index, batch in enumerate(chunks):
            if not self._send_points(batch):
                for rest in chunks[index:]:
                    self.spool.append_points(rest)
                if summary is not None:
                    self.spool.append_record("summary", summary)
                return
        if summary is not None:
            try:
                self.transport.call(
                    "POST", "/runs/%s/summary" % self.run_id, body=summary, deadline=self._deadline(), stop=self._stop_now
                )
            except ScaleboardError as error:
                if error.status == 400:
                    _warn("the server refused a summary: %s" % error.message)
                else:
                    self.spool.append_record("summary", summary)
            except Unreachable:
                self.spool.append_record("summary", summary)

    def _send_points(self, batch):
        """True when the batch was stored (or refused for good); False when it must be spooled."""
        body = b'{"points":[' + b",".join(batch) + b"]}"
        try:
            self.transport.call(
                "POST", "/runs/%s/points" % self.run_id, raw_body=body, deadline=self._deadline(), stop=self._stop_now
            )
            self.sent_points += len(batch)
            return True
        except ScaleboardError as error:
            if error.status == 413 and len(batch) > 1:
                # The server's limit is lower than this client knew: halve until it fits.
                middle = len(batch) // 2
                return self._send_points(batch[:middle]) and self._send_points(batch[middle:])
            if error.status == 400:
                self.dropped_points += len(batch)
                self._warn_once("400", "the server refused %d points: %s" % (len(batch), error.message))
                return True
            if not retryable(error):
                self._warn_once("refused", "points not accepted (%s); kept in %s" % (error, self.spool.path))
            return False
        except Unreachable:
            return False

    def _maybe_heartbeat(self):
        if not self.heartbeat or self.run_id is None or self.spool.pending:
            return
        if time.monotonic() < self._next_heartbeat:
            return
        self._next_heartbeat = time.monotonic() + HEARTBEAT_SECONDS
        body = {} if self.last_step is None else {"step": self.last_step}
        try:
            answer = self.transport.request("POST", "/runs/%s/heartbeat" % self.run_id, body=body)
            self.cancel_requested = bool(answer.get("cancelRequested"))
        except (ScaleboardError, Unreachable):
            pass  # the next batch or heartbeat tries again
