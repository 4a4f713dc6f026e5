"""The local stand-in for API Gateway: HTTP on 127.0.0.1:8787 -> HTTP API (payload 2.0) event -> handler.

It serves the very handler SAM deploys (``functions/api/app.py``), with the event shape API Gateway builds:
lower-case headers (repeated ones joined by commas), cookies apart, the path percent-decoded in ``rawPath``,
decoded ``queryStringParameters`` beside the ``rawQueryString``, a binary body base64-encoded. The response
is the handler's ``{statusCode, headers, cookies, body, isBase64Encoded}`` written back as HTTP.

Requests are served concurrently, each by a free handler of the pool (one per simulated Lambda container:
a resolver is not thread-safe, so a handler serves one request at a time); ``serve_api`` starts
``API_CONTAINERS`` of them. Without ``auth="jwt"`` there is no
authorisation: the handler (in IAM mode) sees no IAM context and treats every request as the local
administrator. With ``auth="jwt"`` it plays API Gateway's JWT authorizer AFTER verification: a request
without ``Authorization: Bearer <JWT>`` (or whose token is not a JWT) is a 401 ``{"message":"Unauthorized"}``
like API Gateway's; otherwise the token's claims (values as strings, lists as ``[a b]``, as API Gateway
renders them) and scopes (its ``scope`` / ``scp`` claim) go into ``requestContext.authorizer.jwt``. NOTHING
is verified locally: not the signature, the issuer, the audience nor the expiry.

The web console (``agentcron.console``) is served beside the API on the same port: ``/console`` and its files
are answered here, ``/`` redirects to it, every other path goes to the handler.
"""

from __future__ import annotations

import base64
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from agentcron.console import static_reply

API_PORT = 8787
HANDLER_TIMEOUT_SECONDS = 30  # API Gateway's integration limit
API_CONTAINERS = 4  # handlers serving at the same time
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
API_ID = "local"

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_event(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    source_ip: str = "127.0.0.1",
    now: datetime | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway hands a ``ANY /{proxy+}`` integration for this request.

    ``target`` is the request target (``/schedules?enabled=true``), ``headers`` as received (any case,
    repeats allowed), ``body`` the raw bytes.
    """
    now = now or datetime.now(UTC)
    split = urlsplit(target)
    path = unquote(split.path) or "/"
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /{proxy+}",
        "rawPath": path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": joined.get("host", f"127.0.0.1:{API_PORT}"),
            "domainPrefix": API_ID,
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id or uuid.uuid4().hex[:16],
            "routeKey": "ANY /{proxy+}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "pathParameters": {"proxy": path.lstrip("/")},
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body:
        try:
            event["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


UNAUTHORIZED = (401, [("Content-Type", "application/json")], b'{"message":"Unauthorized"}')


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWT, unverified; None when ``token`` is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _claim_text(value: Any) -> str:
    """A claim value as API Gateway's JWT authorizer passes it: text; a list as ``[a b]``."""
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict,)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def jwt_authorizer(headers: list[tuple[str, str]]) -> dict[str, Any] | None:
    """``requestContext.authorizer`` for a request bearing a JWT (unverified); None without one."""
    raw = next((value for name, value in headers if name.lower() == "authorization"), "")
    scheme, _, token = raw.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    claims = jwt_claims(token.strip())
    if claims is None:
        return None
    scope = claims.get("scope", claims.get("scp"))
    scopes = scope if isinstance(scope, list) else str(scope or "").split()
    return {
        "jwt": {
            "claims": {name: _claim_text(value) for name, value in claims.items()},
            "scopes": [str(s) for s in scopes] or None,
        }
    }


