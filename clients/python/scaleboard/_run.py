"""A run: what `scaleboard.init()` returns."""

import atexit
import json
import os
import sys
import threading
import time
import traceback
import weakref

from . import _batch
from ._http import ScaleboardError, Transport, Unreachable
from ._sender import Sender
from ._spool import Spool
from ._system import SystemMetrics
from ._values import MAX_KEY_LENGTH, MAX_STEP, jsonable, metric_value

# Fields of POST /runs/{id}/summary other than the free-form summary (server/http/v1-schemas.ts ZSummaryBody).
SUMMARY_FIELDS = ("paramCount", "flopsPerStep", "totalFlops", "tags", "notes")
ERROR_TAIL_CHARS = 4_000


def _env_float(name, default):
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return float(default)


def _warn(message):
    print("scaleboard: " + message, file=sys.stderr)


class Config(dict):
    """The run's config: `config["lr"]`, `config.lr`, `config.update({...})`, like wandb.config."""

    def __getattr__(self, name):
        try:
            value = self[name]
        except KeyError:
            raise AttributeError(name) from None
        return Config(value) if isinstance(value, dict) and not isinstance(value, Config) else value

    def __setattr__(self, name, value):
        self[name] = value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._changed()

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, values=None, allow_val_change=None, **more):
        if values is not None:
            if not isinstance(values, dict) and hasattr(values, "__dict__"):
                values = vars(values)  # argparse.Namespace
            for key, value in dict(values).items():
                dict.__setitem__(self, key, value)
        for key, value in more.items():
            dict.__setitem__(self, key, value)
        self._changed()

    def setdefaults(self, values):
        for key, value in dict(values).items():
            self.setdefault(key, value)

    def as_dict(self):
        return dict(self)

    def _changed(self):
        if self.__dict__.get("_frozen"):
            # The server stores the config given to init(); a later change stays in this process only.
            if not self.__dict__.get("_warned"):
                self.__dict__["_warned"] = True
                _warn("config changed after init() is kept locally only; pass it to init(config=...)")


class Summary(dict):
    """`run.summary(paramCount=..., tokens=...)` or `run.summary["best/loss"] = 0.3`: sent in the background."""

    def __init__(self, run):
        super().__init__()
        self._run = weakref.ref(run)

    def __call__(self, values=None, **fields):
        merged = dict(values or {})
        merged.update(fields)
        for key, value in merged.items():
            dict.__setitem__(self, key, value)
        run = self._run()
        if run is not None and merged:
            run._send_summary(merged)
        return self

    def __setitem__(self, key, value):
        self({key: value})

    def update(self, values=None, **fields):
        self(values, **fields)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _traceback_tail(kind, value, trace):
    text = "".join(traceback.format_exception(kind, value, trace))
    return text[-ERROR_TAIL_CHARS:]


