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
from collections.abc import Callable

import numpy as np

from server.event.community.hub import Communities
from server.event.link import Link
from server.event.metrics import Metrics
from server.event.reload import Edit, Pending, SceneReloader, next_cue_start
from server.event.rewards import Rewards
from server.event.seats import Member
from server.event.shard import Shard, Stage
from server.storage.ledger import Ledger
from server.storage.ledger_writer import LedgerWriter
from showroom.protocol.codec import encode
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import RESUME_WINDOW_S, TICK_HZ
from showroom.protocol.server_messages import (
    Announcement,
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
LEDGER_ACKS_PER_TICK = 500
"""The ledger's acknowledgements one tick delivers at most (~5 µs each, and each makes a frame head
personal): a 2,000-award batch reaches its visitors over four ticks rather than making one tick 20 ms
longer. Not a throughput cap: 10,000 a second, five times what the writer sustains between ticks."""


class Event:
    """An event run from a scene: show clock, shards, bans, resume tokens."""

    def __init__(self, scene: Scene, *, host_token: str, scene_text: str = "", tick_hz: int = TICK_HZ,
                 playing: bool = True, max_shards: int = MAX_SHARDS, ledger: Ledger | None = None,
                 writer: LedgerWriter | None = None, scene_source: str = "scene") -> None:
        """The event of ``scene``. With a ``ledger`` (read on the loop: wallets, stock, perks) comes the
        ``writer`` that owns its writes on a thread of its own (awards, redemptions, checkpoints)."""
        if (ledger is None) != (writer is None):
            raise ValueError("a ledger and its writer come together")
        self.scene = scene
        self.scene_text = scene_text
        self.host_token = host_token
        self.tick_hz = tick_hz
        self.dt_s = 1.0 / tick_hz
        self.max_shards = max_shards
        self.capacity = scene.event.shard_capacity
        self.stage = Stage.build(scene)
        self.ledger = ledger
        self.writer = writer
        self.in_tick = False
        """Whether a tick runs now (what the ledger acknowledges then goes out in its frames)."""
        self.rewards = Rewards(scene, writer, self.perks, self._awarded) if writer is not None else None
        self.shards: list[Shard] = [self._new_shard(0)]
        self.show_t = 0.0
        self.playing = playing
        self.tick_no = 0
        self.next_id = FIRST_VISITOR_ID
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

    def _new_shard(self, number: int) -> Shard:
        attended = len(self.rewards.attended) if self.rewards is not None else 0
        return Shard(number, self.stage, self.capacity, dt_s=self.dt_s, attendance_rules=attended)

    def wall_time(self, now: float) -> float:
        """Unix seconds at monotonic time ``now``."""
        return now + self.wall_offset

    # ---- visitors ---------------------------------------------------------------
    def join(self, name: str, role: str, link: Link, wallet: str, now: float) -> tuple[Shard, Member]:
        """Give a new visitor an avatar in the first shard with room (opening one if needed)."""
        if name.casefold() in self.banned:
            raise ProtocolError(ErrorCode.BANNED, f"{name!r} is banned from this event")
        if self.communities is not None:
            why = self.communities.may_enter(wallet)
            if why is not None:
                raise ProtocolError(ErrorCode.MEMBERS_ONLY, why)
        shard = next((s for s in self.shards if s.has_room()), None)
        if shard is None:
            if len(self.shards) >= self.max_shards:
                raise ProtocolError(ErrorCode.EVENT_FULL, "every shard of this event is full; try again later")
            shard = self._new_shard(len(self.shards))
            shard.world.set_show_time(self.show_t)
            self.shards.append(shard)
        token = secrets.token_urlsafe(24)
        member = shard.admit(self.next_id, name, role, link, token, wallet, now)
        self.next_id += 1
        self.resume[token] = (shard.number, member.id)
        self.where[member.id] = shard.number
        if wallet:
            self.wallets[wallet] = member.id
            if self.rewards is not None:
                self.rewards.on_join(wallet)
            if self.communities is not None:
                self.communities.visited(wallet, self.wall_time(now))
                member.events.extend(self.communities.open_polls(wallet))  # polls opened before they came
            self.apply_perks(member)
        return shard, member

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
        self.playing = True
        self.broadcast(ShowChanged(playing=True, t=round(self.show_t, 3)))

    def pause(self) -> None:
        """Hold the show clock."""
        self.playing = False
        self.broadcast(ShowChanged(playing=False, t=round(self.show_t, 3)))

    def seek(self, t: float) -> None:
        """Move the show clock (clamped to the show's length)."""
        self.show_t = min(max(t, 0.0), self.scene.event.duration)
        for shard in self.shards:
            shard.world.set_show_time(self.show_t)
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
        self.broadcast(Announcement(text=text))

    def kick(self, member_id: int, ban: bool = False) -> None:
        """Disconnect a visitor at once from whichever shard holds them; a ban also refuses the name."""
        shard = self._shard_of(member_id)
        member = shard.members.get(member_id) if shard is not None else None
        if shard is None or member is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no visitor {member_id}")
        if ban:
            self.banned.add(member.name.casefold())
            self.on_ban(member.name)
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
        self.drops[entitlement] = open_
        if self.rewards is not None:
            (self.rewards.closed_drops.discard if open_ else self.rewards.closed_drops.add)(entitlement)
        self.broadcast(DropChanged(entitlement=entitlement, open=open_))

    # ---- hot reload ---------------------------------------------------------------------
    def tell_hosts(self, message: ServerMessage) -> None:
        """A control message to every connected host."""
        data = encode(message)
        for link in list(self.hosts):
            link.send(data)

    def offer_scene(self, edit: Edit) -> None:
        """An edited scene file: schedule it at the next cue boundary or refuse it, and tell the hosts."""
        message = self.reloader.offer(edit, self.show_t)
        log.info("scene edit: %s", message.message)
        for line in message.errors:
            log.warning("%s", line)
        self.tell_hosts(message)

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
        if self.playing:  # rounded so that a second of ticks from 1:58 reads 1:59, when a cue there starts
            self.show_t = min(round(self.show_t + self.dt_s, 6), self.scene.event.duration)
        pending = self.reloader.due(self.show_t)
        if pending is not None:
            self._apply_scene(pending)
        show = self.show_state()
        if show.cue != self.last_cue and show.cue >= 0:
            self.broadcast(CueStarted(index=show.cue, kind=self.scene.timeline[show.cue].kind))
        self.last_cue = show.cue
        wired = show.wire()
        if self.communities is not None and self.tick_no % self.tick_hz == 0:  # once a second
            self.communities.tick(wall)
            if self.tick_no % (ATTENDANCE_BLOCK_S * self.tick_hz) == 0:
                self._attended(wall)
        for shard in self.shards:
            for gone in shard.expire(now):
                self.where.pop(gone.id, None)
                self.resume.pop(gone.resume, None)
                self.wallets.pop(gone.wallet, None)
            self._reward(shard, now)
            shard.tick(self.show_t, wired, wall)
            self.metrics.record_stages(shard.times)
        self.tick_no += 1
