"""``http_fetch``: GET a public http(s) URL, with size, time and redirect limits, through the network guard.

Only GET; only ``http`` and ``https``; no credentials in the URL. Every hop (the first request and each
redirect, followed here by hand, at most ``max_redirects``) is checked by :mod:`.netguard` and connected to
the checked address itself; TLS still verifies the certificate against the host name. The body is read up to
``max_bytes`` (the rest is cut and the reply says so) within ``timeout_seconds`` for the whole fetch. Text
bodies (text/*, JSON, XML, JavaScript) are returned decoded; other content types are described, not shown.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, Field

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


class FetchFailed(AgentcronError):
    """The fetch could not complete (timeout, connection, protocol, too many redirects)."""


@dataclass(frozen=True)
class FetchResult:
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
        sock = self._connector(self._address, self.port, self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


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

    def fetch(self, url: str, max_bytes: int) -> FetchResult:
        """Follow ``url`` to a non-redirect answer. AddressRefused / FetchFailed explain a refusal."""
        deadline = self.clock() + self.timeout_seconds
        for _ in range(self.max_redirects + 1):
            status, headers, body, truncated = self._get(url, max_bytes, deadline)
            location = headers.get("location")
            if status in REDIRECTS and location:
                url = urljoin(url, location.strip())
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
        host, port = parts.hostname or "", parts.port or 443
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        last_error: Exception | None = None
        for address in checked_addresses(host, port, self.resolver):
            connection = self._connection("https", host, port, address, self.timeout_seconds)
            try:
                connection.request("POST", target, body=body, headers={**headers, "Connection": "close"})
                response = connection.getresponse()
                response.read(_CHUNK)
                return response.status
            except (OSError, http.client.HTTPException) as exc:
                last_error = exc
            finally:
                connection.close()
        raise FetchFailed(f"{host}: {last_error}")

    def _get(self, url: str, max_bytes: int, deadline: float) -> tuple[int, dict[str, str], bytes, bool]:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - a malformed port raises here, as a malformed host does above
        except ValueError as exc:
            raise FetchFailed(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise AddressRefused(f"only http and https URLs are fetched, not {parts.scheme or 'no scheme'!r}")
        if parts.username or parts.password:
            raise AddressRefused("URLs with credentials are not fetched")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchFailed(f"invalid port in {url}") from None
        host = parts.hostname or ""
        addresses = checked_addresses(host, port, self.resolver)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        last_error: Exception | None = None
        for address in addresses:
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            connection = self._connection(parts.scheme, host, port, address, remaining)
            # One deadline for connect, headers and body: a socket timeout is per read, so a server that
            # trickles a byte at a time would outlast it; at the deadline the socket is shut instead.
            watchdog = threading.Timer(remaining, _shut, args=(connection,))
            watchdog.daemon = True
            watchdog.start()
            try:
                connection.request("GET", target, headers=_HEADERS)
                response = connection.getresponse()
                headers = {k.lower(): v for k, v in response.getheaders()}
                body, truncated = self._read(response, max_bytes, deadline)
                return response.status, headers, body, truncated
            except (OSError, http.client.HTTPException) as exc:
                last_error = exc
            finally:
                watchdog.cancel()
                connection.close()
        if last_error is None or self.clock() >= deadline:
            raise FetchFailed(f"timed out after {self.timeout_seconds:g} s")
        if isinstance(last_error, TimeoutError):
            raise FetchFailed(f"timed out after {self.timeout_seconds:g} s")
        raise FetchFailed(f"{host}: {last_error}")

    def _connection(self, scheme: str, host: str, port: int, address: str, timeout: float) -> Any:
        if scheme == "https":
            return _PinnedHTTPS(
                host, port, address=address, connector=self.connector, timeout=timeout, context=self.tls
            )
        return _PinnedHTTP(host, port, address=address, connector=self.connector, timeout=timeout)

    def _read(self, response: Any, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            if self.clock() > deadline:
                raise FetchFailed(f"timed out after {self.timeout_seconds:g} s")
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


_HEADERS = {
    "User-Agent": "agentcron-http-fetch/1",
    "Accept": "text/*, application/json;q=0.9, */*;q=0.5",
    "Accept-Encoding": "identity",
    "Connection": "close",
}


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
        try:
            return describe(self.fetcher.fetch(arguments.url.strip(), arguments.max_bytes))
        except AddressRefused as exc:
            return f"error: refused: {exc}"
        except FetchFailed as exc:
            return f"error: fetch failed: {exc}"
