"""Scaleboard's Python client: log training runs from any framework, with the standard library only.

    import scaleboard
    run = scaleboard.init(project="Scaling laws", experiment="widths", config={"width": 256})
    run.log({"train/loss": 0.4}, step=10)
    run.summary(paramCount=250_000)
    run.finish()

Also a subset of wandb's API, so `import scaleboard as wandb` runs a typical W&B script unchanged:
`init(project=, name=, group=, config=, tags=)`, `log(dict, step=)`, `finish()`, `config`, `run`, `summary`.
"""

import os
import warnings

from . import _run as _runs
from ._http import ScaleboardError, Unreachable
from ._version import __version__
from ._api import Api
from ._run import Config, Run, Summary

__all__ = ["Api", "Config", "Run", "ScaleboardError", "Summary", "Unreachable", "finish", "init", "log", "__version__"]

# wandb.init() arguments with no meaning here: accepted and ignored, so W&B scripts run unchanged.
_WANDB_ONLY = {
    "entity", "job_type", "dir", "reinit", "resume", "id", "settings", "save_code", "anonymous", "allow_val_change",
    "sync_tensorboard", "monitor_gym", "magic", "config_exclude_keys", "config_include_keys", "force", "tensorboard",
    "resume_from", "fork_from", "fork", "mode",
}  # fmt: skip


class Error(Exception):
    """Raised for misuse of the module-level API (wandb.Error's counterpart)."""


def init(
    project=None,
    experiment=None,
    config=None,
    name=None,
    tags=None,
    group=None,
    notes=None,
    api_url=None,
    api_key=None,
    system_metrics=None,
    spool_dir=None,
    model=None,
    **wandb_options,
):
    """Starts a run (or, inside a command run, attaches to SCALEBOARD_RUN_ID) and returns it.

    The experiment defaults to `group`, else "default"; the project to $SCALEBOARD_PROJECT, $WANDB_PROJECT,
    else "default". A run still open from an earlier init() is finished first. `model` (a torch.nn.Module)
    records its parameter count as paramCount, which the scaling view needs."""
    unknown = set(wandb_options) - _WANDB_ONLY
    if unknown:
        warnings.warn("scaleboard.init() ignores %s" % ", ".join(sorted(unknown)), stacklevel=2)
    if _runs._current is not None:
        _runs._current.finish()
    if (wandb_options.get("mode") or os.environ.get("SCALEBOARD_MODE")) == "disabled":
        _runs._current = _runs.DisabledRun(config)
        return _runs._current
    run = Run(
        project=project or os.environ.get("SCALEBOARD_PROJECT") or os.environ.get("WANDB_PROJECT") or "default",
        experiment=experiment or group or os.environ.get("WANDB_RUN_GROUP") or "default",
        config=config,
        name=name,
        tags=tags,
        notes=notes,
        api_url=api_url,
        api_key=api_key,
        system_metrics=system_metrics,
        spool_dir=spool_dir,
        model=model,
    )
    _runs._current = run
    return run


def _current(what):
    if _runs._current is None:
        raise Error("call scaleboard.init() before scaleboard.%s()" % what)
    return _runs._current


def log(data, step=None, commit=None, sync=None):
    """Logs to the current run (see Run.log)."""
    _current("log").log(data, step=step, commit=commit)


def finish(exit_code=None, quiet=None):
    """Finishes the current run: flushes, then marks it succeeded (failed for a non-zero exit_code)."""
    if _runs._current is not None:
        _runs._current.finish(exit_code=exit_code)


def __getattr__(name):
    # wandb.run, wandb.config and wandb.summary follow the current run.
    if name == "run":
        return _runs._current
    if name == "config":
        return _runs._current.config if _runs._current is not None else Config()
    if name == "summary":
        return _runs._current.summary if _runs._current is not None else {}
    raise AttributeError("module 'scaleboard' has no attribute %r" % name)


# The rest of wandb's surface that training scripts touch: accepted, doing nothing.
def login(*args, **kwargs):
    return True


def watch(model=None, *args, **kwargs):
    """Records the model's parameter count as the current run's paramCount (wandb.watch's other work is not done)."""
    if _runs._current is not None and model is not None:
        _runs._current.watch(model)


def unwatch(*args, **kwargs):
    return None


def save(*args, **kwargs):
    return None


def define_metric(*args, **kwargs):
    return None


def alert(*args, **kwargs):
    return None


class Settings:
    def __init__(self, *args, **kwargs):
        self.__dict__.update(kwargs)


class _Media:
    """wandb.Image and friends: accepted so scripts run; not numbers, so log() skips them."""

    def __init__(self, *args, **kwargs):
        self.args = args


class Image(_Media):
    pass


class Histogram(_Media):
    pass


class Table(_Media):
    pass


class Video(_Media):
    pass


class Audio(_Media):
    pass


class Html(_Media):
    pass
