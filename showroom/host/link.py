"""A host's connection to an event server: join with the host token, send commands, get answers.

Uses the threaded client of ``websockets`` (as the desktop client does). One reader thread
takes every message off the socket: answers (``host_ok``, ``error``, ``status``, …) go to a
queue that :meth:`HostLink.request` waits on, in the order the commands were sent (the server
answers each host message exactly once, in order); messages the server sends on its own
(``reload``) go to the ``on_notice`` callback as they arrive.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from showroom.errors import ShowroomError
from showroom.protocol.codec import decode_server, encode
from showroom.protocol.limits import MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION

ANSWER_TIMEOUT_S = 10.0
"""How long a command waits for its answer."""
ANSWERS = frozenset({"host_ok", "error", "status", "scene", "pong"})
"""Message types that answer a request; anything else the server sends is a notice."""


class HostLinkError(ShowroomError):
    """The console cannot reach the server, was refused as host, or lost the connection."""


class HostLink:
    """An open host connection; use :meth:`open` and close it when done (or use ``with``)."""

    def __init__(self, ws: ClientConnection, url: str, welcome: dict[str, Any],
                 on_notice: Callable[[dict[str, Any]], None], stack: ExitStack | None = None) -> None:
        self.ws = ws
        self._stack = stack or ExitStack()
        self.url = url
        self.welcome = welcome
        self.on_notice = on_notice
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._closed_because = ""
        self._reader = threading.Thread(target=self._read, name="host-link-reader", daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, url: str, token: str, *, name: str = "host console",
             on_notice: Callable[[dict[str, Any]], None] = lambda notice: None,
             timeout_s: float = ANSWER_TIMEOUT_S) -> HostLink:
        """Connect to ``url`` and join with the host token; raise HostLinkError saying what went wrong."""
        stack = ExitStack()  # websockets 17 wants its connection used as a context manager
        try:
            ws = stack.enter_context(connect(url, compression=None, max_size=MAX_SERVER_FRAME_BYTES,
                                             open_timeout=timeout_s))
        except InvalidURI:
            raise HostLinkError(f"{url!r} is not a WebSocket URL (expected ws://HOST:PORT/)") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise HostLinkError(f"cannot connect to {url}: {exc or type(exc).__name__}") from None
        try:
            ws.send(encode({"type": "join", "v": PROTOCOL_VERSION, "name": name, "role": "host", "token": token}))
            welcome = decode_server(ws.recv(timeout_s))
        except (ConnectionClosed, TimeoutError, OSError) as exc:
            stack.close()
            raise HostLinkError(f"{url} did not welcome the host console: {exc or type(exc).__name__}") from None
        if not isinstance(welcome, dict) or welcome.get("type") != "welcome":
            stack.close()
            if isinstance(welcome, dict) and welcome.get("type") == "error":
                raise HostLinkError(f"{url} refused the host console ({welcome.get('code')}): {welcome.get('message')}"
                                    + ("; check --token (showroom serve prints it)"
                                       if welcome.get("code") == "bad_token" else ""))
            raise HostLinkError(f"{url} answered the join with something unexpected: {welcome!r:.80}")
        return cls(ws, url, welcome, on_notice, stack)

    def request(self, message: dict[str, Any], timeout_s: float = ANSWER_TIMEOUT_S) -> dict[str, Any]:
        """Send one message and return its answer (``host_ok``, ``status``, ``error``, …)."""
        try:
            self.ws.send(encode(message))
        except ConnectionClosed:
            raise HostLinkError(self._lost()) from None
        try:
            answer = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise HostLinkError(f"no answer from {self.url} to {message['type']} within {timeout_s:g} s") from None
        if answer is None:
            raise HostLinkError(self._lost())
        return answer

    def close(self) -> None:
        """Close the connection and wait for the reader to finish."""
        self._stack.close()
        self._reader.join(ANSWER_TIMEOUT_S)

    def __enter__(self) -> HostLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _lost(self) -> str:
        return f"the connection to {self.url} closed{': ' + self._closed_because if self._closed_because else ''}"

    def _read(self) -> None:
        try:
            for data in self.ws:
                try:
                    message = decode_server(data) if isinstance(data, bytes) else None
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    continue  # hosts have no avatar and get no frames; ignore one if it ever comes
                if message.get("type") in ANSWERS:
                    self._answers.put(message)
                else:
                    self.on_notice(message)
        except ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self._closed_because = f"{self.ws.close_code} {self.ws.close_reason or ''}".strip()
            self._answers.put(None)