def response_parts(response: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) of a payload 2.0 response; a bare value is a 200 JSON body, as API Gateway
    treats it."""
    if not isinstance(response, dict) or "statusCode" not in response:
        return 200, [("Content-Type", "application/json")], json.dumps(response).encode()
    body = response.get("body") or ""
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode("utf-8")
    headers = [(str(k), str(v)) for k, v in (response.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(cookie)) for cookie in response.get("cookies") or []]
    return int(response["statusCode"]), headers, raw


class _Context:
    """The Lambda context parts the handler reads, with API Gateway's 30 s deadline."""

    function_name = "ApiFunction"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    log_group_name = "/aws/lambda/ApiFunction"
    log_stream_name = "local"

    def __init__(self, request_id: str) -> None:
        self.aws_request_id = request_id
        self._deadline = time.monotonic() + HANDLER_TIMEOUT_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        if self.server.console:
            static = static_reply(self.command, urlsplit(self.path).path)
            if static is not None:
                self._send(*static)
                return
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._send(411, [("Content-Type", "application/json")], b'{"message":"Length Required"}')
            return
        size = int(length) if length and length.isdigit() else 0
        if size > MAX_BODY_BYTES:
            self._send(413, [("Content-Type", "application/json")], b'{"message":"Request Entity Too Large"}')
            self.close_connection = True
            return
        body = self.rfile.read(size) if size else b""
        authorizer = None
        if self.server.auth == "jwt":
            authorizer = jwt_authorizer(list(self.headers.items()))
            if authorizer is None:
                self._send(*UNAUTHORIZED)
                return
        request_id = uuid.uuid4().hex[:16]
        event = build_event(
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            source_ip=self.client_address[0],
            request_id=request_id,
        )
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        try:
            handler = self.server.pool.get()
            try:
                response = handler(event, _Context(request_id))
            finally:
                self.server.pool.put(handler)
            status, headers, raw = response_parts(response)
        except Exception as exc:  # what API Gateway answers when the integration fails
            self.server.on_error(f"api handler failed: {exc!r}")
            status, headers, raw = (
                500,
                [("Content-Type", "application/json")],
                b'{"message":"Internal Server Error"}',
            )
        self._send(status, headers, raw)

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, CONNECT, PROPFIND...) goes to the handler too, as API Gateway's
        ``ANY /{proxy+}`` route sends it: the API answers 405 with ``Allow`` in its JSON error shape (the
        base class would answer 501 in HTML)."""
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            super().log_message(format, *args)


class ApiServer(ThreadingHTTPServer):
    """An HTTP server around ``handler`` on ``host:port`` (port 0: any free port), in a daemon thread."""

    daemon_threads = True

    def __init__(
        self,
        handler: Handler | list[Handler],
        *,
        host: str = "127.0.0.1",
        port: int = API_PORT,
        verbose: bool = False,
        on_error: Callable[[str], None] = print,
        console: bool = True,
        auth: str = "none",
    ) -> None:
        super().__init__((host, port), _RequestHandler)
        self.console = console  # serve the web console at /console
        self.auth = auth  # "none", or "jwt": a bearer JWT required, its claims passed on unverified
        handlers = handler if isinstance(handler, list) else [handler]
        self.handler = handlers[0]
        self.pool: queue.Queue[Handler] = queue.Queue()  # free containers; each serves one request at a time
        for each in handlers:
            self.pool.put(each)
        self.verbose = verbose
        self.on_error = on_error
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_api(
    handler: Handler | None = None, *, host: str = "127.0.0.1", port: int = API_PORT, **kwargs: Any
) -> ApiServer:
    """Serve ``handler`` (default: ``functions/api/app.py``'s ``lambda_handler``); returns the running server.

    The default handler reads its resources from the environment (``start_local_stack`` sets it).
    """
    handlers: Handler | list[Handler]
    if handler is None:
        from agentcron.local.handlers import load_handler

        containers = [load_handler("api", container) for container in range(API_CONTAINERS)]
        for container in containers:
            # Each resolver is built now, one after the other: building one binds the shared module-level
            # routers to it, which must never happen while another container serves a request.
            container.api_handler()
        handlers = [container.lambda_handler for container in containers]
    else:
        handlers = handler
    return ApiServer(handlers, host=host, port=port, **kwargs).start()