class Run:
    """A run being logged. Use `log()`, `summary(...)`, `finish()`, or `with scaleboard.init(...) as run:`."""

    def __init__(
        self,
        project=None,
        experiment=None,
        config=None,
        name=None,
        tags=None,
        notes=None,
        api_url=None,
        api_key=None,
        system_metrics=None,
        spool_dir=None,
        model=None,
    ):
        self._transport = Transport(api_url, api_key)
        self._lock = threading.Lock()
        self._finished = False
        self._started = time.time()
        self._step = 0
        self._non_numeric_warned = set()
        self.project = project
        self.experiment = experiment
        attach_id = os.environ.get("SCALEBOARD_RUN_ID") or None
        self.attached = attach_id is not None
        user_config = jsonable(config if config is not None else {})
        if not isinstance(user_config, dict):
            raise TypeError("config must be a dict (or an argparse.Namespace), not %s" % type(config).__name__)
        run_config = dict(user_config)
        if self.attached:
            # Inside a command run the spec's values win, as a sweep's values win over a script's defaults.
            try:
                spec_config = json.loads(os.environ.get("SCALEBOARD_CONFIG") or "{}")
            except ValueError:
                spec_config = {}
            if isinstance(spec_config, dict):
                spec_config.pop("runner", None)
                params = spec_config.get("params")
                run_config.update(params if isinstance(params, dict) else spec_config)
        self.config = Config(run_config)
        self.summary = Summary(self)
        self.name = name
        self.tags = list(tags or [])
        retry_seconds = _env_float("SCALEBOARD_RETRY_SECONDS", 120)
        init_timeout = _env_float("SCALEBOARD_INIT_TIMEOUT", 30)
        run_id = None
        create = None
        if self.attached:
            answer = self._attach(attach_id, init_timeout)
            run_id = attach_id
            self.name = answer.get("name", name) if answer else name
        else:
            if not project or not experiment:
                raise ValueError("init() needs project= and experiment= (or group=, or run inside a command run)")
            create = {"project": str(project), "experiment": str(experiment), "config": run_config, "tags": self.tags}
            if name:
                create["name"] = str(name)
            try:
                answer = self._transport.call(
                    "POST", "/runs", body=create, deadline=time.monotonic() + init_timeout
                )
                run_id = answer["runId"]
                self.name = answer.get("name", name)
            except Unreachable as error:
                # Training goes on; the run is created when the server answers, or by `python -m scaleboard sync`.
                _warn("%s; logging offline to the spool until the server answers" % error)
            except ScaleboardError as error:
                if error.status < 500 and error.status != 429:
                    raise
                _warn("%s; logging offline to the spool until the server answers" % error)
        self.config.__dict__["_frozen"] = True
        self._spool = Spool(self._transport.api_url, run_id=run_id, create=None if run_id else create, directory=spool_dir)
        self._sender = Sender(
            self._transport,
            self._spool,
            run_id,
            heartbeat=not self.attached,
            batch_size=int(_env_float("SCALEBOARD_BATCH_SIZE", 1000)),
            interval=_env_float("SCALEBOARD_FLUSH_INTERVAL", 1.0),
            retry_seconds=retry_seconds,
        )
        if run_id is None:
            self._spool.open()  # the header alone is enough for `sync` to create the run
        self._sender.start()
        if notes:
            self.summary(notes=str(notes))
        if model is not None:
            self.watch(model)
        if system_metrics is None:
            system_metrics = os.environ.get("SCALEBOARD_SYSTEM_METRICS", "1") not in ("0", "false", "no")
        self._system = None
        if system_metrics:
            self._system = SystemMetrics(self._log_system, _env_float("SCALEBOARD_SYSTEM_METRICS_INTERVAL", 10))
            self._system.start()
        _live_runs.add(self)

    def _attach(self, run_id, timeout):
        try:
            return self._transport.call("POST", "/runs", body={"runId": run_id}, deadline=time.monotonic() + timeout)
        except Unreachable as error:
            _warn("%s; logging to the spool until the server answers" % error)
            return None

    @property
    def id(self):
        """The run's id on the server; None while an offline run waits for the server to create it."""
        return self._sender.run_id

    @property
    def should_stop(self):
        """True once someone asked to cancel the run (seen with the last heartbeat)."""
        return self._sender.cancel_requested

    @property
    def spool_path(self):
        return self._spool.path

    def watch(self, model, *args, **kwargs):
        """Records a PyTorch (or any `.parameters()`) model's trainable parameter count as paramCount,
        which puts the run in the scaling view. wandb.watch's other arguments are accepted and ignored."""
        parameters = getattr(model, "parameters", None)
        if not callable(parameters):
            return None
        count = 0
        for parameter in parameters():
            if getattr(parameter, "requires_grad", True):
                numel = getattr(parameter, "numel", None)
                count += int(numel() if callable(numel) else getattr(parameter, "size", 0))
        self.summary(paramCount=count)
        return None

    def log(self, data, step=None, commit=None):
        """Queues {key: number} at `step` (default: one more than the last step logged) and returns at once.
        NaN and infinities are kept; values that are not numbers (images, text) are skipped with a warning."""
        if self._finished:
            raise RuntimeError("log() after finish()")
        if not isinstance(data, dict):
            raise TypeError("log() takes a dict of {key: number}, not %s" % type(data).__name__)
        if step is None:
            step = self._step
        else:
            number = metric_value(step)
            if isinstance(number, float) and number.is_integer():
                number = int(number)
            if not isinstance(number, int):
                raise ValueError("step must be an integer, not %r" % (step,))
            step = number
        if not 0 <= step <= MAX_STEP:
            raise ValueError("step must be an integer from 0 to %d, not %r" % (MAX_STEP, step))
        if commit is not False:
            self._step = max(self._step, step + 1)
        self._enqueue(data, step)

    def _enqueue(self, data, step):
        wall_time = time.time()
        encoded = []
        for key, raw in _flatten(data):
            value = metric_value(raw)
            if value is None:
                if key not in self._non_numeric_warned:
                    self._non_numeric_warned.add(key)
                    _warn("%r is a %s, not a number: not logged" % (key, type(raw).__name__))
                continue
            if not key or len(key) > MAX_KEY_LENGTH:
                if key not in self._non_numeric_warned:
                    self._non_numeric_warned.add(key)
                    _warn("metric names are 1 to %d characters; %r is not logged" % (MAX_KEY_LENGTH, key[:50]))
                continue
            encoded.append(_batch.encode_point({"key": key, "step": step, "value": value, "wallTime": wall_time}))
        if encoded:
            self._sender.enqueue(encoded, step)

    def _log_system(self, metrics, step):
        if not self._finished:
            self._enqueue(metrics, min(step, MAX_STEP))

    def _send_summary(self, values):
        body = {}
        free = {}
        for key, value in values.items():
            if key in SUMMARY_FIELDS:
                body[key] = _summary_field(key, value)
            else:
                free[key] = jsonable(value)
        if free:
            body["summary"] = free
        self._sender.update_summary(body)

    def flush(self, timeout=None):
        """Waits until every point logged so far was sent (or spooled); False if `timeout` passed first."""
        return self._sender.flush(timeout)

    def finish(self, status="succeeded", error=None, exit_code=None, quiet=None):
        """Sends what is left (waiting at most SCALEBOARD_FLUSH_TIMEOUT seconds, default 30) and ends the run.
        Inside a command run the worker ends it from the exit code, so this only flushes."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        _live_runs.discard(self)
        if exit_code not in (None, 0) and status == "succeeded":
            status = "failed"
            error = error or "exit code %s" % exit_code
        if self._system is not None:
            try:
                self._system.stop()  # and a last sample, so even a short run has one
            except Exception:  # noqa: BLE001 - a last sample must never stop finish()
                pass
        self._sender.close(_env_float("SCALEBOARD_FLUSH_TIMEOUT", 30))
        body = {"status": status, "wallClockSeconds": max(0.0, time.time() - self._started)}
        if error:
            body["error"] = str(error)[-ERROR_TAIL_CHARS:]
        if not self.attached:
            if self._spool.pending or self.id is None:
                self._spool.append_record("finish", body)
            else:
                try:
                    self._transport.call("POST", "/runs/%s/finish" % self.id, body=body, deadline=time.monotonic() + 10)
                except Unreachable:
                    self._spool.append_record("finish", body)
                except ScaleboardError as refused:
                    if refused.status >= 500 or refused.status in (401, 403, 429):
                        self._spool.append_record("finish", body)
                    elif refused.status != 409:
                        _warn("could not finish run %s: %s" % (self.id, refused.message))
        if self._spool.pending:
            _warn(
                "the server at %s did not answer; %d points and the run's end are kept in %s. "
                "Upload them later with: python -m scaleboard sync" % (self._transport.api_url, self._spool.points, self._spool.path)
            )
            self._spool.close()
        global _current
        if _current is self:
            _current = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        if kind is None:
            self.finish()
        elif issubclass(kind, KeyboardInterrupt):
            self.finish(status="canceled", error="KeyboardInterrupt")
        else:
            self.finish(status="failed", error=_traceback_tail(kind, value, trace))
        return False

    def __repr__(self):
        return "<scaleboard.Run %s %s>" % (self.id or "(offline)", self.name or "")


class DisabledRun:
    """What init(mode="disabled") returns: the same calls, and nothing is sent anywhere."""

    id = None
    name = None
    attached = False
    should_stop = False

    def __init__(self, config=None):
        self.config = Config(jsonable(config if config is not None else {}))
        self.summary = _LocalSummary()

    def log(self, data, step=None, commit=None):
        pass

    def watch(self, model, *args, **kwargs):
        pass

    def flush(self, timeout=None):
        return True

    def finish(self, *args, **kwargs):
        global _current
        if _current is self:
            _current = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, trace):
        self.finish()
        return False


class _LocalSummary(dict):
    def __call__(self, values=None, **fields):
        self.update(values or {}, **fields)
        return self


def _summary_field(key, value):
    value = jsonable(value)
    if key in ("paramCount",) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _flatten(data, prefix=""):
    """{"val": {"loss": 1}} logs as "val/loss", as nested dicts do in wandb's charts."""
    for key, value in data.items():
        name = prefix + str(key)
        if isinstance(value, dict):
            yield from _flatten(value, name + "/")
        else:
            yield name, value


# Runs not finished when the interpreter exits are finished by the atexit hook: succeeded, or failed with
# the traceback of the exception that ended the script.
_live_runs = set()  # strong references: a run nobody kept a reference to is still finished at exit
_current = None
_uncaught = None
_previous_excepthook = sys.excepthook


def _excepthook(kind, value, trace):
    global _uncaught
    _uncaught = (kind, value, trace)
    _previous_excepthook(kind, value, trace)


sys.excepthook = _excepthook


@atexit.register
def _finish_at_exit():
    for run in list(_live_runs):
        try:
            if _uncaught is None:
                run.finish()
            elif issubclass(_uncaught[0], KeyboardInterrupt):
                run.finish(status="canceled", error="KeyboardInterrupt")
            else:
                run.finish(status="failed", error=_traceback_tail(*_uncaught))
        except Exception as error:  # noqa: BLE001 - exiting anyway; say why the run may look unfinished
            _warn("could not finish run %s at exit: %r" % (run.id, error))
