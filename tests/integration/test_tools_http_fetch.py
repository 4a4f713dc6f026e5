"""http_fetch and its network guard: public addresses only, also after redirects and DNS answers.

A test server on 127.0.0.1 plays the public web: the guard's resolver is injected so ``public.test`` resolves
to a public-looking address, and the injected connector carries connections to that address to the local
server. Everything else goes through the real checks.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from agentcron.agent.base import CallLimits, limiting_calls
from agentcron.agent.tools import ToolContext, build_tools
from agentcron.agent.tools.http_fetch import Fetcher, HttpFetch
from agentcron.agent.tools.netguard import AddressRefused, checked_addresses, refusal
from agentcron.models import ToolCall

PUBLIC_IP = "93.184.216.34"
ANSWERS = {
    "public.test": [PUBLIC_IP],
    "inside.test": ["10.0.0.5"],
    "rebind.test": ["127.0.0.1"],  # a public-looking name whose DNS answer points at loopback
    "metadata.test": ["169.254.169.254"],
    "mixed.test": [PUBLIC_IP, "192.168.1.20"],  # one bad address is enough to refuse
}


class Web:
    """The local 'public web' and what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.connections: list[tuple[str, int]] = []
        self.release = threading.Event()
        web = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                web.paths.append(self.path)
                url = urlsplit(self.path)
                if url.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", parse_qs(url.query)["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif url.path == "/loop":
                    self.send_response(301)
                    self.send_header("Location", "/loop")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif url.path == "/hang":
                    web.release.wait(5)
                elif url.path == "/trickle":  # one header byte every 0.3 s: each read is quick, the whole not
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for byte in b"X-Slow: " + b"y" * 40:
                        if web.release.wait(0.3):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                else:
                    kind, body = {
                        "/page": ("text/plain; charset=utf-8", b"hello from the web"),
                        "/big": ("text/plain", b"x" * 5000),
                        "/image": ("image/png", b"\x89PNG\r\n" + bytes(100)),
                        "/latin": ("text/html; charset=iso-8859-1", "caf\xe9".encode("latin-1")),
                    }.get(url.path, ("text/plain", b"not found"))
                    self.send_response(200 if url.path != "/missing" else 404)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def resolver(self, host: str, port: int) -> list[str]:
        if host in ANSWERS:
            return ANSWERS[host]
        raise socket.gaierror(f"unknown host {host}")

    def connector(self, address: str, port: int, timeout: float) -> socket.socket:
        self.connections.append((address, port))
        if address != PUBLIC_IP:
            raise AssertionError(f"the guard let a connection to {address} through")
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def url(self, path: str, host: str = "public.test") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def web() -> Iterator[Web]:
    web = Web()
    threading.Thread(target=web.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield web
    web.release.set()
    web.httpd.shutdown()
    web.httpd.server_close()


def _fetch(web: Web, url: str, max_bytes: int = 50_000, timeout: float = 5.0) -> str:
    tool = HttpFetch(Fetcher(resolver=web.resolver, connector=web.connector, timeout_seconds=timeout))
    box = build_tools([], ToolContext(schedule_id="s", run_id="r"))
    box._tools[tool.name] = tool  # the real tool box, with the injected network
    return box.run(ToolCall(id="1", name="http_fetch", arguments={"url": url, "max_bytes": max_bytes}))


# --------------------------------------------------------------------------- refused outright


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:{port}/page", "127.0.0.1 is a loopback address"),
        ("http://10.1.2.3/", "10.1.2.3 is a private address"),
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254 is an instance metadata address"),
        ("http://localhost:{port}/page", "localhost is a local name"),
        ("http://LOCALHOST./", "localhost. is a local name"),
        ("http://api.localhost/", "api.localhost is a local name"),
        ("http://[::1]:{port}/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254 is an instance metadata address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0 is a private address"),
        ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://rebind.test:{port}/page", "rebind.test resolves to 127.0.0.1, a loopback address"),
        ("http://inside.test/", "inside.test resolves to 10.0.0.5, a private address"),
        ("http://metadata.test/", "metadata.test resolves to 169.254.169.254, an instance metadata address"),
        ("http://mixed.test/", "mixed.test resolves to 192.168.1.20, a private address"),
        ("file:///etc/passwd", "only http and https URLs are fetched, not 'file'"),
        ("ftp://public.test/x", "only http and https URLs are fetched, not 'ftp'"),
        ("http://user:pw@public.test/", "URLs with credentials are not fetched"),
    ],
)
def test_non_public_targets_are_refused_without_connecting(web: Web, url: str, why: str) -> None:
    result = _fetch(web, url.format(port=web.port))
    assert result == f"error: refused: {why}"
    assert web.connections == [] and web.paths == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/page",
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:{port}/page",
        "http://rebind.test:{port}/page",
        "http://[::1]:{port}/page",
    ],
)
def test_a_redirect_to_a_non_public_target_is_refused(web: Web, target: str) -> None:
    target = target.format(port=web.port)
    result = _fetch(web, web.url(f"/redirect?to={target}"))
    assert result.startswith("error: refused: ")
    # the public hop was fetched; the internal target never was
    assert web.paths == [f"/redirect?to={target}"]
    assert web.connections == [(PUBLIC_IP, web.port)]


