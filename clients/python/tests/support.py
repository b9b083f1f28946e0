"""What the server tests share: the server's address from the environment, and a proxy in front of it
that counts requests, answers with injected errors, and can go away and come back on the same port."""

import http.server
import os
import sys
import socket
import threading
import unittest
import urllib.error
import urllib.request
import uuid

try:
    import scaleboard  # noqa: F401 - installed, or on PYTHONPATH
except ImportError:  # run from the source tree: clients/python is the folder above this one
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

API_URL = os.environ.get("SCALEBOARD_API_URL", "")
API_KEY = os.environ.get("SCALEBOARD_API_KEY", "")

needs_server = unittest.skipUnless(
    API_URL and API_KEY, "set SCALEBOARD_API_URL and SCALEBOARD_API_KEY (test/integration/python-client.test.ts does)"
)


def unique(name):
    return "%s-%s" % (name, uuid.uuid4().hex[:8])


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Proxy:
    """An HTTP proxy to the real server. `faults` is a list of (status, headers) answered instead of
    forwarding, one per request; `requests` records (method, path, body bytes) of every request forwarded."""

    def __init__(self, upstream=API_URL):
        self.upstream = upstream.rstrip("/")
        self.origin = self.upstream[: self.upstream.index("/api/v1")] if "/api/v1" in self.upstream else self.upstream
        self.port = free_port()
        self.requests = []
        self.faults = []
        self.lock = threading.Lock()
        self._server = None

    @property
    def url(self):
        return "http://127.0.0.1:%d/api/v1" % self.port

    def start(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    fault = proxy.faults.pop(0) if proxy.faults else None
                if fault is not None:
                    status, headers = fault
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    payload = b'{"error":{"message":"injected by the test proxy"}}'
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                with proxy.lock:
                    proxy.requests.append((self.command, self.path, body))
                headers = {name: value for name, value in self.headers.items() if name.lower() not in ("host", "connection")}
                request = urllib.request.Request(proxy.origin + self.path, data=body, method=self.command, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, answer, answer_headers = response.status, response.read(), response.headers
                except urllib.error.HTTPError as error:
                    status, answer, answer_headers = error.code, error.read(), error.headers
                self.send_response(status)
                for name in ("Content-Type", "Retry-After"):
                    if answer_headers.get(name):
                        self.send_header(name, answer_headers[name])
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        """The port refuses connections until start() again."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def posts(self, suffix):
        with self.lock:
            return [(path, body) for method, path, body in self.requests if method == "POST" and path.endswith(suffix)]
