"""Values as Scaleboard's JSON carries them: NaN and infinities as the strings "NaN", "Infinity", "-Infinity"."""

import json
import math
import numbers

MAX_STEP = 2_147_483_647
MAX_KEY_LENGTH = 200


def _scalar(value):
    """A Python number from a bool, int, float, numpy scalar or one-element tensor; None if it is not one."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return value
    item = getattr(value, "item", None)  # numpy scalars, torch and jax one-element tensors
    if callable(item):
        try:
            value = item()
        except (ValueError, RuntimeError, TypeError):
            return None
        return _scalar(value) if not hasattr(value, "item") else None
    return None


def metric_value(value):
    """The JSON form of a metric value, or None when the value is not a number (an image, a string)."""
    number = _scalar(value)
    if number is None:
        return None
    if isinstance(number, int):
        # Beyond a double's range an int cannot be stored; as a float it keeps its magnitude.
        return number if abs(number) < 2**53 else float(number)
    number = float(number)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return number


def from_wire(value):
    """A value read back from the server: "NaN"/"Infinity"/"-Infinity" become floats again."""
    if value == "NaN":
        return math.nan
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    return value


def jsonable(value, depth=0):
    """Config and summary values as JSON: non-finite floats as strings, tuples as lists, numpy and torch
    scalars as numbers, argparse Namespaces as dicts, anything else as its str()."""
    if depth > 32:
        return str(value)
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, dict) or (hasattr(value, "keys") and hasattr(value, "__getitem__")):
        return {str(key): jsonable(value[key], depth + 1) for key in value.keys()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(item, depth + 1) for item in value]
    number = metric_value(value)
    if number is not None:
        return number
    tolist = getattr(value, "tolist", None)  # numpy arrays, tensors
    if callable(tolist):
        try:
            return jsonable(tolist(), depth + 1)
        except Exception:  # noqa: BLE001 - an odd object is stored as its text rather than lost
            return str(value)
    if hasattr(value, "__dict__") and type(value).__module__ == "argparse":
        return jsonable(vars(value), depth + 1)
    return str(value)


def dumps(value):
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
