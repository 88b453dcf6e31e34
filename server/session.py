"""One connection's protocol state: bytes in, actions on the event, bytes out.

Sans-I/O: the transport calls :meth:`Session.receive` with each binary message and
:meth:`Session.closed` when the socket goes; the session answers through its link.
Faults a client can recover from get an ``error`` message and the connection stays;
repeated faults (``ABUSE_LIMIT`` within ``ABUSE_WINDOW_S``) close it with 1008.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass

from server.event import Event
from server.ledger_store import Ledger, LedgerRefusal
from server.rewards import wallet_key
from server.shard import Link, Member, Shard
from server.status import host_status
from showroom.protocol import messages as msg
from showroom.protocol.codec import MOVE_TO, MoveInput, decode_client, encode, encode_error
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import (
    ABUSE_LIMIT, ABUSE_WINDOW_S, CHAT_RATE_HZ, CONTROL_RATE_HZ, INPUT_RATE_HZ, PROTOCOL_VERSION,
)

log = logging.getLogger("showroom.server")


@dataclass
class Bucket:
    """A token bucket: ``rate`` per second, up to ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = 0.0
    at: float = 0.0

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate) if self.at else self.burst
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
        self.faults: deque[float] = deque(maxlen=ABUSE_LIMIT)
        self.open = True
        self.scene_version = 0
        """The scene version this connection was last sent (in ``welcome`` or a ``scene`` answer)."""

    # ---- entry points from the transport --------------------------------------------
    def receive(self, data: bytes, now: float | None = None) -> None:
        """Handle one binary message from the client."""
        now = time.monotonic() if now is None else now
        self.event.metrics.count_in(len(data))
        ref = None
        try:
            message = decode_client(data)
            ref = "move" if isinstance(message, MoveInput) else message.type  # type: ignore[union-attr]
            self._handle(message, now)
        except ProtocolError as exc:
            self.fault(exc.code, exc.message, ref, now)

    def receive_text(self, now: float | None = None) -> None:
        """A text frame: the protocol is binary only."""
        self.fault(ErrorCode.BAD_FRAME, "send binary WebSocket messages holding msgpack, not text", None,
                   time.monotonic() if now is None else now)

    def closed(self, now: float | None = None) -> None:
        """The socket is gone: keep a visitor's avatar for the resume window."""
        self.open = False
        self.event.hosts.discard(self.link)
        if self.member is not None and self.member.link is self.link:
            self.event.drop(self.member.id, time.monotonic() if now is None else now)

    def fault(self, code: ErrorCode, message: str, ref: str | None, now: float) -> None:
        """Answer an error; close the connection after too many in a short time."""
        self.send(encode_error(code, message, ref))
        self.event.metrics.errors_sent += 1
        self.faults.append(now)
        if len(self.faults) == ABUSE_LIMIT and now - self.faults[0] <= ABUSE_WINDOW_S and self.open:
            log.warning("closing %s after %d errors in %.0f s", self.peer, ABUSE_LIMIT, ABUSE_WINDOW_S)
            self.open = False
            self.link.close(CloseCode.POLICY_VIOLATION, "too many bad messages")

    def send(self, data: bytes) -> None:
        """Send a control message (never skipped)."""
        if self.open:
            self.link.send(data)

    # ---- dispatch -----------------------------------------------------------------------
    def _handle(self, message: msg.Message | MoveInput, now: float) -> None:
        if isinstance(message, MoveInput):
            self._move(message, now)
            return
        if not self.control.take(now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {CONTROL_RATE_HZ:g} control messages per second")
        if isinstance(message, msg.Join):
            self._join(message)
            return
        if self.member is None and self.role != "host":
            raise ProtocolError(ErrorCode.NOT_JOINED, "send join first")
        if isinstance(message, msg.HOST_MESSAGES):
            if self.role != "host":
                log.warning("%s (%s) sent host command %s", self.peer, self.role, message.type)
                raise ProtocolError(ErrorCode.FORBIDDEN, f"{message.type} is for hosts only")
            if isinstance(message, msg.HostStatus):
                self.send(encode(host_status(self.event)))
                return
            self._host(message)
            cue = self.event.shards[0].world.show.state_at(self.event.show_t).cue
            self.send(encode({"type": "host_ok", "ref": message.type, "t": round(self.event.show_t, 3), "cue": cue}))
            return
        if isinstance(message, msg.Ping):
            self.send(encode({"type": "pong", "t": message.t, "st": time.time()}))
            return
        if isinstance(message, msg.SceneRequest):
            self._scene()
            return
        if self.member is None or self.shard is None:
            raise ProtocolError(ErrorCode.FORBIDDEN, f"{message.type} needs an avatar; hosts have none")
        if isinstance(message, msg.React):
            self.shard.react(self.member, message.reaction, self.event.show_t)
            if self.event.rewards is not None and self.member.wallet:
                look = self.shard.world.show.state_at(self.event.show_t).look
                self.event.rewards.on_reaction(self.member.wallet, message.reaction, look)
        elif isinstance(message, msg.Chat):
            if not self.chat.take(now):
                raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {CHAT_RATE_HZ:g} chat line per second")
            self.shard.announce({"type": "chat", "from": self.member.id, "name": self.member.name, "text": message.text})
        elif isinstance(message, msg.SelfieRequest):
            self._selfie(message)
        elif isinstance(message, msg.SelfieLeave):
            left = self.shard.desk.leave(self.member.id)
            if left is not None:
                self.member.events.append({"type": "selfie_left", "mascot": left, "reason": "requested"})
        elif isinstance(message, msg.Wallet):
            self._wallet()
        elif isinstance(message, msg.Redeem):
            self._redeem(message)
        elif isinstance(message, msg.Leave):
            self.event.leave(self.member.id)
            self.member = None
            self.open = False
            self.link.close(CloseCode.NORMAL, "goodbye")

    def _join(self, join: msg.Join) -> None:
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
        try:
            if join.resume:
                self.wallet_token = join.wallet or ""
                shard, member = self.event.rejoin(join.resume, join.name, self.link)
            else:
                self.wallet_token = join.wallet or secrets.token_urlsafe(24)
                shard, member = self.event.join(join.name, join.role, self.link, wallet_key(self.wallet_token))
        except ProtocolError as exc:
            if exc.code in (ErrorCode.EVENT_FULL, ErrorCode.BANNED):
                self.send(encode_error(exc.code, exc.message, "join"))
                self.open = False
                close = CloseCode.TRY_AGAIN_LATER if exc.code == ErrorCode.EVENT_FULL else CloseCode.POLICY_VIOLATION
                self.link.close(close, exc.message)
                return
            raise
        self.role, self.shard, self.member = join.role, shard, member
        self._welcome(shard, member)

    def _welcome(self, shard: Shard | None, member: Member | None) -> None:
        scene = self.event.scene
        self.send(encode({
            "type": "welcome", "v": PROTOCOL_VERSION,
            "you": member.id if member else -1,
            "shard": shard.number if shard else -1,
            "role": self.role,
            "resume": member.resume if member else "",
            "wallet": self.wallet_token,
            "tick_hz": round(1 / self.event.dt_s),
            "event": {"id": scene.event.id, "title": scene.event.title, "duration": scene.event.duration},
            "scene": self.event.scene_text,
            "scene_version": self.event.reloader.version,
            "playing": self.event.playing,
            "t": round(self.event.show_t, 3),
        }))
        self.scene_version = self.event.reloader.version

    def _scene(self) -> None:
        """Send the running scene's text once per version: what a ``scene_changed`` event tells clients to fetch."""
        version = self.event.reloader.version
        if self.scene_version == version:
            raise ProtocolError(ErrorCode.RATE_LIMITED,
                                f"you already have scene version {version}; ask again after a scene_changed event")
        self.scene_version = version
        self.send(encode({"type": "scene", "version": version, "text": self.event.scene_text}))

    def _move(self, move: MoveInput, now: float) -> None:
        if self.member is None or self.shard is None:
            raise ProtocolError(ErrorCode.NOT_JOINED, "join with an avatar before moving")
        if not self.inputs.take(now):
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"at most {INPUT_RATE_HZ:g} movement inputs per second")
        if move.kind == MOVE_TO:
            width, depth = self.event.scene.venue.size
            if not (0.0 <= move.x <= width and 0.0 <= move.y <= depth):
                raise ProtocolError(ErrorCode.OUT_OF_BOUNDS,
                                    f"({move.x:.2f}, {move.y:.2f}) is outside the {width:g} x {depth:g} m venue")
        self.shard.queue_move(self.member, move)

    def _selfie(self, request: msg.SelfieRequest) -> None:
        assert self.shard is not None and self.member is not None
        desk = self.shard.desk
        mascot = desk.index(request.mascot)
        position, size = desk.request(self.member.id, mascot, self.shard.position_of(self.member.id),
                                      self.shard.world.frame, priority=self._has_perk("selfie_priority"))
        self.member.events.append({"type": "selfie_queue", "mascot": request.mascot, "position": position, "size": size})

    def _has_perk(self, perk: str) -> bool:
        """Whether this visitor holds a Meta-Pass tier with ``perk``."""
        return self.member is not None and perk in self.event.perks(self.member.wallet)

    def _ledger(self) -> Ledger:
        if self.event.ledger is None:
            raise ProtocolError(ErrorCode.NO_LEDGER, "this server keeps no Meta-Pass ledger")
        return self.event.ledger

    def _wallet(self) -> None:
        assert self.member is not None
        ledger = self._ledger()
        names = {e.id: e.name for e in self.event.scene.entitlements}
        items = [{**a.as_dict(), "name": names.get(a.entitlement, a.entitlement)} for a in ledger.wallet(self.member.wallet)]
        self.send(encode({"type": "wallet", "visitor": self.member.wallet, "items": items, "pubkey": ledger.public_key}))

    def _redeem(self, request: msg.Redeem) -> None:
        assert self.member is not None
        try:
            award = self._ledger().redeem(request.award, self.member.wallet)
        except LedgerRefusal as exc:
            raise ProtocolError(ErrorCode.REFUSED, f"{exc.reason}: {exc}") from None
        self.send(encode({"type": "redeemed", "award": award.seq, "entitlement": award.entitlement,
                          "at": award.redeemed_at, "seq": award.redeemed_seq}))

    def _host(self, message: msg.Message) -> None:
        event = self.event
        if isinstance(message, msg.HostStart):
            event.start()
        elif isinstance(message, msg.HostPause):
            event.pause()
        elif isinstance(message, msg.HostSeek):
            event.seek(message.t)
        elif isinstance(message, msg.HostCue):
            event.fire_cue(message.index)
        elif isinstance(message, msg.HostAnnounce):
            event.announce(message.text)
        elif isinstance(message, (msg.HostKick, msg.HostBan)):
            event.kick(message.visitor, ban=isinstance(message, msg.HostBan))
        elif isinstance(message, msg.HostDrop):
            event.set_drop(message.entitlement, message.open)
        elif isinstance(message, msg.HostNext):
            event.next_cue()
        log.info("host %s: %s", self.peer, message.type)

