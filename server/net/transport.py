"""The thin layer between picows sockets and the sans-I/O sessions.

One :class:`Listener` per connection hands each whole binary message, with the time it
arrived, to a :class:`~server.event.session.Session`; a :class:`PicowsLink` moves bytes out,
skipping snapshots for a reader whose socket buffer is full (latest wins) instead of
queueing them. Nothing here judges a message. ``/healthz``, ``/metrics`` and the host dashboard's
files (``/host``, :mod:`server.net.dashboard`) are plain HTTP answers from the listener factory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)

from server.event.event import Event
from server.event.session import Session
from server.net.dashboard import Dashboard

log = logging.getLogger("showroom.server")

BINARY = WSMsgType.BINARY
SLOW_READER_BYTES = 256 * 1024
"""Snapshots are skipped for a connection with more than this waiting in its send buffer."""
CLOSE_GRACE_S = 2.0
"""After the server sends a close frame, how long it waits for the client's own close frame
before it hangs up (hanging up at once, with the client's messages still unread, would
reset the connection and the client would never see the close code)."""
PING_IDLE_S = 15.0
"""The server pings a connection that has sent nothing for this long..."""
PING_REPLY_S = 10.0
"""...and drops it when no pong comes within this long."""


HEAD_ROOM = 14 + 64
"""Bytes kept in front of a cell payload: picows' WebSocket header (at most 14) and a visitor's head."""


class FrameBuffer:
    """The cell payload being sent, in a bytearray with room in front of it.

    Each visitor's frame is its small head written just before the shared payload, and
    picows writes the WebSocket header in front of that (``send_reuse_external_bytearray``),
    so a frame goes to the socket without being copied or joined in Python. One buffer
    serves every link: a tick sends one cell's subscribers after another.
    """

    __slots__ = ("buf", "shared")

    def __init__(self) -> None:
        self.shared: bytes | None = None
        self.buf = bytearray()

    def load(self, shared: bytes) -> None:
        """Make ``shared`` the payload in the buffer."""
        self.shared = shared  # kept referenced, so a new payload can never have the same identity
        self.buf = bytearray(HEAD_ROOM) + shared


class PicowsLink:
    """A connection as the shard and session see it."""

    __slots__ = ("buffered", "frames", "metrics", "transport")

    def __init__(self, transport: WSTransport, event: Event, frames: FrameBuffer | None = None) -> None:
        self.transport = transport
        self.metrics = event.metrics
        self.frames = frames if frames is not None else FrameBuffer()
        self.buffered = transport.underlying_transport.get_write_buffer_size

    def send(self, data: bytes) -> bool:
        """Send one control message (never skipped: control traffic is rate-limited at its source)."""
        transport = self.transport
        if transport.is_disconnected or transport.is_close_frame_sent:
            return False
        transport.send(WSMsgType.BINARY, data)
        self.metrics.count_out(len(data))
        return True

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        """Send a snapshot as one message; skipped when the reader is behind.

        One write per visitor: sending head and payload as two fragments saved a copy but
        cost a second socket write, and measured slower (1,000 bots: tick p50 29 ms, 27 %
        overruns as fragments; 23 ms, 1.4 % as one message). The message is written from
        the shared :class:`FrameBuffer` with no copy in Python."""
        transport = self.transport
        if transport.is_disconnected or transport.is_close_frame_sent:
            return False
        metrics = self.metrics
        if self.buffered() > SLOW_READER_BYTES:
            metrics.frames_skipped += 1
            return False
        frames = self.frames
        if shared is not frames.shared:
            frames.load(shared)
        size = len(head)
        start = HEAD_ROOM - size
        if start < 14:  # a head with many personal events
            transport.send(BINARY, head + shared)
        else:
            frames.buf[start:HEAD_ROOM] = head
            transport.send_reuse_external_bytearray(BINARY, frames.buf, start)
        metrics.messages_out += 1
        metrics.bytes_out += size + len(shared)
        return True

    def close(self, code: int, reason: str) -> None:
        """Send a close frame; hang up when the client answers it, or after :data:`CLOSE_GRACE_S`."""
        transport = self.transport
        if transport.is_disconnected:
            return
        if not transport.is_close_frame_sent:
            transport.send_close(WSCloseCode(code), reason.encode()[:120])
        asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.disconnect)


class Listener(WSListener):
    """picows callbacks for one connection."""

    def __init__(self, event: Event, frames: FrameBuffer) -> None:
        self.event = event
        self.frames = frames
        self.session: Session | None = None
        self.in_fragments = False
        """Inside a fragmented message, whose remaining frames are dropped."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        peer = transport.underlying_transport.get_extra_info("peername")
        link = PicowsLink(transport, self.event, self.frames)
        self.event.links.add(link)
        self.session = Session(self.event, link, str(peer))

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        session = self.session
        if session is None:
            return
        kind = frame.msg_type
        try:
            if kind == WSMsgType.CLOSE:
                if not transport.is_close_frame_sent:
                    transport.send_close(frame.get_close_code())
                transport.disconnect()
            elif kind == WSMsgType.CONTINUATION or (kind == WSMsgType.BINARY and not frame.fin):
                if not self.in_fragments:  # one fault per fragmented message, however many frames it has
                    session.receive_fragments(time.monotonic())
                self.in_fragments = not frame.fin
            elif kind == WSMsgType.BINARY:
                session.receive(frame.get_payload_as_bytes(), time.monotonic())
            elif kind == WSMsgType.TEXT:
                self.in_fragments = not frame.fin
                session.receive_text(time.monotonic())
        except Exception:  # a bug must not take the server down; the connection goes instead
            log.exception("error handling a message from %s", session.peer)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.session is not None:
            self.event.links.discard(self.session.link)
            self.session.closed(time.monotonic())


class Routes:
    """picows' listener factory: WebSocket on ``/`` (and ``/ws``), plain HTTP on ``/healthz``, ``/metrics``
    and the host dashboard (``/host`` and its files, read into memory here, once). Until :attr:`event`
    is set (the socket is bound before storage is opened) every request is answered 503. picows
    itself answers any method but GET with 400."""

    def __init__(self, dashboard: Dashboard | None = None) -> None:
        self.event: Event | None = None
        self.frames = FrameBuffer()
        self.dashboard = dashboard if dashboard is not None else Dashboard()

    def __call__(self, request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        event = self.event
        if event is None:
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_error_response(503, b"starting\n"), None)
        path = request.path.split(b"?", 1)[0]
        if path == b"/healthz":
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok\n"), None)
        if path == b"/metrics":
            body = json.dumps(event.metrics.snapshot(event.connected, event.visitors, len(event.shards))).encode()
            response = WSUpgradeResponse.create_ok_response(body, {"Content-Type": "application/json"})
            return WSUpgradeResponseWithListener(response, None)
        if path in (b"/", b"/ws"):
            return Listener(event, self.frames)
        if self.dashboard.wants(path):
            page = self.dashboard.find(path)
            if page is None:
                response = WSUpgradeResponse.create_error_response(404, b"not found\n", {"Connection": "close"})
            else:
                response = WSUpgradeResponse.create_ok_response(page.body, page.headers)
            return WSUpgradeResponseWithListener(response, None)
        return None
