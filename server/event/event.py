"""The live event: one show clock, the shards that mirror it, and what hosts change.

Sans-I/O like the shard: every method that needs the time takes it (``now``: seconds on a
monotonic clock; ``wall``: Unix seconds). Visitor ids are unique across shards and always
increase. Host actions reach every shard in the next tick. The venue index and the compiled
show are built once (:class:`~server.event.shard.Stage`) and shared by every shard, so
opening a shard for the next visitor costs no navigation build.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from server.event.clock import Anchor, SharedClock
from server.event.community.hub import Communities
from server.event.link import Link
from server.event.metrics import Metrics
from server.event.reload import Edit, Pending, SceneReloader, next_cue_start, read_edit
from server.event.rewards import Rewards
from server.event.seats import Member
from server.event.shard import Shard, Stage
from server.storage.ledger import Ledger
from server.storage.ledger_writer import LedgerWriter
from showroom.protocol.codec import encode
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import MAX_ANNOUNCE_CHARS, RESUME_WINDOW_S, TICK_HZ
from showroom.protocol.server_messages import (
    Announcement,
    Audience,
    Awarded,
    CueStarted,
    DropChanged,
    Reload,
    SceneChanged,
    ServerMessage,
    ShowChanged,
    ShowState,
)
from showroom.scene.model import Scene
from showroom.scene.timecode import format_clock

log = logging.getLogger("showroom.server")

FIRST_VISITOR_ID = 1000
"""Visitor ids start here; ids below are mascots (their index in the scene)."""
MAX_SHARDS = 16
"""Shards one process will open; visitors beyond get ``event_full``."""
ATTENDANCE_BLOCK_S = 300
"""Attendance goes into a community's engagement log in blocks of this many seconds."""
AUDIENCE_AGAIN_S = 10
"""The event's ``audience`` goes out when it changes and at least this often (seconds), for newcomers."""
LEDGER_ACKS_PER_TICK = 500
"""The ledger's acknowledgements one tick delivers at most (~5 µs each, and each makes a frame head
personal): a 2,000-award batch reaches its visitors over four ticks rather than making one tick 20 ms
longer. Not a throughput cap: 10,000 a second, five times what the writer sustains between ticks."""


class SeatGate(Protocol):
    """How a worker of an event spread over processes seats a visitor: the front door's seat token is checked
    and confirmed with the shared seat registry (asynchronously), then ``seated(shard number, seat id)`` or
    ``refused(reason)`` runs on the loop; a seat is given back when its visitor is gone for good."""

    front_door: str

    def confirm(self, token: str, seated: Callable[[int, str], None], refused: Callable[[str], None]) -> None: ...

    def release(self, shard: int, seat: str) -> None: ...


