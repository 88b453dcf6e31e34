"""The host dashboard's files, read once at start and answered from memory as plain HTTP.

The dashboard is a static page (``server/net/dashboard/``) that talks to the event as a host over
the same WebSocket protocol as the host console, so the server only hands out its files: ``GET
/host`` (and ``/host/``) is the page, ``GET /host/<name>`` one of its scripts, styles or vendored
libraries. Names are looked up in a table built at start from the folder, so no request path ever
reaches the file system (``..`` and the like are simply not in the table: 404). Nothing here runs
on the tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).with_name("dashboard")
"""Where the page's files live in the package."""
PREFIX = b"/host"
INDEX = "index.html"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
"""The kinds of file served (any other file in the folder is not)."""

SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Connection": "close",
    # The page runs only its own files; it talks to this server's WebSocket and shows entry
    # images from Blob URLs. 'self' covers ws: of the same host in current browsers; ws:/wss: is
    # there for older ones.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
                               "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


@dataclass(frozen=True)
class StaticFile:
    """One file of the page, ready to send."""

    body: bytes
    headers: dict[str, str]


class Dashboard:
    """The dashboard's files by URL path, read from ``folder`` once."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.files: dict[bytes, StaticFile] = {}
        if not folder.is_dir():  # an install without the page still serves the event
            return
        for path in sorted(folder.rglob("*")):
            kind = CONTENT_TYPES.get(path.suffix.lower())
            if kind is None or not path.is_file():
                continue
            name = path.relative_to(folder).as_posix()
            page = StaticFile(path.read_bytes(), {"Content-Type": kind, **SECURITY_HEADERS})
            self.files[PREFIX + b"/" + name.encode()] = page
            if name == INDEX:
                self.files[PREFIX] = page
                self.files[PREFIX + b"/"] = page

    def find(self, path: bytes) -> StaticFile | None:
        """The file for a request path (without its query), or None: not one of the page's files."""
        return self.files.get(path)

    @staticmethod
    def wants(path: bytes) -> bool:
        """Whether a request path is the dashboard's to answer (found or not)."""
        return path == PREFIX or path.startswith(PREFIX + b"/")
