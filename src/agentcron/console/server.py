"""``agentcron console``: the web console on 127.0.0.1, its API calls forwarded to a deployed stack's API.

The browser talks to this server only (same origin, so the console needs no CORS and the stack gains nothing
public); each API call is re-sent by the CLI's client, SigV4-signed with the user's AWS credentials (IAM
mode) or carrying ``Authorization: Bearer <token>`` (JWT mode). Only the headers the API reads are
forwarded, in both directions.

Because the server adds the user's credentials, it answers only its own pages: a request whose ``Host`` is
not this server (DNS rebinding) or that another site's page sent (``Origin`` / ``Sec-Fetch-Site``) is
refused with 403 before anything is signed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from agentcron.cli.client import ApiClient, ApiUnreachable
from agentcron.console import static_reply

CONSOLE_PORT = 8788
MAX_BODY_BYTES = 1024 * 1024  # the API refuses bodies over 256 KB itself
FORWARDED_REQUEST_HEADERS = ("Accept", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key")
FORWARDED_REPLY_HEADERS = ("content-type", "etag", "location", "retry-after", "idempotency-replayed")
JSON = "application/json"


def _error(status: int, message: str, type_: str) -> tuple[int, list[tuple[str, str]], bytes]:
    import json

    body = json.dumps({"error": {"message": message, "field": None, "type": type_}}).encode()
    return status, [("Content-Type", JSON)], body


class _Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        refused = self.server.refuse(self.headers)
        if refused:
            self._send(*_error(403, refused, "forbidden"))
            return
        path = urlsplit(self.path).path
        static = static_reply(self.command, path)
        if static is not None:
            self._send(*static)
            return
        length = self.headers.get("Content-Length") or "0"
        size = int(length) if length.isdigit() else -1
        if size < 0 or size > MAX_BODY_BYTES or self.headers.get("Transfer-Encoding"):
            self._send(*_error(413, "request body too large or not sized", "payload_too_large"))
            self.close_connection = True
            return
        body = self.rfile.read(size) if size else b""
        headers = {name: value for name in FORWARDED_REQUEST_HEADERS if (value := self.headers.get(name))}
        try:
            status, reply_headers, raw = self.server.client.forward(self.command, self.path, body, headers)
        except ApiUnreachable as exc:
            self.server.on_error(str(exc))
            self._send(*_error(502, str(exc), "api_unreachable"))
            return
        kept = [(k, v) for k, v in reply_headers.items() if k.lower() in FORWARDED_REPLY_HEADERS]
        self._send(status, kept, raw)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)


class ConsoleServer(ThreadingHTTPServer):
    """The console's files plus a proxy to ``client``'s API, on ``host:port`` (0: any free port)."""

    daemon_threads = True

    def __init__(
        self,
        client: ApiClient,
        *,
        host: str = "127.0.0.1",
        port: int = CONSOLE_PORT,
        verbose: bool = False,
        on_error: Callable[[str], None] = print,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.client = client
        self.verbose = verbose
        self.on_error = on_error
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def own_hosts(self) -> set[str]:
        host, port = self.server_address[:2]
        return {f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}

    def refuse(self, headers: Any) -> str | None:
        """Why a request must not be served (it is not from this server's own pages), or None."""
        hosts = self.own_hosts()
        if (headers.get("Host") or "").lower() not in hosts:
            return "Host is not this console server"
        origin = headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() not in hosts:
            return "cross-origin requests are refused"
        if (headers.get("Sec-Fetch-Site") or "same-origin") not in ("same-origin", "none"):
            return "cross-site requests are refused"
        return None

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="console", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
