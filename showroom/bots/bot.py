"""One headless visitor: joins, moves, reacts, queues for selfies, redeems vouchers.

Sans-I/O: :meth:`Bot.receive` takes one whole server message, :meth:`Bot.step` is called
by the swarm's driver loop; both hand bytes to ``self.out`` (a transport's send). The
behaviour is one of ``wander``, ``watch`` and ``selfie``; every bot reacts during looks,
chats rarely, asks for its wallet and redeems the vouchers it is awarded. A bot given a community
plan also answers polls, joins the event's community with an invite, submits an entry and votes
(:mod:`showroom.bots.community`).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from showroom.bots.community import COMMUNITY_REFS, EVENTS, REPLIES, Participant
from showroom.bots.community_plan import Plan
from showroom.bots.invites import InvitePool
from showroom.bots.scene_info import SceneInfo, scene_info
from showroom.bots.stats import Stats
from showroom.protocol import client_messages as msg
from showroom.protocol.codec import decode_server, encode, encode_move, plain_frame_time
from showroom.protocol.codes import MOVE_TO, REACTIONS, Activity
from showroom.protocol.limits import PROTOCOL_VERSION
from showroom.protocol.server_messages import (
    Awarded,
    ErrorReply,
    Handover,
    Pong,
    Redeemed,
    SelfieLeft,
    SelfieTaken,
    ServerMessageError,
    WalletContents,
    Welcome,
    read_event,
    read_message,
)
from showroom.protocol.snapshot import find_row, unpack_mascots
from showroom.scene import SceneError

BEHAVIOURS = ("wander", "watch", "selfie")
NEAR_M = 7.0
"""Ask for a selfie within this distance of the mascot (the server's limit is 8 m)."""
PING_EVERY_S = 2.0
WATCH_HZ = 1.0
REACT_PER_S = 0.3
CHAT_PER_S = 0.005
SHOW_KEY = b"\xa4show"
"""The ``show`` key of a frame's shared part, looked for in the raw bytes."""
CELL_EVENTS = (SelfieTaken,)
PERSONAL_EVENTS = (Awarded, SelfieLeft)
"""The frame events every bot reads; a community participant reads :data:`~showroom.bots.community.EVENTS` too."""


def discard(data: bytes) -> None:
    """Where a bot's messages go while it has no connection."""


def parse_mix(text: str) -> dict[str, float]:
    """``"wander:0.5,watch:0.3,selfie:0.2"`` to normalised weights; raises ValueError naming the fault."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition(":")
        if name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {name!r} (known: {', '.join(BEHAVIOURS)})")
        value = float(weight) if weight else 1.0
        if not value >= 0 or math.isinf(value):
            raise ValueError(f"behaviour {name}: weight must be a finite number >= 0, got {weight}")
        weights[name] = value
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the behaviour mix needs at least one positive weight")
    return {k: v / total for k, v in weights.items()}


class Bot:
    """A visitor's client-side state and decisions (no sockets)."""

    def __init__(self, index: int, behaviour: str, stats: Stats, rng: random.Random, move_hz: float = 10.0,
                 plan: Plan | None = None, pool: InvitePool | None = None) -> None:
        self.index = index
        self.behaviour = behaviour
        self.stats = stats
        self.rng = rng
        self.move_hz = move_hz
        self.out: Callable[[bytes], None] = discard
        self.you = -1
        self.slot = -1
        self.seat: str | None = None
        """The seat token of the last ``handover`` (an event over workers): sent with the next join."""
        self.handover: Handover | None = None
        """A front door's answer not yet followed: the connection to make next."""
        self.refused_seat = False
        """The worker refused the seat (expired): go back to the front door."""
        self.wallet_token: str | None = None
        """The wallet token of the first welcome: a bot that joins again (its worker died) keeps its awards."""
        self.welcomes = 0
        """Welcomes received: a connection that got one and then dropped had the bot in the event."""
        self.rejoins = 0
        self.scene: SceneInfo | None = None
        self.joined_at = 0.0
        self.left_at = 0.0
        self.frames = 0
        self.seq = 0
        self.goal: tuple[float, float] | None = None
        self.pos: np.ndarray | None = None
        self.next_move = self.next_goal = self.next_ping = self.next_social = 0.0
        self.best_rtt = math.inf
        self.offset_s: float | None = None
        self.look = -1
        self.mascot_pos: np.ndarray | None = None
        self.mascot_act: np.ndarray | None = None
        self.queued: str | None = None
        self.asked_at = 0.0
        self.selfies: Counter = Counter()
        self.awards: Counter = Counter()
        self.award_seqs: list[tuple[float, int]] = []
        self.wallet: list[str] | None = None
        self.wallet_asked = False
        self.done_mascots: set[str] = set()
        self.leaving = False
        self.unseen: bytes | dict[str, Any] | None = None
        """The newest frame that carried no events, decoded only when a decision needs what it shows."""
        self.unseen_show: bytes | dict[str, Any] | None = None
        """The newest frame that carried the show (sent only when it changed), read with ``unseen``."""
        self.acts: Participant | None = None
        """What the bot does in the event's community (None: nothing, as a plain load test)."""
        if plan is not None and plan.active:
            self.acts = Participant(f"bot-{index}", plan, stats, random.Random(f"{rng.random()}/community"),
                                    pool if pool is not None else InvitePool(), self.send,
                                    lambda: self.scene.palette if self.scene else ())
        self.cell_events = (*CELL_EVENTS, *EVENTS) if self.acts else CELL_EVENTS
        self.personal_events = (*PERSONAL_EVENTS, *EVENTS) if self.acts else PERSONAL_EVENTS

    # ---- sending --------------------------------------------------------------------------
    def send(self, message: msg.Message) -> None:
        """Encode and send one control message."""
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        """Send one encoded message."""
        self.out(data)
        self.stats.sent(len(data))

    def join_message(self) -> msg.Join:
        """The ``join`` this bot opens with (with an invite code when its plan joins the community)."""
        invite = self.acts.join_code(self.index) if self.acts is not None else None
        return msg.Join(v=PROTOCOL_VERSION, name=f"bot-{self.index}", role="bot", invite=invite, seat=self.seat,
                        wallet=self.wallet_token)

    def ask_wallet(self) -> None:
        """Ask the server for everything this bot holds."""
        self.wallet_asked = True
        self.send(msg.Wallet())

    def stop_queueing(self) -> None:
        """Leave any selfie queue and take no new place (the run is ending)."""
        self.done_mascots.update(self.scene.mascots if self.scene else ())
        if self.queued is not None:
            self.send(msg.SelfieLeave())
            self.queued = None

    def redeem_due(self, now: float) -> None:
        """Redeem the vouchers whose (randomly delayed) turn has come."""
        while self.award_seqs and self.award_seqs[0][0] <= now:
            self.send(msg.Redeem(award=self.award_seqs.pop(0)[1]))

    def leave(self) -> None:
        """Leave the event for good; selfies seen after this are not audited."""
        self.leaving = True
        self.send(msg.Leave())

    # ---- receiving ------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> None:
        """Handle one whole server message received at wall time ``now`` (Unix seconds)."""
        self.stats.received(len(data))
        st = plain_frame_time(data)
        if st is not None:  # most frames: only their timing counts now
            self._count_frame(st, now)
            self.unseen = data
            if data.find(SHOW_KEY, 40) >= 0:  # the show changed: kept, as later frames leave it out (a light fade
                self.unseen_show = data       # changes it every tick: decoding each one would swamp the bots)
            return
        try:
            self._message(decode_server(data), now)
        except ServerMessageError:  # a field this bot cannot read: counted, never the end of the bot
            self.stats.errors["bad_server_message"] += 1

    def _message(self, value: Any, now: float) -> None:
        if isinstance(value, list):
            self.unseen = value[1]
            if "show" in value[1]:
                self.unseen_show = value[1]
            self._count_frame(float(value[1]["st"]), now)
            self._frame(value[0], value[1], now)
            return
        message = read_message(value)
        if isinstance(message, Awarded):  # on its own, as soon as it is in the ledger (or in a frame)
            self._awarded(message, now)
        elif isinstance(message, Handover):
            self.handover = message
        elif isinstance(message, Welcome):
            self.you = message.you
            self.slot = message.slot
            try:
                self.scene = scene_info(message.scene)
            except SceneError:  # nothing to find its way by: count it and go
                self.stats.errors["bad_scene"] += 1
                self.leave()
                return
            self.joined_at = now
            self.stats.joins_ok += 1
            self.welcomes += 1
            self.wallet_token = self.wallet_token or message.wallet
            self.send(msg.Ping(t=time.time()))
            self.next_ping = now + PING_EVERY_S
            if self.acts is not None:
                self.acts.welcomed(self.scene.community, now)
        elif isinstance(message, Pong):
            self._pong(message.t, message.st, time.time())
        elif isinstance(message, ErrorReply):
            self._error(message)
        elif isinstance(message, WalletContents):
            self.wallet = [item.entitlement for item in message.items]
        elif isinstance(message, Redeemed):
            self.stats.redeemed += 1
        elif self.acts is not None and isinstance(message, REPLIES):
            self.acts.receive(message, now)

    def _error(self, error: ErrorReply) -> None:
        code = str(error.code)
        self.stats.errors[code] += 1
        if error.ref == "join" and code == "seat_refused":
            self.refused_seat = True
        elif error.ref == "join":
            again, invite = self.acts.join_refused(error, self.index) if self.acts is not None else (False, None)
            if again:  # the connection stays open for another join
                self.send(msg.Join(v=PROTOCOL_VERSION, name=f"bot-{self.index}", role="bot", invite=invite))
            else:
                self.stats.joins_failed += 1
        elif error.ref in COMMUNITY_REFS:
            if self.acts is not None:
                self.acts.refused(error)
        elif error.ref == "redeem":
            self.stats.refused[error.message.split(":", 1)[0]] += 1
        elif error.ref == "selfie":
            if code != "not_near" and self.queued is not None:
                self.done_mascots.add(self.queued)
            self.queued = None

    def _pong(self, t_sent: float, st: float, t_now: float) -> None:
        rtt = t_now - t_sent
        if rtt < self.best_rtt:
            self.best_rtt = rtt
            self.offset_s = st - (t_sent + t_now) / 2.0

    def _count_frame(self, st: float, now: float) -> None:
        self.frames += 1
        self.stats.snapshots += 1
        if self.offset_s is not None:
            self.stats.latency(now - (st - self.offset_s))

    def _look_at_latest(self) -> None:
        """Read the show and the mascots from the newest frame, if one arrived since: only when a
        decision needs them, so the frames of one tick (thousands of bots) are not all decoded."""
        unseen, show_frame = self.unseen, self.unseen_show
        self.unseen = self.unseen_show = None
        if show_frame is not None and show_frame is not unseen:  # an older frame changed the show: its show first
            self._read_show(decode_server(show_frame)[1] if isinstance(show_frame, bytes) else show_frame)
        if unseen is not None:
            self._see(decode_server(unseen)[1] if isinstance(unseen, bytes) else unseen)

    def _read_show(self, cell: dict[str, Any]) -> None:
        show = cell.get("show")
        if show is not None:  # only in frames where it changed
            self.look = int(show["look"])

    def _see(self, cell: dict[str, Any]) -> None:
        self._read_show(cell)
        mascots = unpack_mascots(cell["mascots"])
        self.mascot_act = mascots.activity
        if self.behaviour == "selfie":
            self.mascot_pos = mascots.pos
            where = find_row(cell, self.slot)  # a row comes when the avatar moved: else it stands where it was
            if where is not None:
                self.pos = where

    def _frame(self, personal: dict[str, Any], cell: dict[str, Any], now: float) -> None:
        for raw in cell["events"]:
            event = read_event(raw, *self.cell_events)
            if isinstance(event, SelfieTaken):
                if event.visitor == self.you and not self.leaving:
                    self.selfies[event.mascot] += 1
                    self.done_mascots.add(event.mascot)
                    self.queued = None
            elif event is not None and self.acts is not None:
                self.acts.receive(event, now)
        for raw in personal["events"]:
            event = read_event(raw, *self.personal_events)
            if event is not None and self.acts is not None and isinstance(event, EVENTS):
                self.acts.receive(event, now)
            elif isinstance(event, Awarded):
                self._awarded(event, now)
            elif isinstance(event, SelfieLeft):
                self.queued = None
                self.done_mascots.add(event.mascot)

    def _awarded(self, event: Awarded, now: float) -> None:
        self.awards[event.entitlement] += 1
        if event.kind == "voucher":
            self.award_seqs.append((now + self.rng.uniform(0.3, 1.5), event.seq))

    # ---- deciding -------------------------------------------------------------------------
    def step(self, now: float) -> None:
        """Send whatever is due at wall time ``now``: movement, pings, reactions, redemptions."""
        if self.scene is None or self.leaving:
            return
        if now >= self.next_ping:
            self.next_ping = now + PING_EVERY_S
            self.send(msg.Ping(t=time.time()))
        self.redeem_due(now)
        if self.acts is not None and self.acts.agenda:
            self.acts.due(now)
        if now >= self.next_social:
            self._look_at_latest()
            self._social(now)
        if now >= self.next_goal:
            self._look_at_latest()
            self._choose_goal(now)
        if self.goal is not None and now >= self.next_move:
            hz = WATCH_HZ if self.behaviour == "watch" else self.move_hz
            self.next_move = now + 1.0 / hz
            self.seq += 1
            self.send_bytes(encode_move(MOVE_TO, self.seq, self.goal[0], self.goal[1]))

    def _social(self, now: float) -> None:
        self.next_social = now + 1.0
        rng = self.rng
        if self.look >= 0 and rng.random() < REACT_PER_S:
            self.send(msg.React(reaction=rng.choice(REACTIONS)))
        if rng.random() < CHAT_PER_S:
            self.send(msg.Chat(text=f"hello from bot {self.index}"))
        if not self.wallet_asked and rng.random() < 0.05:
            self.ask_wallet()

    def _choose_goal(self, now: float) -> None:
        assert self.scene is not None
        rng = self.rng
        if self.behaviour == "selfie" and self._selfie(now):
            return
        if self.behaviour == "watch" and self.scene.audience_boxes:
            x0, y0, x1, y1 = rng.choice(self.scene.audience_boxes)
            self.goal = (rng.uniform(x0 + 0.5, x1 - 0.5), rng.uniform(y0 + 0.5, y1 - 0.5))
            self.next_goal = now + rng.uniform(30.0, 90.0)
            return
        w, d = self.scene.size_m
        self.goal = (rng.uniform(1.0, w - 1.0), rng.uniform(1.0, d - 1.0))
        self.next_goal = now + (rng.uniform(0.5, 2.0) if self.behaviour == "selfie" else rng.uniform(2.0, 6.0))

    def _selfie(self, now: float) -> bool:
        """Walk to a mascot holding a selfie session and queue; False when there is none to visit."""
        assert self.scene is not None
        self.next_goal = now + 0.5
        if self.queued is not None:
            if self.pos is not None:
                self.goal = (float(self.pos[0]), float(self.pos[1]))
            return True
        if self.mascot_act is None or self.mascot_pos is None:
            return False
        open_ = [m for m in np.flatnonzero(self.mascot_act == Activity.SELFIE)
                 if m < len(self.scene.mascots) and self.scene.mascots[m] not in self.done_mascots]
        if not open_:
            return False
        m = int(open_[0])
        target = self.mascot_pos[m]
        w, d = self.scene.size_m
        self.goal = (float(np.clip(target[0], 1, w - 1)), float(np.clip(target[1] - 3.0, 1, d - 1)))
        if self.pos is not None and float(np.hypot(*(self.pos - target))) < NEAR_M and now - self.asked_at > 1.0:
            self.asked_at = now
            self.queued = self.scene.mascots[m]
            self.send(msg.SelfieRequest(mascot=self.queued))
        return True
