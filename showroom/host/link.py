"""A host's connection to an event server: join with the host token, send commands, get answers.

Uses the threaded client of ``websockets`` (as the desktop client does). One reader thread
takes every message off the socket: answers (``host_ok``, ``error``, ``status``, ``invite``, …) go to a
queue that :meth:`HostLink.request` waits on, in the order the commands were sent (the server
answers each host message exactly once, in order); messages the server sends on its own
(``reload``) go to the ``on_notice`` callback as they arrive.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from contextlib import ExitStack

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from showroom.errors import ShowroomError
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.codec import decode_server, encode
from showroom.protocol.limits import MAX_SERVER_FRAME_BYTES, PROTOCOL_VERSION
from showroom.protocol.server_messages import (
    ErrorReply,
    Handover,
    HostOk,
    Pong,
    SceneText,
    ServerMessage,
    ServerMessageError,
    Status,
    Welcome,
    read_message,
)

ANSWER_TIMEOUT_S = 10.0
"""How long a command waits for its answer."""
ANSWERS = (HostOk, ErrorReply, Status, SceneText, Pong, cm.InviteIssued, cm.Requests, cm.Members, cm.Gallery, cm.PollState,
           cm.ReportMessage, cm.Targeted)
"""Messages that answer a request; anything else the server sends is a notice."""


class HostLinkError(ShowroomError):
    """The console cannot reach the server, was refused as host, or lost the connection."""


class HostLink:
    """An open host connection; use :meth:`open` and close it when done (or use ``with``)."""

    def __init__(self, ws: ClientConnection, url: str, welcome: Welcome,
                 on_notice: Callable[[ServerMessage], None], stack: ExitStack | None = None) -> None:
        self.ws = ws
        self._stack = stack or ExitStack()
        self.url = url
        self.welcome = welcome
        self.on_notice = on_notice
        self._answers: queue.Queue[ServerMessage | None] = queue.Queue()
        self._closed_because = ""
        self._reader = threading.Thread(target=self._read, name="host-link-reader", daemon=True)
        self._reader.start()

    @classmethod
    def open(cls, url: str, token: str, *, name: str = "host console",
             on_notice: Callable[[ServerMessage], None] = lambda notice: None,
             timeout_s: float = ANSWER_TIMEOUT_S, hops: int = 2) -> HostLink:
        """Connect to ``url`` and join with the host token; raise HostLinkError saying what went wrong.

        An event's front door answers with a handover to one of its workers, which is followed (``hops`` times)."""
        stack = ExitStack()  # websockets 17 wants its connection used as a context manager
        try:
            ws = stack.enter_context(connect(url, compression=None, max_size=MAX_SERVER_FRAME_BYTES,
                                             open_timeout=timeout_s))
        except InvalidURI:
            raise HostLinkError(f"{url!r} is not a WebSocket URL (expected ws://HOST:PORT/)") from None
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise HostLinkError(f"cannot connect to {url}: {exc or type(exc).__name__}") from None
        try:
            ws.send(encode(msg.Join(v=PROTOCOL_VERSION, name=name, role="host", token=token)))
            raw = ws.recv(timeout_s)
            value = decode_server(raw if isinstance(raw, bytes) else raw.encode())
            welcome = read_message(value)
        except (ConnectionClosed, TimeoutError, OSError, ValueError) as exc:
            stack.close()
            raise HostLinkError(f"{url} did not welcome the host console: {exc or type(exc).__name__}") from None
        if isinstance(welcome, Handover) and hops > 0:
            stack.close()
            return cls.open(welcome.url, token, name=name, on_notice=on_notice, timeout_s=timeout_s, hops=hops - 1)
        if not isinstance(welcome, Welcome):
            stack.close()
            if isinstance(welcome, ErrorReply):
                raise HostLinkError(f"{url} refused the host console ({welcome.code}): {welcome.message}"
                                    + ("; check --token (showroom serve prints it)"
                                       if welcome.code == "bad_token" else ""))
            raise HostLinkError(f"{url} answered the join with something unexpected: {value!r:.80}")
        return cls(ws, url, welcome, on_notice, stack)

    def request(self, message: msg.Message, timeout_s: float = ANSWER_TIMEOUT_S) -> ServerMessage:
        """Send one message and return its answer (``host_ok``, ``status``, ``error``, …)."""
        try:
            self.ws.send(encode(message))
        except ConnectionClosed:
            raise HostLinkError(self._lost()) from None
        try:
            answer = self._answers.get(timeout=timeout_s)
        except queue.Empty:
            raise HostLinkError(f"no answer from {self.url} to {message.type} within {timeout_s:g} s") from None
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
                    message = read_message(decode_server(data)) if isinstance(data, bytes) else None
                except (ValueError, ServerMessageError):
                    message = None
                if message is None:
                    continue  # hosts have no avatar and get no frames; ignore one if it ever comes
                if isinstance(message, ANSWERS):
                    self._answers.put(message)
                else:
                    self.on_notice(message)
        except ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self._closed_because = f"{self.ws.close_code} {self.ws.close_reason or ''}".strip()
            self._answers.put(None)