# --------------------------------------------------------------------------- allowed


def test_a_public_page_is_fetched_from_the_checked_address(web: Web) -> None:
    result = _fetch(web, web.url("/page"))
    assert result == (
        f"status: 200\nurl: {web.url('/page')}\ncontent-type: text/plain; charset=utf-8\n\nhello from the web"
    )
    assert web.connections == [(PUBLIC_IP, web.port)]


def test_public_redirects_are_followed(web: Web) -> None:
    result = _fetch(web, web.url("/redirect?to=/page"))
    assert f"url: {web.url('/page')}" in result
    assert result.endswith("hello from the web")
    assert web.paths == ["/redirect?to=/page", "/page"]
    assert len(web.connections) == 2  # each hop checked and connected anew


def test_the_body_is_cut_at_max_bytes(web: Web) -> None:
    result = _fetch(web, web.url("/big"), max_bytes=1000)
    assert "content-type: text/plain (cut at 1000 bytes)" in result
    assert result.endswith("\n\n" + "x" * 1000)


def test_binary_bodies_are_described_not_shown(web: Web) -> None:
    assert _fetch(web, web.url("/image")).endswith("(106 bytes of image/png, not shown)")


def test_the_declared_charset_is_used(web: Web) -> None:
    assert _fetch(web, web.url("/latin")).endswith("café")


def test_redirect_loops_stop(web: Web) -> None:
    assert _fetch(web, web.url("/loop")) == "error: fetch failed: more than 5 redirects"
    assert len(web.paths) == 6


def test_a_slow_server_times_out(web: Web) -> None:
    assert _fetch(web, web.url("/hang"), timeout=0.3) == "error: fetch failed: timed out after 0.3 s"


def test_one_deadline_covers_connect_headers_and_body(web: Web) -> None:
    """A server trickling one header byte every 0.3 s: every read is quick, the whole would take 12 s."""
    started = time.monotonic()
    assert _fetch(web, web.url("/trickle"), timeout=2.0) == "error: fetch failed: timed out after 2 s"
    assert 1.9 < time.monotonic() - started < 3.5


def test_the_runs_time_left_bounds_the_fetch(web: Web) -> None:
    """A 10 s fetch in a run with 1 s left (max_duration_seconds, or the invocation) ends after 1 s."""
    started = time.monotonic()
    with limiting_calls(CallLimits(seconds=1.0)):
        reply = _fetch(web, web.url("/trickle"), timeout=10.0)
    assert reply == "error: fetch failed: timed out after 1 s"
    assert time.monotonic() - started < 2.5