class Event:
    """An event run from a scene: show clock, shards, bans, resume tokens.

    Alone, an event's process owns its show clock and every shard. As one worker of an event spread over
    processes (:mod:`server.cluster`), it owns the shards numbered ``shard_numbers``, its ticks run on the
    wall clock's grid with the show time from a :class:`~server.event.clock.SharedClock` (:attr:`clock`),
    visitors come with seats (:attr:`gate`), and host actions go to every worker through :attr:`relay`
    before any applies them (:meth:`apply_relayed`).
    """

    def __init__(self, scene: Scene, *, host_token: str, scene_text: str = "", tick_hz: int = TICK_HZ,
                 playing: bool = True, max_shards: int = MAX_SHARDS, ledger: Ledger | None = None,
                 writer: LedgerWriter | None = None, scene_source: str = "scene",
                 shard_numbers: Sequence[int] | None = None, first_id: int = FIRST_VISITOR_ID) -> None:
        """The event of ``scene``. With a ``ledger`` (read on the loop: wallets, stock, perks) comes the
        ``writer`` that owns its writes on a thread of its own (awards, redemptions, checkpoints). A worker
        of a bigger event opens the shards ``shard_numbers`` (else 0 to ``max_shards`` - 1) and numbers its
        visitors from ``first_id``."""
        if (ledger is None) != (writer is None):
            raise ValueError("a ledger and its writer come together")
        self.scene = scene
        self.scene_text = scene_text
        self.host_token = host_token
        self.tick_hz = tick_hz
        self.dt_s = 1.0 / tick_hz
        self.shard_numbers = list(shard_numbers) if shard_numbers is not None else list(range(max_shards))
        if not self.shard_numbers:
            raise ValueError("an event needs at least one shard")
        self.max_shards = len(self.shard_numbers)
        self.capacity = scene.event.shard_capacity
        self.stage = Stage.build(scene)
        self.ledger = ledger
        self.writer = writer
        self.in_tick = False
        """Whether a tick runs now (what the ledger acknowledges then goes out in its frames)."""
        self.rewards = Rewards(scene, writer, self.perks, self._awarded) if writer is not None else None
        self.shards: list[Shard] = [self._new_shard(self.shard_numbers[0])]
        """Open shards, in the order of :attr:`shard_numbers` (a visitor's place is its index here)."""
        self.show_t = 0.0
        self.playing = playing
        self.tick_no = 0
        self.next_id = first_id
        self.resume: dict[str, tuple[int, int]] = {}
        self.banned: set[str] = set()
        self.drops: dict[str, bool] = {}
        self.metrics = Metrics()
        self.last_cue = -1
        self.where: dict[int, int] = {}
        self.on_ban: Callable[[str], None] = lambda name: None
        self.wallets: dict[str, int] = {}
        """Wallet key of every visitor present, to their member id (to deliver awards)."""
        self.links: set[Link] = set()
        """Every open connection (visitors, bots and hosts), so a stop can close them all."""
        self.hosts: set[Link] = set()
        """Connections joined as hosts: they get ``reload`` messages."""
        self.reloader = SceneReloader(scene, scene_text, scene_source)
        self.wall_offset = 0.0
        """Unix time minus the monotonic clock, as of the last tick (to stamp ``pong`` between ticks)."""
        self.communities: Communities | None = None
        """The communities this event serves (with a data directory and community files), else None."""
        self.promised: Anchor | None = None
        """The show clock change a host's action asked for, until the answer to it says where the show will be."""
        self.clock: SharedClock | None = None
        """The event's show clock shared with other workers (None: this process owns the show clock)."""
        self.relay: Callable[[str, dict[str, Any]], None] | None = None
        """Hands a host action to every worker of the event, this one included (None: applied here at once)."""
        self.gate: SeatGate | None = None
        """Checks visitors' seats when the event's front door hands them out (None: anyone may join)."""
        self.peer_counts: Callable[[], dict[str, int]] | None = None
        """The event-wide counts (visitors, connected, shards) across workers, as last heard (None: this process)."""
        self.peer_shards: Callable[[], list[tuple[int, int, int]]] | None = None
        """The other workers' shards as last heard: (number, avatars, connected) (None: this process)."""
        self.peer_audience: Callable[[], tuple[int, dict[str, int]]] | None = None
        """Over workers: the other workers' connected visitors and reaction totals, as they last published them."""
        self.told_audience: tuple[int, dict[str, int]] | None = None
        """The audience the shards were last told (see :meth:`_tell_audience`)."""

    def _new_shard(self, number: int) -> Shard:
        attended = len(self.rewards.attended) if self.rewards is not None else 0
        return Shard(number, self.stage, self.capacity, dt_s=self.dt_s, attendance_rules=attended)

    def wall_time(self, now: float) -> float:
        """Unix seconds at monotonic time ``now``."""
        return now + self.wall_offset

    # ---- visitors ---------------------------------------------------------------
    def join(self, name: str, role: str, link: Link, wallet: str, now: float, *,
             shard_number: int | None = None, seat: str = "") -> tuple[Shard, Member]:
        """Give a new visitor an avatar in the first shard with room (opening one if needed), or in shard
        ``shard_number`` on the ``seat`` the event's front door reserved there."""
        if name.casefold() in self.banned:
            raise ProtocolError(ErrorCode.BANNED, f"{name!r} is banned from this event")
        if self.communities is not None:
            why = self.communities.may_enter(wallet)
            if why is not None:
                raise ProtocolError(ErrorCode.MEMBERS_ONLY, why)
        if shard_number is not None:
            if shard_number not in self.shard_numbers:
                raise ProtocolError(ErrorCode.SEAT_REFUSED, f"this worker holds no shard {shard_number}")
            shard = self._open(self.shard_numbers.index(shard_number))
            if not shard.has_room():
                raise ProtocolError(ErrorCode.EVENT_FULL, f"shard {shard_number} is full; try again later")
        else:
            found = next((s for s in self.shards if s.has_room()), None)
            if found is None:
                if len(self.shards) >= self.max_shards:
                    raise ProtocolError(ErrorCode.EVENT_FULL, "every shard of this event is full; try again later")
                found = self._open(len(self.shards))
            shard = found
        token = secrets.token_urlsafe(24)
        member = shard.admit(self.next_id, name, role, link, token, wallet, now)
        member.seat = seat
        self.next_id += 1
        place = self.shards.index(shard)
        self.resume[token] = (place, member.id)
        self.where[member.id] = place
        if wallet:
            self.wallets[wallet] = member.id
            if self.rewards is not None:
                self.rewards.on_join(wallet)
            if self.communities is not None:
                self.communities.visited(wallet, self.wall_time(now))
                member.events.extend(self.communities.open_polls(wallet))  # polls opened before they came
            self.apply_perks(member)
        return shard, member

    def _open(self, place: int) -> Shard:
        """The shard at ``place`` in :attr:`shard_numbers`, opening it (and any before it) at the show time."""
        while len(self.shards) <= place:
            shard = self._new_shard(self.shard_numbers[len(self.shards)])
            shard.world.set_show_time(self.show_t)
            self.shards.append(shard)
        return self.shards[place]

    def _gone(self, member: Member, shard: Shard) -> None:
        """A visitor left for good: their seat goes back to the event's seat registry."""
        if member.seat and self.gate is not None:
            self.gate.release(shard.number, member.seat)

    def tell_wallet(self, wallet: str, event: ServerMessage) -> None:
        """A personal event for the visitor holding ``wallet``, if they are here."""
        holder = self.member(self.wallets.get(wallet, -1))
        if holder is not None:
            holder.events.append(event)

    def rejoin(self, token: str, name: str, link: Link) -> tuple[Shard, Member]:
        """Reattach a dropped visitor to their avatar and shard with their resume token."""
        found = self.resume.get(token)
        if found is None:
            raise ProtocolError(ErrorCode.RESUME_FAILED, "unknown or expired resume token")
        shard = self.shards[found[0]]
        member = shard.members.get(found[1])
        if member is None:
            self.resume.pop(token, None)
            raise ProtocolError(ErrorCode.RESUME_FAILED, "unknown or expired resume token")
        if name.casefold() in self.banned:
            raise ProtocolError(ErrorCode.BANNED, f"{name!r} is banned from this event")
        if member.link is not None:
            member.link.close(CloseCode.POLICY_VIOLATION, "resumed from another connection")
        member.link = link
        member.detached_until = 0.0
        shard.resume(member)
        return shard, member

    def drop(self, member_id: int, now: float) -> None:
        """A visitor's connection closed: keep the avatar for the resume window."""
        shard = self._shard_of(member_id)
        if shard is not None:
            shard.detach(member_id, now + RESUME_WINDOW_S)

    def leave(self, member_id: int) -> None:
        """A visitor left for good."""
        shard = self._shard_of(member_id)
        if shard is not None:
            member = shard.remove(member_id)
            if member is not None:
                self.resume.pop(member.resume, None)
                self._gone(member, shard)
        self.where.pop(member_id, None)

    def member(self, member_id: int) -> Member | None:
        """A visitor by id, in whichever shard."""
        shard = self._shard_of(member_id)
        return None if shard is None else shard.members.get(member_id)

    def _shard_of(self, member_id: int) -> Shard | None:
        number = self.where.get(member_id)
        return None if number is None else self.shards[number]

    @property
    def visitors(self) -> int:
        """Avatars in every shard (attached or waiting to resume)."""
        return sum(s.occupied for s in self.shards)

    @property
    def connected(self) -> int:
        """Avatars whose connection is open (read on request, never per tick)."""
        return sum(s.seats.connected for s in self.shards)

    def cue_now(self) -> int:
        """The latest timeline cue started at the show time, -1 before the first."""
        return self.shards[0].world.show.state_at(self.show_t).cue

    # ---- host actions -----------------------------------------------------------------
    def broadcast(self, event: ServerMessage) -> None:
        """An event for every visitor of every shard in the next tick."""
        for shard in self.shards:
            shard.announce(event)

    def start(self) -> None:
        """Play the show clock."""
        if self.clock is not None:
            self._propose(self.clock.propose(playing=True))
            return
        self.playing = True
        self.broadcast(ShowChanged(playing=True, t=round(self.show_t, 3)))

    def pause(self) -> None:
        """Hold the show clock."""
        if self.clock is not None:
            self._propose(self.clock.propose(playing=False))
            return
        self.playing = False
        self.broadcast(ShowChanged(playing=False, t=round(self.show_t, 3)))

    def seek(self, t: float) -> None:
        """Move the show clock (clamped to the show's length)."""
        if self.clock is not None:
            self._propose(self.clock.propose(seek_to=t))
            return
        self.show_t = min(max(t, 0.0), self.scene.event.duration)
        for shard in self.shards:
            shard.world.set_show_time(self.show_t)
        self._show_moved()

    def _show_moved(self) -> None:
        """The show clock jumped: tell visitors, and move a scene edit waiting for a cue boundary."""
        self.broadcast(ShowChanged(playing=self.playing, t=round(self.show_t, 3)))
        moved = self.reloader.reschedule(self.show_t)
        if moved is not None:
            self.tell_hosts(moved)

    def fire_cue(self, index: int) -> None:
        """Jump to the start of a timeline cue."""
        if not 0 <= index < len(self.scene.timeline):
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no cue {index} (the timeline has {len(self.scene.timeline)})")
        self.seek(self.scene.timeline[index].at)

    def next_cue(self) -> int:
        """Jump to the start of the next cue after the show time; return its index."""
        at_s, index = next_cue_start(self.scene, self.show_t)
        if index < 0:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                f"no cue starts after {format_clock(self.show_t)}; this is the last part of the show")
        self.seek(at_s)
        return index

    def announce(self, text: str) -> None:
        """An announcement in every shard."""
        if self.relay is not None:
            self._relay("announce", {"text": text})
            return
        self.broadcast(Announcement(text=text))

    def kick(self, member_id: int, ban: bool = False) -> None:
        """Disconnect a visitor at once from whichever shard holds them; a ban also refuses the name.

        Over workers, a visitor held by no shard here is looked for by every other worker."""
        if self.relay is not None and self.member(member_id) is None:
            self._relay("kick", {"id": member_id, "ban": ban})
            return
        shard = self._shard_of(member_id)
        member = shard.members.get(member_id) if shard is not None else None
        if shard is None or member is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no visitor {member_id}")
        if ban:
            self.banned.add(member.name.casefold())
            self.on_ban(member.name)
            if self.relay is not None:
                self._relay("ban", {"name": member.name})
        link = member.link
        self.leave(member_id)
        if link is not None:
            link.close(CloseCode.POLICY_VIOLATION, "banned by the host" if ban else "removed by the host")
        log.warning("host %s visitor %s (%s)", "banned" if ban else "kicked", member_id, member.name)

    def set_drop(self, entitlement: str, open_: bool) -> None:
        """Open or close a voucher drop."""
        known = {e.id for e in self.scene.entitlements if e.kind == "voucher"}
        if entitlement not in known:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                f"unknown voucher {entitlement!r} (known: {', '.join(sorted(known))})")
        if self.relay is not None:
            self._relay("drop", {"entitlement": entitlement, "open": open_})
            return
        self._set_drop(entitlement, open_)

    def _set_drop(self, entitlement: str, open_: bool) -> None:
        self.drops[entitlement] = open_
        if self.rewards is not None:
            (self.rewards.closed_drops.discard if open_ else self.rewards.closed_drops.add)(entitlement)
        self.broadcast(DropChanged(entitlement=entitlement, open=open_))

    # ---- an event over workers ----------------------------------------------------------
    def _propose(self, anchor: Anchor) -> None:
        self.promised = anchor
        self._relay("show", anchor.wire())

    def show_as_set(self) -> tuple[float, int]:
        """The show time and cue a host's action just set (over workers it takes effect three ticks later)."""
        promised, self.promised = self.promised, None
        t = promised.t if promised is not None else self.show_t
        return t, self.shards[0].world.show.state_at(t).cue

    def _relay(self, kind: str, body: dict[str, Any]) -> None:
        assert self.relay is not None
        self.relay(kind, body)

    def apply_relayed(self, kind: str, body: dict[str, Any], seq: int) -> None:
        """A host action every worker of the event applies (this one's too), in the broker's order ``seq``.

        A body that does not read as its kind is logged and ignored: another worker's bug must not stop this one.
        """
        try:
            if kind == "show":
                if self.clock is not None:
                    self.clock.schedule(Anchor.read(body, seq))
            elif kind == "announce":
                self.broadcast(Announcement(text=str(body["text"])[:MAX_ANNOUNCE_CHARS]))
            elif kind == "drop":
                known = {e.id for e in self.scene.entitlements if e.kind == "voucher"}
                if body["entitlement"] in known and self.drops.get(body["entitlement"]) != bool(body["open"]):
                    self._set_drop(str(body["entitlement"]), bool(body["open"]))
            elif kind == "kick":
                if self.member(int(body["id"])) is not None:  # held here: kicked here, and kick relays the ban
                    self.kick(int(body["id"]), bool(body["ban"]))
            elif kind == "ban":
                self.banned.add(str(body["name"]).casefold())
            elif kind == "scene":
                self._relayed_scene(str(body["text"]))
            elif kind == "polls":  # a poll opened or closed on some worker: the store has them
                if self.communities is not None:
                    self.communities.polls.refresh()
            else:
                log.warning("ignored a relayed host action of unknown kind %r (seq %d)", kind, seq)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("ignored a relayed %s action (seq %d) that does not read: %s", kind, seq, exc)

    def _apply_clock(self, wall: float) -> None:
        """Show time from the shared clock at this tick of the wall clock's grid; anchors due now take effect."""
        assert self.clock is not None
        tick = round(wall * self.tick_hz)
        show_t, applied = self.clock.at(tick)
        self.show_t = show_t
        self.playing = self.clock.current.playing
        for done in applied:
            if done.late_ticks:
                self.metrics.clock_late(done.late_ticks, done.off_s)
            self.metrics.clock_applied()
            if done.anchor.seek:
                for shard in self.shards:
                    shard.world.set_show_time(show_t)
            self._show_moved()

    # ---- hot reload ---------------------------------------------------------------------
    def tell_hosts(self, message: ServerMessage) -> None:
        """A control message to every connected host."""
        data = encode(message)
        for link in list(self.hosts):
            link.send(data)

    def offer_scene(self, edit: Edit) -> None:
        """An edited scene file: schedule it at the next cue boundary or refuse it, and tell the hosts.

        Over workers, a scheduled edit also goes to every other worker (which judges the same text the same
        way, against the same show time), so a file edited on one machine changes the show on all of them."""
        if self._judge_scene(edit, "scene edit") == "scheduled" and self.relay is not None:
            self._relay("scene", {"text": edit.text})

    def _relayed_scene(self, text: str) -> None:
        """Another worker scheduled an edit of the scene: offer the same text here, unless it is known."""
        pending = self.reloader.pending
        if text != self.reloader.text and (pending is None or pending.text != text):
            self._judge_scene(read_edit(text, self.reloader.source), "scene edit from another worker")

    def _judge_scene(self, edit: Edit, what: str) -> str:
        """Offer an edit to the reloader, log and tell the hosts what became of it; its status."""
        message = self.reloader.offer(edit, self.show_t)
        log.info("%s: %s", what, message.message)
        for line in message.errors:
            log.warning("%s", line)
        self.tell_hosts(message)
        return message.status

    def _apply_scene(self, pending: Pending) -> None:
        """Switch every shard to an edited timeline in this tick."""
        self.stage = self.stage.with_show(pending.scene)
        self.scene, self.scene_text = pending.scene, pending.text
        for shard in self.shards:
            shard.use_stage(self.stage)
        if self.rewards is not None:
            self.rewards.look_ids = [look.id for look in pending.scene.looks]
        self.last_cue = -1
        self.broadcast(SceneChanged(version=pending.version, t=round(self.show_t, 3)))
        message: Reload = self.reloader.applied(pending, self.show_t)
        log.info("scene edit: %s", message.message)
        self.tell_hosts(message)

    # ---- rewards ------------------------------------------------------------------------
    def _reward(self, shard: Shard, now: float) -> None:
        """Feed the rules engine from this shard: attendance (once a second) and this tick's selfies."""
        rewards = self.rewards
        if rewards is None:
            return
        if self.tick_no % self.tick_hz == 0:  # attendance once a second
            for k, rule in enumerate(rewards.attended):
                for member in shard.present_for(rule.minutes, k, now):
                    rewards.on_presence(member.wallet, rule.minutes)
        for photo in shard.photos:
            holder = self.member(photo.visitor)
            if holder is not None and holder.wallet:
                rewards.on_selfie(photo.mascot, holder.wallet)
                if self.communities is not None:
                    self.communities.engage(holder.wallet, "selfie", 1, f"selfie:{self.scene.event.id}:{photo.t}",
                                            self.wall_time(now))

    def _awarded(self, wallet: str, awarded: Awarded) -> None:
        """A new award is in the ledger: tell its holder if present (between ticks in a message of its own,
        so it need not wait for the next frame; in a tick, in that tick's frame); a Meta-Pass's perks apply
        at once."""
        holder = self.member(self.wallets.get(wallet, -1))
        if holder is not None:
            if self.in_tick or holder.link is None:
                holder.events.append(awarded)
            else:
                holder.link.send(encode(awarded))
            if awarded.kind == "metapass":
                self.apply_perks(holder)

    def perks(self, wallet: str) -> set[str]:
        """Perks of every Meta-Pass tier a wallet holds, and of its loyalty tier in the event's community."""
        if self.ledger is None or not wallet:
            return set()
        tiers = {e.id: set(e.perks) for e in self.scene.entitlements if e.kind == "metapass"}
        held = set().union(*(tiers[a.entitlement] for a in self.ledger.wallet(wallet) if a.entitlement in tiers))
        return held | (self.communities.perks(wallet) if self.communities is not None else set())

    def apply_perks(self, member: Member) -> None:
        """Let a VIP-zone pass holder's avatar through VIP zone ropes."""
        shard = self._shard_of(member.id)
        if shard is not None and "vip_zone" in self.perks(member.wallet):
            crowd = shard.world.crowd
            crowd.vip[crowd.index_of(np.array([member.id]))] = True

    def _attended(self, wall: float) -> None:
        """Log a block of attendance for every member of the event's community who is here."""
        assert self.communities is not None
        block = int(wall // ATTENDANCE_BLOCK_S)
        for wallet, member_id in list(self.wallets.items()):  # visitors present: at most the event's capacity
            member = self.member(member_id)
            if member is not None and member.link is not None:
                self.communities.engage(wallet, "attended_minute", ATTENDANCE_BLOCK_S / 60,
                                        f"attend:{self.scene.event.id}:{block}", wall)

    # ---- the tick ----------------------------------------------------------------------
    def show_state(self) -> ShowState:
        """The ``show`` map of this tick's frames."""
        state = self.shards[0].world.show.state_at(self.show_t)
        return ShowState(cue=state.cue, look=state.look, playing=self.playing, music=state.music,
                         announce=state.announcement,
                         lights={k: (*rgb, level) for k, (rgb, level) in state.lights.items()})

    def reaction_totals(self) -> dict[str, int]:
        """This process' reactions since it started, by reaction, over its shards."""
        total: dict[str, int] = {}
        for shard in self.shards:
            for reaction, n in shard.reactions.total.items():
                total[reaction] = total.get(reaction, 0) + n
        return total

    def audience(self) -> tuple[int, dict[str, int]]:
        """The whole event's connected visitors and reaction totals (every worker's, over workers)."""
        visitors, reactions = self.connected, self.reaction_totals()
        if self.peer_audience is not None:
            others, their_reactions = self.peer_audience()
            visitors += others
            for reaction, n in their_reactions.items():
                reactions[reaction] = reactions.get(reaction, 0) + n
        return visitors, reactions

    def _tell_audience(self) -> None:
        """Every shard's visitors see the event's audience: when it changed, and every 10 s for newcomers."""
        now = self.audience()
        if now != self.told_audience or self.tick_no % (AUDIENCE_AGAIN_S * self.tick_hz) == 0:
            self.told_audience = now
            self.broadcast(Audience(visitors=now[0], reactions=dict(sorted(now[1].items()))))

    def tick(self, now: float, wall: float) -> None:
        """Advance the show clock and every shard by one tick (``now`` monotonic, ``wall`` Unix seconds).

        The ledger's writer thread steps aside while the tick runs (see :meth:`LedgerWriter.ticking`).
        """
        if self.writer is None:
            self._tick(now, wall)
            return
        self.in_tick = True
        try:
            with self.writer.ticking():
                self.writer.deliver(LEDGER_ACKS_PER_TICK)  # what the ledger wrote goes out in this tick's frames
                self._tick(now, wall)
        finally:
            self.in_tick = False

    def acks_ready(self) -> None:
        """The ledger's writer committed a batch: between ticks, tell its visitors now, not in the next frame
        (the loop calls this when the writer asks it to; inside a tick the tick delivers them)."""
        if self.writer is not None and not self.in_tick:
            self.writer.deliver(LEDGER_ACKS_PER_TICK)

    def _tick(self, now: float, wall: float) -> None:
        self.wall_offset = wall - now
        if self.clock is not None:
            self._apply_clock(wall)
        elif self.playing:  # rounded so that a second of ticks from 1:58 reads 1:59, when a cue there starts
            self.show_t = min(round(self.show_t + self.dt_s, 6), self.scene.event.duration)
        pending = self.reloader.due(self.show_t)
        if pending is not None:
            self._apply_scene(pending)
        show = self.show_state()
        if show.cue != self.last_cue and show.cue >= 0:
            self.broadcast(CueStarted(index=show.cue, kind=self.scene.timeline[show.cue].kind))
        self.last_cue = show.cue
        wired = show.wire()
        if self.tick_no % self.tick_hz == 0:  # once a second
            self._tell_audience()
            if self.communities is not None:
                self.communities.tick(wall)
                if self.tick_no % (ATTENDANCE_BLOCK_S * self.tick_hz) == 0:
                    self._attended(wall)
        for shard in self.shards:
            for gone in shard.expire(now):
                self._gone(gone, shard)
                self.where.pop(gone.id, None)
                self.resume.pop(gone.resume, None)
                self.wallets.pop(gone.wallet, None)
            self._reward(shard, now)
            shard.tick(self.show_t, wired, wall)
            self.metrics.record_stages(shard.times)
        self.tick_no += 1
