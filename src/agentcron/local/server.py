"""The local stack's moto server: moto's own WSGI application behind an HTTP/1.1 keep-alive front end.

``moto.server.ThreadedMotoServer`` serves moto with werkzeug's development server, which closes the
connection after every response: each AWS call then costs a TCP connect on the client, an accept and a new
thread on the server, and on two cores that is a good part of what a call costs. :class:`MotoServer` serves
the very same application (``DomainDispatcherApplication(create_backend_app)``, every service, every
route) with werkzeug's request handler taught to keep the connection open, so botocore's connection pool
reuses it; DynamoDB requests skip moto's per-request routing and go straight to moto's DynamoDB handler.

A server can run on a thread of this process (:class:`MotoServer`) or in a process of its own
(:class:`ServerProcess`, ``python -m agentcron.local.server``), so the fake and the handlers do not share
one interpreter lock. Either way the process that hosts the server installs what the local stack needs of
moto (:func:`prepare_moto`): DynamoDB's atomicity (:mod:`agentcron.local.atomic`), whose lock must live
where moto's state lives, and a few costs of the fake taken away without changing what moto answers
(look-ups cached, update expressions parsed once, SQS's clock read cheaply, SQS's long poll not spinning).
Each patch checks the moto code it replaces and refuses to install if that changed.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Hop-by-hop headers the front end sets itself.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})
IDLE_CONNECTION_SECONDS = 300  # a keep-alive connection nobody used for this long is closed

_prepared = False
_prepare_lock = threading.Lock()


def prepare_moto() -> None:
    """What the process hosting moto installs once: atomic DynamoDB, cheap dispatch, a calmer SQS."""
    global _prepared
    with _prepare_lock:
        if _prepared:
            return
        from agentcron.local.atomic import serialize_moto_dynamodb

        serialize_moto_dynamodb()
        _cache_dispatch_lookups()
        _cache_update_expressions()
        _cheap_sqs_clock()
        _calm_sqs_long_polls()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call otherwise
        _prepared = True


def _cache_dispatch_lookups() -> None:
    """Cache two look-ups moto's dispatch makes on every request, whose answers never change at run time.

    ``moto.backends.list_of_moto_modules`` lists moto's package directory on disk (under the dispatcher's
    global lock); ``moto.core.utils.method_names_from_class`` runs ``inspect.getmembers`` over a response
    class to find its action methods.
    """
    from moto import backends
    from moto.core import responses

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    names = functools.lru_cache(maxsize=None)(responses.method_names_from_class)
    responses.method_names_from_class = names  # type: ignore[assignment]


def _cache_update_expressions() -> None:
    """Parse each DynamoDB update expression once: the claim and the run transitions repeat a few dozen.

    moto parses ``UpdateExpression`` twice per update (the request check and the update itself) into a tree
    that nothing changes afterwards (its validator works on a deep copy of it), so the tree of an
    expression string is kept. A string that does not parse raises every time, as before.
    """
    import inspect

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import Validator

    if "deepcopy(expression)" not in inspect.getsource(Validator.__init__):
        raise RuntimeError("moto's update expression validator changed: update agentcron.local.server")
    make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    cached = functools.lru_cache(maxsize=1024)(lambda cls, text: make(cls, text))
    UpdateExpressionParser.make = classmethod(lambda cls, text: cached(cls, text))  # type: ignore[assignment]


def _cheap_sqs_clock() -> None:
    """Give moto's SQS the same clock values for less: it reads "now" several times per queued message.

    With a thousand messages in a FIFO queue, one ReceiveMessage otherwise spends seconds in ``datetime``
    arithmetic (``unix_time()`` = seconds since the epoch, the same number ``time.time()`` returns).
    """
    from moto.sqs import models as sqs_models

    unix_time, unix_time_millis = sqs_models.unix_time, sqs_models.unix_time_millis

    def fast_unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else unix_time(dt)

    def fast_unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else unix_time_millis(dt)

    sqs_models.unix_time, sqs_models.unix_time_millis = fast_unix_time, fast_unix_time_millis


def _calm_sqs_long_polls() -> None:
    """Stop moto's SQS long poll from spinning while a FIFO queue holds messages it cannot hand out yet.

    ``ReceiveMessage`` with ``WaitTimeSeconds`` loops "scan the queue, then ``wait_for_messages``", and that
    wait returns at once whenever the queue holds any visible message, even one of a message group another
    consumer is still processing: the poll then rescans the queue flat out for the whole wait, one core's
    worth per idle executor worker. Here, in that case, the wait lasts until a message is added or 50 ms,
    so such a message is handed out at most 50 ms after its group frees; with no visible message, moto's
    own wait. Refuses (``RuntimeError``) if moto's queue no longer looks as expected.
    """
    import inspect

    from moto.sqs.models import Queue

    source = inspect.getsource(Queue.wait_for_messages)
    if "wait_for(lambda: self.messages" not in source or not hasattr(Queue, "messages"):
        raise RuntimeError("moto's SQS Queue.wait_for_messages changed: update agentcron.local.server")

    def wait_for_messages(self: Any, timeout: int) -> None:
        with self._messages_lock:
            if self.messages:  # visible, but not for this caller yet (a busy FIFO group)
                self._messages_lock.wait(timeout=min(timeout, 0.05))
            else:
                self._messages_lock.wait_for(lambda: self.messages, timeout=timeout)

    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def _handler_class() -> type:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class KeepAliveRequestHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        """moto's werkzeug request handler, minus "Connection: close" after every response.

        The request body is read in full before the application runs (the next request starts right after
        it on the same connection) and the response goes out with its Content-Length.
        """

        timeout = IDLE_CONNECTION_SECONDS

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            if format.startswith("Request timed out"):
                return  # a keep-alive connection idle for IDLE_CONNECTION_SECONDS was closed: not an error
            super().log_error(format, *args)

        def run_wsgi(self) -> None:
            environ = self.make_environ()
            stream = environ["wsgi.input"]
            if environ.pop("wsgi.input_terminated", False):  # chunked: werkzeug de-chunks it
                body = stream.read()
                environ.pop("HTTP_TRANSFER_ENCODING", None)
            else:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = stream.read(length) if length > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            self.environ = environ

            state: dict[str, Any] = {}

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                state["status"], state["headers"] = status, headers
                return lambda data: state.setdefault("written", []).append(data)

            try:
                result = self.server.app(environ, start_response)
                try:
                    data = b"".join([*state.get("written", []), *result])
                finally:
                    if hasattr(result, "close"):
                        result.close()
            except Exception:  # noqa: BLE001 - the client gets a 500, the server goes on
                logging.getLogger(__name__).exception("moto failed on %s %s", self.command, self.path)
                self.close_connection = True
                self.send_response(500, "Internal Server Error")
                self.send_header("Content-Length", "0")
                self.send_header("Connection", "close")
                self.end_headers()
                return
            code, _, message = state["status"].partition(" ")
            self.send_response(int(code), message)
            for key, value in state["headers"]:
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            # Headers and body in one write: two small writes on a kept-alive connection meet the peer's
            # delayed ACK (tens of milliseconds per call).
            self._headers_buffer.append(b"\r\n")
            if self.command != "HEAD":
                self._headers_buffer.append(data)
            self.wfile.write(b"".join(self._headers_buffer))
            self._headers_buffer = []
            self.wfile.flush()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # one line per AWS call would drown everything else

    return KeepAliveRequestHandler


def _application(dispatcher: Any) -> Any:
    """moto's WSGI application, with DynamoDB requests handed straight to moto's DynamoDB handler.

    moto routes every request by its host and headers (``DomainDispatcherApplication``), then through a
    Flask app built per service, to the service's ``dispatch``; for DynamoDB (``X-Amz-Target:
    DynamoDB_20120810.*`` on ``/``) that always ends in ``DynamoHandler.dispatch``, so it is called directly,
    with the request type moto's Flask app would have built. Everything else takes moto's own route.
    """
    from botocore.exceptions import ClientError
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_api import recorder
    from moto.moto_server.werkzeug_app import DISABLE_GLOBAL_CORS, BackendRequest
    from werkzeug.http import HTTP_STATUS_CODES

    dynamodb = DynamoHandler.dispatch
    cors = not DISABLE_GLOBAL_CORS

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/" or not environ.get("HTTP_X_AMZ_TARGET", "").startswith(
            "DynamoDB_20120810."
        ):
            return dispatcher(environ, start_response)
        request = BackendRequest(environ)
        recorder._record_request(request)
        try:
            result = dynamodb(request, request.raw_url, dict(request.headers))
        except ClientError as exc:  # as moto's Flask view does
            result = 400, {}, exc.response["Error"]["Message"]
        status, headers, body = result if len(result) == 3 else (200, {}, result)
        data = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        code = int(status)
        out = [(str(k), str(v)) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP and k != "status"]
        if cors:
            out.append(("Access-Control-Allow-Origin", "*"))  # what moto's Flask app adds
        start_response(f"{code} {HTTP_STATUS_CODES.get(code, 'Unknown')}", out)
        return [data]

    return app


class MotoServer:
    """A moto server on a thread of this process; the same interface as ``moto.server.ThreadedMotoServer``."""

    def __init__(self, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (ip_address, port)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        prepare_moto()
        app = _application(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._address[0], self._address[1], app, threaded=True, request_handler=_handler_class()
        )
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto-server", daemon=True)
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("call start() first")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


class ServerProcess:
    """``python -m agentcron.local.server`` as a child process: its own interpreter lock, moto's state inside.

    The child prints its address on its first line and stops when its stdin closes, so it never outlives
    this process, however this one ends.
    """

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.child: subprocess.Popen[str] | None = None
        self.endpoint_url = ""

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    def start(self) -> str:
        self.child = subprocess.Popen(
            [sys.executable, "-m", "agentcron.local.server", "--port", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        address = (self.child.stdout.readline() if self.child.stdout else "").strip()
        if not address:
            self.stop()
            raise RuntimeError("the moto server process did not start")
        self.endpoint_url = f"http://{address}"
        return self.endpoint_url

    def stop(self) -> None:
        if self.child is None:
            return
        if self.child.stdin:
            self.child.stdin.close()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        if self.child.stdout:
            self.child.stdout.close()


@contextmanager
def server_process(port: int = 0) -> Iterator[ServerProcess]:
    """A started :class:`ServerProcess`, stopped on exit."""
    server = ServerProcess(port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m agentcron.local.server", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us in order
    server = MotoServer("127.0.0.1", args.port)
    server.start()
    host, port = server.get_host_and_port()
    print(f"{host}:{port}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin (or dies)
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
