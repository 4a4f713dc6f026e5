"""The local Lambda endpoint: the one Lambda API call the product makes, an asynchronous ``Invoke`` of the
claim function (a wake, :class:`agentcron.waker.ClaimWaker`), answered as Lambda answers it.

boto3 reaches it through ``AWS_ENDPOINT_URL_LAMBDA``, like every other client of the local stack reaches
moto; the invocation itself runs on the local claim loop (:meth:`agentcron.local.loops.ClaimLoop.invoke`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLAIM_FUNCTION = "ClaimFunction"  # CLAIM_FUNCTION_NAME of the local stack
PREFIX = "/2015-03-31/functions/"


class LambdaEndpoint:
    def __init__(self, invoke_claim: Callable[[dict[str, Any]], None], host: str = "127.0.0.1") -> None:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, payload = endpoint.handle(self.path, self.headers.get("X-Amz-Invocation-Type"), body)
                data = json.dumps(payload).encode() if payload else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status >= 400:
                    self.send_header("X-Amzn-ErrorType", str(payload.get("Type", "")))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        self.invoke_claim = invoke_claim
        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="lambda-endpoint", daemon=True)

    def handle(self, path: str, invocation_type: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        if not path.startswith(PREFIX) or not path.endswith("/invocations"):
            return 404, {"Type": "User", "message": f"unknown path {path}"}
        name = path[len(PREFIX) : -len("/invocations")]
        if name != CLAIM_FUNCTION:
            return 404, {"Type": "ResourceNotFoundException", "message": f"Function not found: {name}"}
        if invocation_type != "Event":
            return 400, {"Type": "InvalidParameterValueException", "message": "only Event invocations"}
        self.invoke_claim(json.loads(body or b"{}"))
        return 202, {}

    def start(self) -> LambdaEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
