"""The thin layer between picows sockets and the sans-I/O sessions.

One :class:`Listener` per connection feeds binary messages to a :class:`Session`; a
:class:`PicowsLink` moves bytes out, skipping snapshots for a reader whose socket buffer
is full (latest wins) instead of queueing them. ``/healthz`` and ``/metrics`` are plain
HTTP answers from the listener factory.
"""

from __future__ import annotations

import json
import logging
import time

from picows import (
    WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, WSUpgradeResponse,
    WSUpgradeResponseWithListener,
)

from server.event import Event
from server.session import Session
from showroom.protocol.codec import MOVE_TO, quick_move
from showroom.protocol.errors import ErrorCode

log = logging.getLogger("showroom.server")

BINARY = WSMsgType.BINARY
SLOW_READER_BYTES = 256 * 1024
"""Snapshots are skipped for a connection with more than this waiting in its send buffer."""


HEAD_ROOM = 14 + 64
"""Bytes kept in front of a cell payload: picows' WebSocket header (at most 14) and a visitor's head."""


class FrameBuffer:
    """The cell payload being sent, in a bytearray with room in front of it.

    Each visitor's frame is its small head written just before the shared payload, and
    picows writes the WebSocket header in front of that (``send_reuse_external_bytearray``),
    so a frame goes to the socket without being copied or joined in Python. One buffer
    serves every link: a tick sends one cell's subscribers after another.
    """

    __slots__ = ("shared", "buf")

    def __init__(self) -> None:
        self.shared: bytes | None = None
        self.buf = bytearray()

    def load(self, shared: bytes) -> None:
        """Make ``shared`` the payload in the buffer."""
        self.shared = shared  # kept referenced, so a new payload can never have the same identity
        self.buf = bytearray(HEAD_ROOM) + shared


class PicowsLink:
    """A connection as the shard and session see it."""

    __slots__ = ("transport", "metrics", "frames", "buffered")

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
        """Send a close frame and hang up."""
        if not self.transport.is_disconnected and not self.transport.is_close_frame_sent:
            self.transport.send_close(WSCloseCode(code), reason.encode()[:120])
        self.transport.disconnect()


class Listener(WSListener):
    """picows callbacks for one connection."""

    def __init__(self, event: Event, frames: FrameBuffer) -> None:
        self.event = event
        self.frames = frames
        self.session: Session | None = None

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
            if kind == WSMsgType.BINARY and frame.fin:
                data = frame.get_payload_as_bytes()
                if session.member is None or not self._quick_move(session, data):
                    session.receive(data)
            elif kind == WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            elif kind == WSMsgType.TEXT:
                session.receive_text()
            elif kind in (WSMsgType.BINARY, WSMsgType.CONTINUATION):
                session.fault(ErrorCode.BAD_FRAME, "fragmented messages are not accepted", None, time.monotonic())
        except Exception:  # a bug must not take the server down; the connection goes instead
            log.exception("error handling a message from %s", session.peer)
            transport.disconnect()

    def _quick_move(self, session: Session, data: bytes) -> bool:
        """Queue a valid, in-rate movement input read straight from its bytes; False leaves it to the session.

        Movement is most of what visitors send (10 Hz each). Anything unusual (another
        encoding, a point off the floor, over the rate) goes through :meth:`Session.receive`,
        which decodes it fully and answers the error."""
        move = quick_move(data)
        shard, member = session.shard, session.member
        if move is None or shard is None or member is None:
            return False
        kind, seq, x, y = move
        if kind == MOVE_TO:
            width, depth = self.event.scene.venue.size
            if not (0.0 <= x <= width and 0.0 <= y <= depth):
                return False
        if not session.inputs.take(time.monotonic()):
            return False
        self.event.metrics.count_in(len(data))
        shard.queue_move_at(member.slot, kind, seq, x, y)
        return True

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.session is not None:
            self.event.links.discard(self.session.link)
            self.session.closed()


def listener_factory(event: Event):  # noqa: ANN201 - picows' factory type
    """Route a request: WebSocket on ``/``, plain HTTP on ``/healthz`` and ``/metrics``."""

    frames = FrameBuffer()

    def route(request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        path = request.path.split(b"?", 1)[0]
        if path == b"/healthz":
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok\n"), None)
        if path == b"/metrics":
            body = json.dumps(event.metrics.snapshot(event.visitors, len(event.shards))).encode()
            response = WSUpgradeResponse.create_ok_response(body, {"Content-Type": "application/json"})
            return WSUpgradeResponseWithListener(response, None)
        if path in (b"/", b"/ws"):
            return Listener(event, frames)
        return None

    return route
