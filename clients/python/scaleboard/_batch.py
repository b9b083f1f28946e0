"""Points split into request bodies within the server's limits (server/http/v1-schemas.ts)."""

from ._values import dumps

# The server's limits: 10,000 points and 1,000,000 bytes per request; the body limit is kept with a margin.
MAX_POINTS_PER_REQUEST = 10_000
MAX_BODY_BYTES = 1_000_000
BODY_BYTES_TARGET = MAX_BODY_BYTES - 4_096
_OPEN = b'{"points":['
_CLOSE = b"]}"


def encode_point(point):
    return dumps(point).encode("utf-8")


def bodies(encoded, max_points=MAX_POINTS_PER_REQUEST, max_bytes=BODY_BYTES_TARGET):
    """(body bytes, the encoded points in it) for consecutive runs of already-encoded points."""
    batch, size = [], len(_OPEN) + len(_CLOSE)
    for point in encoded:
        if batch and (len(batch) >= max_points or size + len(point) + 1 > max_bytes):
            yield _OPEN + b",".join(batch) + _CLOSE, batch
            batch, size = [], len(_OPEN) + len(_CLOSE)
        batch.append(point)
        size += len(point) + 1
    if batch:
        yield _OPEN + b",".join(batch) + _CLOSE, batch
