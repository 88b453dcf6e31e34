"""Argument types and shared arguments of the command line: each type turns a word into a value or says what is wrong."""

from __future__ import annotations

import argparse
import math

from showroom.defaults import DATA_DIR, EXAMPLE_SCENE, EXAMPLE_URL, HOST


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def count(text: str) -> int:
    """A whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def window_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels, 64 to 8192 each way."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if not (64 <= w <= 8192 and 64 <= h <= 8192):
        raise argparse.ArgumentTypeError(f"window size must be 64..8192 pixels each way, got {text}")
    return w, h


def port(text: str) -> int:
    """A TCP port: 0 (pick a free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535 (0 picks a free one), got {value}")
    return value


def ws_url(text: str) -> str:
    """A WebSocket URL of a server: ``ws://HOST:PORT/`` (``wss://`` too)."""
    from urllib.parse import urlsplit

    example = EXAMPLE_URL
    if "://" not in text:  # `localhost:8765` would read as scheme "localhost"
        where = text.strip("/")
        hint = f"ws://{HOST}:{where}/" if where.isdigit() else f"ws://{where}/" if where else example
        raise argparse.ArgumentTypeError(f"a server URL starts with ws:// (or wss://); try {hint}")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a usable URL ({exc}); expected one like {example}") from None
    if parts.scheme not in ("ws", "wss"):
        scheme, rest = text.split("://", 1)
        ws = {"http": "ws", "https": "wss"}.get(scheme.lower())
        hint = f"{ws}://{rest}" if ws else example
        raise argparse.ArgumentTypeError(f"a server URL starts with ws:// (or wss://), not {scheme}://; try {hint}")
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} names no host; expected one like {example}")
    return text


def add_data_dir(parser: argparse.ArgumentParser, what: str = "the server's data directory") -> None:
    """``--data-dir DIR``, defaulting to the settings' data directory."""
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help=f"{what} (default: $SHOWROOM_DATA_DIR, else ./{DATA_DIR})")


def add_database(parser: argparse.ArgumentParser) -> None:
    """``--database URL``, defaulting to the settings' database (none: SQLite in the data directory)."""
    parser.add_argument("--database", default=None, metavar="URL",
                        help="PostgreSQL URL (postgresql://user@host:port/db) holding the event's ledger "
                             "(default: $SHOWROOM_DATABASE, else SQLite in the data directory)")


def add_json(parser: argparse.ArgumentParser, what: str = "print the figures as one JSON object") -> None:
    """``--json``."""
    parser.add_argument("--json", action="store_true", help=what)


def add_scene(parser: argparse.ArgumentParser) -> None:
    """An optional positional scene file, defaulting to the settings' scene."""
    parser.add_argument("scene", nargs="?", default=None,
                        help=f"scene file (default: $SHOWROOM_SCENE, else the example {EXAMPLE_SCENE})")
