"""One connection's protocol state: bytes in, actions on the event, bytes out.

Sans-I/O: the transport calls :meth:`Session.receive` with each whole binary message and the
time it arrived, and :meth:`Session.closed` when the socket goes; the session answers
through its link. Each message type has one handler in a table; movement (most of what
clients send) is read straight from its bytes when it has the usual encoding and checked
in one place either way. Faults a client can recover from get an ``error`` message and the
connection stays; repeated faults (``ABUSE_LIMIT`` within ``ABUSE_WINDOW_S``) close it with 1008.
"""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.event.community import handlers as community
from server.event.event import Event, SeatGate
from server.event.link import Link
from server.event.rewards import wallet_key
from server.event.seats import Member
from server.event.shard import Shard
from server.event.status import host_status
from server.storage.ledger import Ledger, LedgerRefusal, Spend
from server.storage.ledger_writer import WriteFailed, Written
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.codec import MoveInput, decode_client, encode, encode_error, quick_move
from showroom.protocol.codes import MOVE_TO
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import (
    ABUSE_LIMIT,
    ABUSE_WINDOW_S,
    CHAT_RATE_HZ,
    CONTROL_RATE_HZ,
    INPUT_RATE_HZ,
    PROTOCOL_VERSION,
    UPLOAD_RATE_HZ,
)
from showroom.protocol.server_messages import (
    ChatLine,
    EventInfo,
    HostOk,
    Pong,
    Redeemed,
    SceneText,
    SelfieLeft,
    SelfieQueue,
    ServerMessage,
    WalletContents,
    WalletItem,
    Welcome,
)

log = logging.getLogger("showroom.server")

MAX_REDEEMS_IN_FLIGHT = 8
"""Redemptions one connection may have waiting for the ledger's answer; more are refused with ``busy:``."""


