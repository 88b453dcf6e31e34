"""Before a load test starts any bot: is anything listening at the server's address?"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from showroom.errors import ShowroomError

PROBE_TIMEOUT_S = 3.0
"""How long the probe waits for a TCP connection to the server."""


def server_address(url: str) -> tuple[str, int]:
    """The host and TCP port of a ``ws://`` or ``wss://`` URL (80 and 443 when it names none)."""
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "wss" else 80)


def probe_server(url: str, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Open and close one TCP connection to the server; raise :class:`ShowroomError` saying why it failed."""
    host, port = server_address(url)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return
    except ConnectionRefusedError:
        reason = "connection refused"
    except TimeoutError:
        reason = f"no answer within {timeout_s:g} s"
    except socket.gaierror:
        reason = f"cannot resolve the host name {host!r}"
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
    raise ShowroomError(f"loadtest: cannot connect to {url}: {reason} (is showroom serve running there?)")
