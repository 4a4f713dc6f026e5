"""``http_fetch``: GET a public http(s) URL, with size, time and redirect limits, through the network guard.

Only GET; only ``http`` and ``https``; no credentials in the URL. Every hop (the first request and each
redirect, followed here by hand, at most ``max_redirects``) is checked by :mod:`.netguard` and connected to
the checked address itself; TLS still verifies the certificate against the host name. The body is read up to
``max_bytes`` (the rest is cut and the reply says so). Text bodies (text/*, JSON, XML, JavaScript) are
returned decoded; other content types are described, not shown.

One deadline covers the whole fetch (connect, TLS, headers, body, every redirect): ``timeout_seconds``, or
less when the run has less time left (:class:`~agentcron.agent.base.CallLimits`: ``max_duration_seconds``,
the invocation's time). A socket timeout is per read, so a server trickling a byte at a time would outlast it;
a watchdog thread therefore shuts the socket at the deadline, or as soon as the run's cancel is requested.
Anything wrong with the URL is an ``error:`` reply to the model, never an exception.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import SplitResult, urljoin, urlsplit

from pydantic import BaseModel, Field

from agentcron.agent.base import call_limits
from agentcron.agent.tools.base import Tool
from agentcron.agent.tools.netguard import (
    AddressRefused,
    Connector,
    Resolver,
    checked_addresses,
    direct_connect,
    system_resolver,
)
from agentcron.exceptions import AgentcronError

MAX_BYTES = 200_000
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")
_CHUNK = 16 * 1024
WATCH_SECONDS = 0.2  # how often the watchdog asks whether the run's cancel was requested


T = TypeVar("T")


def _never() -> bool:
    return False


class FetchFailed(AgentcronError):
    """The fetch could not complete (timeout, cancel, connection, protocol, too many redirects)."""


@dataclass
class _Deadline:
    """When a fetch must end, and whether it must end sooner because the run was cancelled."""

    at: float
    seconds: float  # what the deadline allows in all (for the message)
    cancelled: Callable[[], bool]
    reason: str | None = None  # set by the watchdog when it ended the fetch

    def failure(self) -> FetchFailed:
        return FetchFailed(self.reason or f"timed out after {self.seconds:g} s")


@dataclass(frozen=True)
class FetchResult:
    """A fetched response: the final URL, status, type and (bounded) body."""

    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    truncated: bool


class HttpFetchArguments(BaseModel):
    url: str = Field(description="The http:// or https:// URL to GET")
    max_bytes: int = Field(default=50_000, ge=1, le=MAX_BYTES, description="Read at most this many bytes")


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a fixed, already checked address (the Host header keeps the name)."""

    def __init__(self, host: str, port: int, *, address: str, connector: Connector, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address, self._connector = address, connector

    def connect(self) -> None:
        self.sock = self._connector(self._address, self.port, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a fixed address; the certificate is verified against the host name (SNI too)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        address: str,
        connector: Connector,
        timeout: float,
        context: ssl.SSLContext,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address, self._connector, self._tls = address, connector, context

    def connect(self) -> None:
        # The plain socket is kept while the handshake runs, so the watchdog can shut a trickling handshake.
        self.sock = self._connector(self._address, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self.host)


class Fetcher:
    """GETs through the guard; every collaborator that touches the network is injectable."""

    def __init__(
        self,
        *,
        resolver: Resolver = system_resolver,
        connector: Connector = direct_connect,
        timeout_seconds: float = 10.0,
        max_redirects: int = 5,
        clock: Callable[[], float] = time.monotonic,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.resolver, self.connector = resolver, connector
        self.timeout_seconds, self.max_redirects, self.clock = timeout_seconds, max_redirects, clock
        self._tls = tls

    @property
    def tls(self) -> ssl.SSLContext:
        """The TLS context (the system's trust store), built on the first https fetch: it is not free."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def fetch(
        self,
        url: str,
        max_bytes: int,
        *,
        seconds: float | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> FetchResult:
        """Follow ``url`` to a non-redirect answer within ``timeout_seconds`` (or ``seconds``, when less),
        ending early if ``cancelled()``. AddressRefused / FetchFailed explain a refusal."""
        limit = self.timeout_seconds if seconds is None else max(0.0, min(self.timeout_seconds, seconds))
        deadline = _Deadline(self.clock() + limit, limit, cancelled)
        for _ in range(self.max_redirects + 1):
            status, headers, body, truncated = self._get(url, max_bytes, deadline)
            location = headers.get("location")
            if status in REDIRECTS and location:
                try:
                    url = urljoin(url, location.strip())
                except ValueError as exc:
                    raise FetchFailed(f"redirect to an invalid URL: {exc}") from None
                continue
            return FetchResult(url, status, headers.get("content-type", ""), body, truncated)
        raise FetchFailed(f"more than {self.max_redirects} redirects")

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body`` to an https ``url`` through the same guard; the status (redirects not followed:
        a webhook that redirects is answered like any other status). For signed notifications."""
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise AddressRefused("only https URLs are posted to")
        if parts.username or parts.password:
            raise AddressRefused("URLs with credentials are not posted to")
        deadline = _Deadline(self.clock() + self.timeout_seconds, self.timeout_seconds, _never)

        def exchange(connection: Any) -> int:
            connection.request("POST", _target(parts), body=body, headers={**headers, "Connection": "close"})
            response = connection.getresponse()
            response.read(_CHUNK)
            return response.status

        return self._exchange("https", parts.hostname or "", parts.port or 443, deadline, exchange)

    def _get(self, url: str, max_bytes: int, deadline: _Deadline) -> tuple[int, dict[str, str], bytes, bool]:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)  # a malformed port raises here
        except ValueError as exc:
            raise FetchFailed(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise AddressRefused(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
        if parts.username or parts.password:
            raise AddressRefused("URLs with credentials are not fetched")

        def exchange(connection: Any) -> tuple[int, dict[str, str], bytes, bool]:
            connection.request("GET", _target(parts), headers=_HEADERS)
            response = connection.getresponse()
            headers = {k.lower(): v for k, v in response.getheaders()}
            body, truncated = self._read(response, max_bytes, deadline)
            return response.status, headers, body, truncated

        return self._exchange(parts.scheme, parts.hostname or "", port, deadline, exchange)

    def _exchange(
        self, scheme: str, host: str, port: int, deadline: _Deadline, exchange: Callable[[Any], T]
    ) -> T:
        """``exchange`` with the first of ``host``'s checked addresses that answers, all within ``deadline``
        (a watchdog shuts the socket at the deadline or on a cancel request)."""
        last_error: Exception | None = None
        for address in checked_addresses(host, port, self.resolver):
            if deadline.cancelled():
                raise FetchFailed(_CANCELLED)
            remaining = deadline.at - self.clock()
            if remaining <= 0:
                break
            connection = self._connection(scheme, host, port, address, remaining)
            with self._watchdog(connection, deadline):
                try:
                    return exchange(connection)
                except (OSError, http.client.HTTPException) as exc:
                    last_error = exc
                finally:
                    connection.close()
            if deadline.reason:
                raise deadline.failure()
        if last_error is None or self.clock() >= deadline.at or isinstance(last_error, TimeoutError):
            raise deadline.failure()
        raise FetchFailed(f"{host}: {last_error}")

    @contextmanager
    def _watchdog(self, connection: Any, deadline: _Deadline) -> Iterator[None]:
        """While the ``with`` runs, shut ``connection``'s socket at the deadline or on a cancel request:
        whatever read or handshake is waiting returns at once."""
        done = threading.Event()

        def watch() -> None:
            while True:
                remaining = deadline.at - self.clock()
                if remaining <= 0:
                    deadline.reason = deadline.reason or f"timed out after {deadline.seconds:g} s"
                    break
                if done.wait(min(WATCH_SECONDS, remaining)):
                    return
                if deadline.cancelled():
                    deadline.reason = _CANCELLED
                    break
            _shut(connection)

        watcher = threading.Thread(target=watch, name="http-fetch-deadline", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()

    def _connection(self, scheme: str, host: str, port: int, address: str, timeout: float) -> Any:
        if scheme == "https":
            return _PinnedHTTPS(
                host, port, address=address, connector=self.connector, timeout=timeout, context=self.tls
            )
        return _PinnedHTTP(host, port, address=address, connector=self.connector, timeout=timeout)

    def _read(self, response: Any, max_bytes: int, deadline: _Deadline) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            if deadline.reason or self.clock() > deadline.at:
                raise deadline.failure()
            chunk = response.read1(min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        return body[:max_bytes], len(body) > max_bytes


def _shut(connection: Any) -> None:
    """End a fetch at its deadline: whatever read is waiting returns at once."""
    sock = getattr(connection, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


_CANCELLED = "cancelled: the run's cancel was requested"

_HEADERS = {
    "User-Agent": "agentcron-http-fetch/1",
    "Accept": "text/*, application/json;q=0.9, */*;q=0.5",
    "Accept-Encoding": "identity",
    "Connection": "close",
}


def _target(parts: SplitResult) -> str:
    """The request target of a URL: its path (``/`` when empty) and query."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _charset(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            return value.strip().strip('"')
    return "utf-8"


def describe(result: FetchResult) -> str:
    """The reply the model reads: status line, final URL, type, then the text (or a note for binaries)."""
    kind = result.content_type.split(";")[0].strip().lower()
    cut = f" (cut at {len(result.body)} bytes)" if result.truncated else ""
    kind_line = f"content-type: {result.content_type or 'unknown'}{cut}"
    head = f"status: {result.status}\nurl: {result.url}\n{kind_line}\n\n"
    if not kind or any(marker in kind for marker in _TEXT_TYPES):
        try:
            text = result.body.decode(_charset(result.content_type), errors="replace")
        except LookupError:
            text = result.body.decode("utf-8", errors="replace")
        return head + text
    return head + f"({len(result.body)} bytes of {kind}, not shown)"


class HttpFetch(Tool):
    name = "http_fetch"
    description = (
        "GET a public web page or API over http(s) and return its status and text. "
        f"Private, loopback and metadata addresses are refused; at most {MAX_BYTES} bytes, 10 s, 5 redirects."
    )
    Arguments = HttpFetchArguments

    def __init__(self, fetcher: Fetcher | None = None) -> None:
        self.fetcher = fetcher or Fetcher()

    def run(self, arguments: HttpFetchArguments, call: Any) -> str:
        limits = call_limits()  # the run's time left and its cancel request (the agent loop sets them)
        try:
            result = self.fetcher.fetch(
                arguments.url.strip(), arguments.max_bytes, seconds=limits.seconds, cancelled=limits.cancelled
            )
        except AddressRefused as exc:
            return f"error: refused: {exc}"
        except FetchFailed as exc:
            return f"error: fetch failed: {exc}"
        except (ValueError, UnicodeError) as exc:  # a URL no parser step accepted: the model's mistake
            return f"error: fetch failed: not a valid URL: {exc}"
        return describe(result)