@dataclass
class Bucket:
    """A token bucket: ``rate`` per second, up to ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = 0.0
    at: float | None = None

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self.tokens = self.burst if self.at is None else min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Session:
    """The server's side of one connection."""

    def __init__(self, event: Event, link: Link, peer: str = "?") -> None:
        self.event = event
        self.link = link
        self.peer = peer
        self.shard: Shard | None = None
        self.member: Member | None = None
        self.role = ""
        self.wallet_token = ""
        self.inputs = Bucket(INPUT_RATE_HZ, 2 * INPUT_RATE_HZ)
        self.control = Bucket(CONTROL_RATE_HZ, 2 * CONTROL_RATE_HZ)
        self.chat = Bucket(CHAT_RATE_HZ, 3)
        self.upload = Bucket(UPLOAD_RATE_HZ, UPLOAD_RATE_HZ)
        self.faults: deque[float] = deque(maxlen=ABUSE_LIMIT)
        self.open = True
        self.scene_version = 0
        """The scene version this connection was last sent (in ``welcome`` or a ``scene`` answer)."""
        self.redeeming = 0
        """Redemptions handed to the ledger's writer and not answered yet."""

    # ---- entry points from the transport --------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        """Handle one whole binary message that arrived at monotonic time ``now``."""
        if not self.open:
            return  # closing: whatever still arrives is not answered
        self.event.metrics.count_in(len(data))
        ref: str | None = None
        try:
            move = quick_move(data)
            if move is None:
                message = decode_client(data)
                if not isinstance(message, MoveInput):
                    ref = message.type
                    self._control(message, now)
                    return
                move = (message.kind, message.seq, message.x, message.y)
            ref = "move"
            self._move(*move, now)
        except ProtocolError as exc:
            self.fault(exc.code, exc.message, ref, now)

    def receive_text(self, now: float) -> None:
        """A text frame: the protocol is binary only."""
        self.fault(ErrorCode.BAD_FRAME, "send binary WebSocket messages holding msgpack, not text", None, now)

    def receive_fragments(self, now: float) -> None:
        """The first frame of a fragmented message (the rest are dropped unanswered): one fault per message."""
        self.fault(ErrorCode.BAD_FRAME, "fragmented messages are not accepted; send each message as one frame",
                   None, now)

    def closed(self, now: float) -> None:
        """The socket is gone: keep a visitor's avatar for the resume window."""
        self.open = False
        self.event.hosts.discard(self.link)
        if self.event.communities is not None:
            self.event.communities.contests.drop_uploads_of(id(self))
        if self.member is not None and self.member.link is self.link:
            self.event.drop(self.member.id, now)

    def fault(self, code: ErrorCode, message: str, ref: str | None, now: float) -> None:
        """Answer an error; close the connection after too many in a short time."""
        if not self.open:
            return
        self.send(encode_error(code, message, ref))
        self.event.metrics.errors_sent += 1
        self.faults.append(now)
        if len(self.faults) == ABUSE_LIMIT and now - self.faults[0] <= ABUSE_WINDOW_S:
            log.warning("closing %s after %d errors in %.0f s", self.peer, ABUSE_LIMIT, ABUSE_WINDOW_S)
            self.hang_up(CloseCode.POLICY_VIOLATION, "too many bad messages")

    def send(self, data: bytes) -> None:
        """Send a control message (never skipped)."""
        if self.open:
            self.link.send(data)

    def reply(self, message: ServerMessage) -> None:
        """Send one typed server message."""
        self.send(encode(message))

    def hang_up(self, code: int, reason: str) -> None:
        """Close the connection with a close code; nothing more is read or answered."""
        self.open = False
        self.link.close(code, reason)

    # ---- movement ---------------------------------------------------------------------
    def _move(self, kind: int, seq: int, x: float, y: float, now: float) -> None:
        """Queue a well-formed movement input for the next tick, after the checks that need the event."""
        member, shard = self.member, self.shard
        if member is None or shard is None:
            if self.role == "joining":  # sent right after join, while the seat or membership is confirmed
                return
            raise ProtocolError(ErrorCode.NOT_JOINED, "join with an avatar before moving")
        if not self.inputs.take(now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {INPUT_RATE_HZ:g} movement inputs per second")
        if kind == MOVE_TO:
            width, depth = self.event.scene.venue.size
            if not (0.0 <= x <= width and 0.0 <= y <= depth):
                raise ProtocolError(ErrorCode.OUT_OF_BOUNDS,
                                    f"({x:.2f}, {y:.2f}) is outside the {width:g} x {depth:g} m venue")
        shard.queue_move_at(member.slot, kind, seq, x, y)

    # ---- control messages ---------------------------------------------------------------
    def _control(self, message: msg.Message, now: float) -> None:
        if isinstance(message, cm.EntryPart):
            if not self.upload.take(now):
                raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {UPLOAD_RATE_HZ:g} upload parts per second")
        elif not self.control.take(now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {CONTROL_RATE_HZ:g} control messages per second")
        if isinstance(message, msg.Join):
            self._join(message, now)
            return
        if self.member is None and self.role == "joining" and isinstance(message, msg.Leave):
            self.hang_up(CloseCode.NORMAL, "goodbye")  # left while the seat was confirmed: it goes back then
            return
        if self.member is None and self.role != "host":
            raise ProtocolError(ErrorCode.NOT_JOINED, "send join first")
        host = _HOST_HANDLERS.get(type(message))
        if host is not None:
            if self.role != "host":
                log.warning("%s (%s) sent host command %s", self.peer, self.role, message.type)
                raise ProtocolError(ErrorCode.FORBIDDEN, f"{message.type} is for hosts only")
            host(self, message, now)
            log.info("host %s: %s", self.peer, message.type)
            return
        anyone = _HANDLERS.get(type(message))
        if anyone is not None:
            anyone(self, message, now)
            return
        if self.member is None or self.shard is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"{message.type} needs an avatar; hosts have none")
        _AVATAR_HANDLERS[type(message)](self, message, self.member, self.shard, now)

    def _join(self, join: msg.Join, now: float) -> None:
        if self.member is not None or self.role:
            raise ProtocolError(ErrorCode.ALREADY_JOINED, "this connection has already joined")
        if join.v != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.BAD_VERSION, f"this server speaks protocol {PROTOCOL_VERSION}, not {join.v}")
        if join.role == "host":
            if join.token != self.event.host_token:
                raise ProtocolError(ErrorCode.BAD_TOKEN, "wrong host token")
            self.role = "host"
            self.event.hosts.add(self.link)
            self._welcome(None, None)
            log.info("host joined from %s", self.peer)
            return
        if join.resume:
            self.wallet_token = join.wallet or ""
        else:
            self.wallet_token = join.wallet or secrets.token_urlsafe(24)
        gate = self.event.gate
        if gate is not None and not join.resume:
            self._seat(gate, join, now)
            return
        self._seated(join, now, None)

    def _seat(self, gate: SeatGate, join: msg.Join, now: float) -> None:
        """An event over workers: confirm the seat the front door reserved here, then go on joining."""
        if not join.seat:
            raise ProtocolError(ErrorCode.SEAT_REFUSED, f"this event runs on several workers: join through its "
                                                        f"front door, {gate.front_door}, which hands out seats")
        self.role = "joining"  # a second join meanwhile is already_joined

        def seated(shard: int, seat: str) -> None:
            self.role = ""
            if not self.open:  # gone while the seat was confirmed: it goes back
                gate.release(shard, seat)
                return
            try:
                self._seated(join, now, (shard, seat))
            except ProtocolError as exc:  # the seat went back in _seated
                self.fault(exc.code, exc.message, "join", now)
            if self.member is None and self.role != "joining":  # refused after all (banned, members only...)
                gate.release(shard, seat)

        def refused(reason: str) -> None:
            self.role = ""
            if self.open:
                self.send(encode_error(ErrorCode.SEAT_REFUSED, reason, "join"))
                self.hang_up(CloseCode.TRY_AGAIN_LATER, "seat refused: join through the front door again")
        gate.confirm(join.seat, seated, refused)

    def _seated(self, join: msg.Join, now: float, seat: tuple[int, str] | None) -> None:
        """Join, with the seat confirmed when the event is spread over workers."""
        communities = self.event.communities
        home = communities.home if communities is not None else None
        if join.invite and not join.resume:
            if communities is None or home is None:
                raise ProtocolError(ErrorCode.NO_STORE, "this event belongs to no community an invite could be for")
            self.role = "joining"  # a second join meanwhile is already_joined

            def member_now(state: object) -> None:
                self.role = ""
                if not self.open:  # the visitor left while the membership was written: it stays, no avatar is made
                    if seat is not None and self.event.gate is not None:
                        self.event.gate.release(*seat)
                    return
                try:
                    self._enter(join, now, seat)
                except ProtocolError as exc:  # e.g. a show for a higher tier than a new member has
                    self.fault(exc.code, exc.message, "join", now)
                if self.member is None and seat is not None and self.event.gate is not None:
                    self.event.gate.release(*seat)

            def refused(code: ErrorCode, message: str) -> None:
                self.role = ""
                self.fault(code, message, "join", now)
                if seat is not None and self.event.gate is not None:
                    self.event.gate.release(*seat)
            try:
                communities.join(home, wallet_key(self.wallet_token), join.name, join.invite,
                                 self.event.wall_time(now), member_now, refused)
            except ProtocolError:
                self.role = ""
                raise
            return
        try:
            self._enter(join, now, seat)
        except ProtocolError:
            if seat is not None and self.event.gate is not None:
                self.event.gate.release(*seat)
            raise

    def _enter(self, join: msg.Join, now: float, seat: tuple[int, str] | None = None) -> None:
        """Give the joining visitor an avatar (or their old one back) and welcome them."""
        try:
            if join.resume:
                shard, member = self.event.rejoin(join.resume, join.name, self.link)
            elif seat is not None:
                shard, member = self.event.join(join.name, join.role, self.link, wallet_key(self.wallet_token), now,
                                                shard_number=seat[0], seat=seat[1])
            else:
                shard, member = self.event.join(join.name, join.role, self.link, wallet_key(self.wallet_token), now)
        except ProtocolError as exc:
            if exc.code in (ErrorCode.EVENT_FULL, ErrorCode.BANNED):
                self.send(encode_error(exc.code, exc.message, "join"))
                close = CloseCode.TRY_AGAIN_LATER if exc.code == ErrorCode.EVENT_FULL else CloseCode.POLICY_VIOLATION
                self.hang_up(close, exc.message)
                return
            raise
        self.role, self.shard, self.member = join.role, shard, member
        self._welcome(shard, member)

    def _welcome(self, shard: Shard | None, member: Member | None) -> None:
        event = self.event
        scene = event.scene
        self.reply(Welcome(
            v=PROTOCOL_VERSION, you=member.id if member else -1, slot=member.slot if member else -1,
            shard=shard.number if shard else -1, role=self.role, resume=member.resume if member else "", wallet=self.wallet_token, tick_hz=event.tick_hz,
            event=EventInfo(id=scene.event.id, title=scene.event.title, duration=scene.event.duration),
            scene=event.scene_text, scene_version=event.reloader.version, playing=event.playing,
            t=round(event.show_t, 3),
        ))
        self.scene_version = event.reloader.version

    # ---- handlers: anyone joined --------------------------------------------------------
    def _ping(self, message: msg.Ping, now: float) -> None:
        self.reply(Pong(t=message.t, st=self.event.wall_time(now)))

    def _scene(self, message: msg.SceneRequest, now: float) -> None:
        """Send the running scene's text once per version: what a ``scene_changed`` event tells clients to fetch."""
        version = self.event.reloader.version
        if self.scene_version == version:
            raise ProtocolError(ErrorCode.RATE_LIMITED,
                                f"you already have scene version {version}; ask again after a scene_changed event")
        self.scene_version = version
        self.reply(SceneText(version=version, text=self.event.scene_text))

    # ---- handlers: visitors with an avatar ------------------------------------------------
    def _react(self, message: msg.React, member: Member, shard: Shard, now: float) -> None:
        shard.react(member, message.reaction, self.event.show_t)
        if self.event.rewards is not None and member.wallet:
            look = shard.world.show.state_at(self.event.show_t).look
            self.event.rewards.on_reaction(member.wallet, message.reaction, look)
        if self.event.communities is not None and member.wallet:  # at most one reaction a minute counts
            wall = self.event.wall_time(now)
            self.event.communities.engage(member.wallet, "reaction", 1,
                                          f"react:{self.event.scene.event.id}:{int(wall // 60)}", wall)

    def _chat(self, message: msg.Chat, member: Member, shard: Shard, now: float) -> None:
        if not self.chat.take(now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {CHAT_RATE_HZ:g} chat line per second")
        shard.announce(ChatLine(sender=member.id, name=member.name, text=message.text))

    def _selfie(self, message: msg.SelfieRequest, member: Member, shard: Shard, now: float) -> None:
        desk = shard.desk
        mascot = desk.index(message.mascot)
        position, size = desk.request(member.id, mascot, shard.position_of(member.id), shard.world.frame,
                                      priority="selfie_priority" in self.event.perks(member.wallet))
        member.events.append(SelfieQueue(mascot=message.mascot, position=position, size=size))

    def _selfie_leave(self, message: msg.SelfieLeave, member: Member, shard: Shard, now: float) -> None:
        left = shard.desk.leave(member.id)
        if left is not None:
            member.events.append(SelfieLeft(mascot=left, reason="requested"))

    def _wallet(self, message: msg.Wallet, member: Member, shard: Shard, now: float) -> None:
        ledger = self._ledger()
        names = {e.id: e.name for e in self.event.scene.entitlements}
        items = [WalletItem(**a.as_dict(), name=names.get(a.entitlement, a.entitlement))
                 for a in ledger.wallet(member.wallet)]
        self.reply(WalletContents(visitor=member.wallet, items=items, pubkey=ledger.public_key))

    def _redeem(self, message: msg.Redeem, member: Member, shard: Shard, now: float) -> None:
        """Hand the redemption to the ledger's writer; :meth:`_redeemed` answers once it is written.

        The answer is deferred rather than awaited: the loop never waits on the ledger's disk sync,
        and ``redeemed`` goes out only when the redemption is on disk. At most
        ``MAX_REDEEMS_IN_FLIGHT`` per connection wait for their answer, so a stalled disk cannot
        make one client's requests pile up.
        """
        writer = self.event.writer
        if writer is None:
            raise ProtocolError(ErrorCode.NO_LEDGER, "this server keeps no Meta-Pass ledger")
        if self.redeeming >= MAX_REDEEMS_IN_FLIGHT:
            raise ProtocolError(ErrorCode.REFUSED, f"busy: {self.redeeming} redemptions of yours are being "
                                                   "written; try again when they are answered")
        self.redeeming += 1
        try:
            writer.submit(Spend(message.award, member.wallet), lambda _, outcome: self._redeemed(outcome, member, now))
        except WriteFailed as exc:  # the server is stopping
            self.redeeming -= 1
            raise ProtocolError(ErrorCode.REFUSED, f"busy: {exc}; try again in a moment") from None

    def _redeemed(self, outcome: Written, member: Member, now: float) -> None:
        """The ledger's answer to a redemption asked for at ``now``: ``redeemed``, or ``error`` with the reason."""
        self.redeeming -= 1
        if isinstance(outcome, LedgerRefusal):
            self.fault(ErrorCode.REFUSED, f"{outcome.reason}: {outcome}", "redeem", now)
            return
        if isinstance(outcome, WriteFailed):
            self.fault(ErrorCode.REFUSED, f"busy: {outcome}; try again in a moment", "redeem", now)
            return
        assert outcome.redeemed_at is not None and outcome.redeemed_seq is not None
        if self.event.communities is not None:
            self.event.communities.engage(member.wallet, "redemption", 1, f"redeem:{outcome.seq}",
                                          self.event.wall_time(now))
        self.reply(Redeemed(award=outcome.seq, entitlement=outcome.entitlement, at=outcome.redeemed_at,
                            seq=outcome.redeemed_seq))

    def _leave(self, message: msg.Leave, member: Member, shard: Shard, now: float) -> None:
        self.event.leave(member.id)
        self.member = None
        self.hang_up(CloseCode.NORMAL, "goodbye")

    def _ledger(self) -> Ledger:
        if self.event.ledger is None:
            raise ProtocolError(ErrorCode.NO_LEDGER, "this server keeps no Meta-Pass ledger")
        return self.event.ledger

    # ---- handlers: hosts ------------------------------------------------------------------
    def _host_done(self, message: msg.Message) -> None:
        t, cue = self.event.show_as_set()
        self.reply(HostOk(ref=message.type, t=round(t, 3), cue=cue))

    def _host_status(self, message: msg.HostStatus, now: float) -> None:
        self.reply(host_status(self.event, self.event.wall_time(now)))


def _host(action: Callable[[Event, Any], object]) -> Callable[[Session, Any, float], None]:
    """A host handler: carry out ``action`` on the event, then answer ``host_ok``."""
    def handle(session: Session, message: Any, now: float) -> None:
        action(session.event, message)
        session._host_done(message)
    return handle


_HANDLERS: dict[type[msg.Message], Callable[[Session, Any, float], None]] = {
    msg.Ping: Session._ping,
    msg.SceneRequest: Session._scene,
    **community.ANYONE_HANDLERS,
}
"""Messages anyone joined may send, hosts included."""

_AVATAR_HANDLERS: dict[type[msg.Message], Callable[[Session, Any, Member, Shard, float], None]] = {
    msg.React: Session._react,
    msg.Chat: Session._chat,
    msg.SelfieRequest: Session._selfie,
    msg.SelfieLeave: Session._selfie_leave,
    msg.Wallet: Session._wallet,
    msg.Redeem: Session._redeem,
    msg.Leave: Session._leave,
    **community.VISITOR_HANDLERS,
}
"""Messages that need an avatar (hosts have none: ``forbidden``)."""

_HOST_HANDLERS: dict[type[msg.Message], Callable[[Session, Any, float], None]] = {
    msg.HostStart: _host(lambda event, m: event.start()),
    msg.HostPause: _host(lambda event, m: event.pause()),
    msg.HostSeek: _host(lambda event, m: event.seek(m.t)),
    msg.HostCue: _host(lambda event, m: event.fire_cue(m.index)),
    msg.HostAnnounce: _host(lambda event, m: event.announce(m.text)),
    msg.HostKick: _host(lambda event, m: event.kick(m.visitor)),
    msg.HostBan: _host(lambda event, m: event.kick(m.visitor, ban=True)),
    msg.HostDrop: _host(lambda event, m: event.set_drop(m.entitlement, m.open)),
    msg.HostNext: _host(lambda event, m: event.next_cue()),
    msg.HostStatus: Session._host_status,
    **community.HOST_HANDLERS,
}
"""Messages only a host may send (``forbidden`` to anyone else)."""
assert set(_HOST_HANDLERS) == set(msg.HOST_MESSAGES)
