"""The web console: static files (HTML, CSS, JavaScript modules) calling the management API and nothing else.

No build step and nothing vendored: ``static/`` is served as it is. :func:`static_reply` answers a request
for the console (``/console``, ``/console/...``) or ``None`` for any other path, so a server can put it in
front of the API: the local stack does (``agentcron.local.http``), and so does ``agentcron console``, which
forwards everything else to a deployed stack's API (``agentcron.console.server``).

Only the files found under ``static/`` when the module is imported are served, by exact path: a request
can name no other file (no ``..``, no symlinks, no directory listings).
"""

from __future__ import annotations

from pathlib import Path

PREFIX = "/console"
STATIC_ROOT = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}
# The console loads its own files and calls the API on the same origin; nothing else, inline nothing.
SECURITY_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
]

Reply = tuple[int, list[tuple[str, str]], bytes]


def _index() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(STATIC_ROOT.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.suffix in CONTENT_TYPES:
            files[f"{PREFIX}/{path.relative_to(STATIC_ROOT).as_posix()}"] = path
    page = files.get(f"{PREFIX}/index.html")
    if page is not None:
        files[PREFIX] = files[f"{PREFIX}/"] = page
    return files


FILES = _index()


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def static_reply(method: str, path: str) -> Reply | None:
    """The answer to ``method path`` (path without the query) if it is the console's, else None.

    ``/`` redirects to the console; an unknown path under ``/console/`` is a 404, never a file outside.
    """
    if path == "/":
        return 302, [("Location", PREFIX), ("Content-Type", "text/plain; charset=utf-8")], b"see /console\n"
    if not is_console_path(path):
        return None
    if method not in ("GET", "HEAD"):
        return 405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain; charset=utf-8")], b"GET only\n"
    found = FILES.get(path)
    if found is None:
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"not found\n"
    content_type = CONTENT_TYPES[found.suffix]
    return 200, [("Content-Type", content_type), *SECURITY_HEADERS], found.read_bytes()