def test_a_cancel_request_ends_the_fetch_in_progress(web: Web) -> None:
    started = time.monotonic()
    with limiting_calls(CallLimits(seconds=30, cancelled=lambda: time.monotonic() - started > 0.5)):
        reply = _fetch(web, web.url("/trickle"), timeout=10.0)
    assert reply == "error: fetch failed: cancelled: the run's cancel was requested"
    assert 0.5 < time.monotonic() - started < 2
    assert web.paths == ["/trickle"]  # it was under way when the cancel came


def test_a_run_already_cancelled_connects_nowhere(web: Web) -> None:
    with limiting_calls(CallLimits(seconds=30, cancelled=lambda: True)):
        reply = _fetch(web, web.url("/page"))
    assert reply == "error: fetch failed: cancelled: the run's cancel was requested"
    assert web.connections == []


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://public.test:99999999/",
        "http://public.test:-1/",
        "http://[fe80::1%/",
        "http://[v1.x]/",
        "http://public.test/a b",
        "http://public.test/\r\nX-Injected: 1",
        "http://" + "a" * 64 + ".test/",
        "http://xn--/",
        "http:///path-only",
        "http://\u0000/",
        "http://public.test:{port}/redirect?to=http://[::1",
    ],
)
def test_a_malformed_url_is_a_tool_error(web: Web, url: str) -> None:
    """Whatever the model writes (or a redirect says), the model reads an error: nothing raises."""
    reply = _fetch(web, url.format(port=web.port))
    assert reply.startswith("error: "), reply
    assert all(address == PUBLIC_IP for address, _ in web.connections)


@pytest.mark.parametrize("address", ["fec0::1", "fec0:1234::5", "feff:ffff::1"])
def test_site_local_ipv6_is_refused(web: Web, address: str) -> None:
    """fec0::/10, deprecated site-local (RFC 3879): still routed inside some networks."""
    assert _fetch(web, f"http://[{address}]/") == f"error: refused: {address} is a site-local address"
    assert web.connections == []


def test_an_unresolvable_name_is_reported(web: Web) -> None:
    assert _fetch(web, "http://nowhere.test/").startswith("error: refused: nowhere.test does not resolve")


# --------------------------------------------------------------------------- the guard itself


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "fec0::1",
        "224.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "255.255.255.255",
    ],
)
def test_refused_addresses(address: str) -> None:
    assert refusal(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


def test_checked_addresses_returns_what_to_connect_to() -> None:
    assert checked_addresses("public.test", 80, lambda host, port: [PUBLIC_IP, "8.8.8.8"]) == [
        PUBLIC_IP,
        "8.8.8.8",
    ]
    with pytest.raises(AddressRefused, match="does not resolve to any address"):
        checked_addresses("empty.test", 80, lambda host, port: [])


# --------------------------------------------------------------------------- https to a pinned address


def _certificate(tmp_path, name: str) -> tuple[str, str]:
    """A self-signed certificate for ``name`` (cert and key files)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(cert_file), str(key_file)


@pytest.mark.parametrize(("served_name", "ok"), [("public.test", True), ("other.test", False)])
def test_https_to_the_checked_address_still_verifies_the_host_name(
    web: Web, tmp_path, served_name, ok
) -> None:
    import ssl

    cert, key = _certificate(tmp_path, served_name)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    web.httpd.socket = server_tls.wrap_socket(web.httpd.socket, server_side=True)
    client_tls = ssl.create_default_context(cafile=cert)
    fetcher = Fetcher(resolver=web.resolver, connector=web.connector, timeout_seconds=5, tls=client_tls)
    result = HttpFetch(fetcher).run(
        HttpFetch.Arguments(url=f"https://public.test:{web.port}/page"), ToolCall(id="1", name="http_fetch")
    )
    if ok:
        assert result.endswith("hello from the web")
    else:
        assert result.startswith("error: fetch failed: public.test: ")
        assert "certificate" in result.lower() or "hostname" in result.lower()
    assert web.connections == [(PUBLIC_IP, web.port)]
