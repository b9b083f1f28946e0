"""HTTP to Scaleboard's /api/v1 with urllib: JSON in and out, retries with backoff that honour Retry-After."""

import email.utils
import json
import os
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from ._version import __version__

DEFAULT_API_URL = "http://localhost:3000/api/v1"


class ScaleboardError(Exception):
    """The server answered with an error (4xx or 5xx); `status` is the HTTP status."""

    def __init__(self, status, message, retry_after=None):
        super().__init__("HTTP %d: %s" % (status, message))
        self.status = status
        self.message = message
        self.retry_after = retry_after


class Unreachable(Exception):
    """No answer from the server: refused, reset, timed out or a name that does not resolve."""


def normalize_api_url(url):
    """`http://host:3000`, `http://host:3000/` and `http://host:3000/api/v1` all mean the same API."""
    url = (url or DEFAULT_API_URL).rstrip("/")
    if not url.endswith("/api/v1"):
        url += "/api/v1"
    return url


def retryable(error):
    if isinstance(error, Unreachable):
        return True
    return isinstance(error, ScaleboardError) and (error.status in (408, 429) or error.status >= 500)


def _retry_after_seconds(value):
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Transport:
    def __init__(self, api_url=None, api_key=None, timeout=30.0):
        self.api_url = normalize_api_url(api_url or os.environ.get("SCALEBOARD_API_URL"))
        self.api_key = api_key if api_key is not None else os.environ.get("SCALEBOARD_API_KEY", "")
        self.timeout = timeout

    def request(self, method, path, body=None, query=None, raw_body=None):
        """One attempt. Returns the parsed JSON answer; raises ScaleboardError or Unreachable."""
        url = self.api_url + path
        if query:
            pairs = [(name, value) for name, value in query.items() if value is not None]
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        data = raw_body
        if data is None and body is not None:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
        headers = {"Accept": "application/json", "User-Agent": "scaleboard-python/" + __version__}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = "Bearer " + self.api_key
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            text = error.read()
            message = text.decode("utf-8", "replace")
            try:
                message = json.loads(message)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = message[:500] or error.reason
            raise ScaleboardError(
                error.code, message, _retry_after_seconds(error.headers.get("Retry-After"))
            ) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as error:
            raise Unreachable("%s %s: %s" % (method, url, getattr(error, "reason", error))) from None
        return json.loads(text) if text.strip() else {}

    def call(self, method, path, body=None, query=None, raw_body=None, deadline=None, stop=None):
        """Retries network errors, 408, 429 and 5xx with exponential backoff and full jitter until
        `deadline` (time.monotonic()); a Retry-After from the server is waited at least.
        `stop` (a threading.Event) cuts the wait short; the last error is raised when time is up."""
        attempt = 0
        while True:
            try:
                return self.request(method, path, body=body, query=query, raw_body=raw_body)
            except (ScaleboardError, Unreachable) as error:
                if not retryable(error):
                    raise
                attempt += 1
                wait = random.uniform(0, min(30.0, 0.25 * 2**attempt))
                hinted = getattr(error, "retry_after", None)
                if hinted is not None:
                    wait = max(wait, hinted)
                if deadline is None or time.monotonic() + wait > deadline:
                    raise
                if stop is not None:
                    if stop.wait(wait):
                        raise
                else:
                    time.sleep(wait)
