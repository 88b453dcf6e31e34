"""One shard of an event: a world with up to ``capacity`` visitors, ticked at 20 Hz.

Sans-I/O: a shard talks to connections only through :class:`Link` objects (``send`` and
``close``), so it is tested without sockets. Per tick: apply all queued inputs in one
batch, step the crowd and the show, run the selfie desk, then build one snapshot per
occupied interest cell and hand it to that cell's subscribers.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from server.interest import FAR_EVERY, FAR_REACH, NEAR_REACH, CellGrid, Occupancy
from server.selfie import SelfieDesk
from showroom.protocol.codec import MOVE_DIR, MOVE_TO, MoveInput, frame_head, frame_head_plain
from showroom.protocol.messages import REACTIONS
from showroom.protocol.snapshot import AvatarColumns, pack_cell_rows, pack_mascots
from showroom.scene.model import Scene
from showroom.sim.crowd import NO_FIELD, Role, State
from showroom.sim.world import World

MAX_SHARED_EVENTS = 64
"""Events (chat, cues, announcements…) carried per tick; past this the oldest are dropped."""
MAX_PERSONAL_EVENTS = 32
REACTION_SHOW_S = 2.0
REACTION_FLUSH_S = 1.0
DIR_LOOKAHEAD_M = 1.5
ANIM_WALKING = 1
"""Bit 0 of an avatar's ``anim`` byte: walking. Bits 4-7: 1 + index of a reaction shown now."""


class Link(Protocol):
    """A connection as the shard sees it."""

    def send(self, data: bytes) -> bool:
        """Send a control message (never skipped)."""

    def send_frame(self, head: bytes, shared: bytes) -> bool:
        """Send one snapshot message: a per-visitor head, then the cell's shared payload; may be
        skipped for a slow reader."""

    def close(self, code: int, reason: str) -> None:
        """Close the connection with a WebSocket close code."""


@dataclass
class Member:
    """A visitor (or bot) of this shard, attached to a link or waiting to resume."""

    id: int
    name: str
    role: str
    slot: int
    resume: str
    link: Link | None
    wallet: str = ""
    detached_until: float = 0.0
    events: deque = field(default_factory=lambda: deque(maxlen=MAX_PERSONAL_EVENTS))


@dataclass
class StageTimes:
    """Seconds spent in each stage of the last tick."""

    inputs: float = 0.0
    sim: float = 0.0
    interactions: float = 0.0
    interest: float = 0.0
    encode: float = 0.0
    send: float = 0.0


class Shard:
    """A mirrored stage: the same show, its own crowd of at most ``capacity`` visitors."""

    def __init__(self, number: int, scene: Scene, capacity: int) -> None:
        self.number = number
        self.scene = scene
        self.capacity = capacity
        self.world = World(scene, seed=scene.event.seed + number)
        self.desk = SelfieDesk(scene)
        self.grid = CellGrid.for_floor(self.world.venue.size)
        self.members: dict[int, Member] = {}
        slots = 2 * capacity + 8
        self.slot_id = np.full(slots, -1, np.int64)
        self.in_kind = np.zeros(slots, np.int8)
        self.in_xy = np.zeros((slots, 2))
        self._in_flat = self.in_xy.reshape(-1)  # a view: two scalar writes beat one row write
        self.in_seq = np.zeros(slots, np.int64)
        self.acked = np.full(slots, -1, np.int64)
        self.dir_on = np.zeros(slots, bool)
        self.dir_xy = np.zeros((slots, 2))
        self.react_code = np.zeros(slots, np.uint8)
        self.react_until = np.zeros(slots)
        self.joined_at = np.zeros(slots)
        self.credited = np.zeros((0, slots), bool)
        """Per attendance rule and slot: already credited."""
        self.by_slot: list[Member | None] = [None] * slots
        self.heads: list[bytes] = [b""] * slots
        """Per slot: the frame head for ``head_ack`` with no personal events (rebuilt when the ack moves)."""
        self.head_ack = np.full(slots, -2, np.int64)
        self.detached: set[int] = set()
        """Members whose connection dropped (some may have resumed since)."""
        self.goal_in = np.full((slots, 2), np.nan)
        self.goal_out = np.zeros((slots, 2))
        """Per slot: the last walk-to point received, and that point pushed out of obstacles
        (clients repeat their goal with every input; it is pushed out once)."""
        self.react_log: list[tuple[int, int]] = []
        """(slot, 1 + reaction index) of the reactions since the last tick, counted per cell at the tick."""
        self.shared: deque[dict[str, Any]] = deque(maxlen=MAX_SHARED_EVENTS)
        self.reactions: dict[int, dict[str, int]] = {}
        self.reactions_ready: dict[int, dict[str, int]] = {}
        self.next_flush = 0.0
        self.photos: list[dict[str, Any]] = []
        """The selfie_taken events of the last tick (read by the rules engine)."""
        self.times = StageTimes()

    # ---- membership ---------------------------------------------------------
    @property
    def occupied(self) -> int:
        """Members attached or waiting to resume."""
        return len(self.members)

    def has_room(self) -> bool:
        """Whether another visitor fits."""
        return self.occupied < self.capacity

    def admit(self, member_id: int, name: str, role: str, link: Link, resume: str, wallet: str = "",
              now: float = 0.0) -> Member:
        """Add a visitor's avatar at a spawn point."""
        slot = int(np.flatnonzero(self.slot_id < 0)[0])
        crowd_role = Role.BOT if role == "bot" else Role.VISITOR
        self.world.spawn(1, role=crowd_role, state=State.CONTROLLED, ids=np.array([member_id]))
        self.slot_id[slot] = member_id
        self.in_kind[slot] = 0
        self.acked[slot] = -1
        self.dir_on[slot] = False
        self.react_code[slot] = 0
        self.joined_at[slot] = now
        self.credited[:, slot] = False
        self.head_ack[slot] = -2
        self.goal_in[slot] = np.nan
        member = Member(member_id, name, role, slot, resume, link, wallet)
        self.members[member_id] = member
        self.by_slot[slot] = member
        return member

    def detach(self, member_id: int, until: float) -> None:
        """The visitor's connection dropped: keep the avatar standing until ``until``."""
        member = self.members.get(member_id)
        if member is None:
            return
        member.link = None
        member.detached_until = until
        self.detached.add(member_id)
        self.desk.leave(member_id)
        self.dir_on[member.slot] = False
        self.in_kind[member.slot] = 0
        row = self.world.crowd.index_of(np.array([member_id]))
        self.world.crowd.goal[row] = self.world.crowd.pos[row]

    def remove(self, member_id: int) -> Member | None:
        """Take a visitor and their avatar out of the shard."""
        member = self.members.pop(member_id, None)
        if member is None:
            return None
        self.slot_id[member.slot] = -1
        self.by_slot[member.slot] = None
        self.detached.discard(member_id)
        self.in_kind[member.slot] = 0  # a pending move or walk must not outlive its avatar
        self.dir_on[member.slot] = False
        self.desk.leave(member_id)
        self.world.crowd.remove(np.array([member_id]))
        return member

    def expire(self, now: float) -> list[Member]:
        """Remove visitors whose resume window ran out; return them."""
        gone = []
        for member_id in list(self.detached):
            member = self.members.get(member_id)
            if member is None or member.link is not None:  # resumed
                self.detached.discard(member_id)
            elif member.detached_until <= now:
                gone.append(member)
        for member in gone:
            self.remove(member.id)
        return gone

    # ---- inputs (called between ticks) ----------------------------------------
    def queue_move(self, member: Member, move: MoveInput) -> None:
        """Remember a movement input; the latest one per visitor is applied at the next tick."""
        self.queue_move_at(member.slot, move.kind, move.seq, move.x, move.y)

    def queue_move_at(self, slot: int, kind: int, seq: int, x: float, y: float) -> None:
        """Remember a (validated) movement input of the visitor in ``slot``."""
        self.in_kind[slot] = kind
        self._in_flat[2 * slot] = x
        self._in_flat[2 * slot + 1] = y
        self.in_seq[slot] = seq

    def react(self, member: Member, reaction: str, show_t: float) -> None:
        """Show a reaction above the avatar and count it for its cell."""
        code = REACTIONS.index(reaction) + 1
        self.react_code[member.slot] = code
        self.react_until[member.slot] = show_t + REACTION_SHOW_S
        self.react_log.append((member.slot, code))

    def _count_reactions(self) -> None:
        """Add the reactions sent since the last tick to the counts of the cells they came from."""
        log, self.react_log = np.array(self.react_log, np.int64).reshape(-1, 2), []
        log = log[self.slot_id[log[:, 0]] >= 0]  # the visitor may have left since
        if log.size == 0:
            return
        keys = self.grid.keys(self.world.crowd.pos[self.world.crowd.index_of(self.slot_id[log[:, 0]])])
        pairs, counts = np.unique(keys * 16 + log[:, 1], return_counts=True)
        for pair, n in zip(pairs.tolist(), counts.tolist()):  # one per (cell, reaction) pair, not per visitor
            cell = self.reactions.setdefault(pair // 16, {})
            reaction = REACTIONS[pair % 16 - 1]
            cell[reaction] = cell.get(reaction, 0) + n

    def present_for(self, minutes: float, rule: int, now: float) -> list[Member]:
        """Members present at least ``minutes`` not yet credited for attendance rule ``rule`` (marks them)."""
        due = np.flatnonzero((self.slot_id >= 0) & (now - self.joined_at >= minutes * 60.0) & ~self.credited[rule])
        if due.size == 0:
            return []
        self.credited[rule, due] = True
        return [self.members[int(i)] for i in self.slot_id[due] if int(i) in self.members]

    def announce(self, event: dict[str, Any]) -> None:
        """An event for every visitor of this shard in the next frame."""
        self.shared.append(event)

    def position_of(self, member_id: int) -> np.ndarray:
        """Where a visitor's avatar stands."""
        return self.world.crowd.pos[self.world.crowd.index_of(np.array([member_id]))[0]].copy()

    # ---- the tick -------------------------------------------------------------------
    def tick(self, show_t: float, show: dict[str, Any], wall_time: float) -> None:
        """Advance one tick and send every attached visitor its frame."""
        clock = time.perf_counter
        t0 = clock()
        if self.react_log:
            self._count_reactions()
        self._apply_inputs()
        t1 = clock()
        self.world.step(show_t)
        t2 = clock()
        crowd = self.world.crowd
        mascots = self.world.mascots
        outcome = self.desk.tick(show_t, self.world.frame, crowd.ids, crowd.pos)
        for m, heading in outcome.face.items():
            crowd.heading[m] = heading
        for member_id, events in outcome.personal.items():
            member = self.members.get(member_id)
            if member is not None:
                member.events.extend(events)
        self.shared.extend(outcome.shared)
        self.photos = outcome.shared
        if show_t >= self.next_flush or show_t < self.next_flush - 2 * REACTION_FLUSH_S:
            self.reactions_ready, self.reactions = self.reactions, {}
            self.next_flush = show_t + REACTION_FLUSH_S
        else:
            self.reactions_ready = {}
        t3 = clock()
        self._send_frames(show_t, show, wall_time, mascots)
        self.times.inputs, self.times.sim, self.times.interactions = t1 - t0, t2 - t1, t3 - t2
        self.shared.clear()

    def _apply_inputs(self) -> None:
        crowd = self.world.crowd
        slots = np.flatnonzero(self.in_kind > 0)
        if slots.size:
            rows = crowd.index_of(self.slot_id[slots])
            kind = self.in_kind[slots]
            to = kind == MOVE_TO
            if to.any():
                walk, point = slots[to], self.in_xy[slots[to]]
                fresh = np.any(point != self.goal_in[walk], axis=1)
                if fresh.any():
                    goal = point[fresh]
                    self.world.venue.obstacles.push_out(goal, crowd.radius[rows[to][fresh]], np.arange(goal.shape[0]))
                    self.goal_in[walk[fresh]] = point[fresh]
                    self.goal_out[walk[fresh]] = goal
                crowd.goal[rows[to]] = self.goal_out[walk]
                crowd.nav_field[rows[to]] = NO_FIELD
            self.dir_on[slots] = kind == MOVE_DIR
            self.dir_xy[slots] = self.in_xy[slots]
            self.acked[slots] = self.in_seq[slots]
            self.in_kind[slots] = 0
        walking = np.flatnonzero(self.dir_on)
        if walking.size:
            rows = crowd.index_of(self.slot_id[walking])
            crowd.goal[rows] = crowd.pos[rows] + self.dir_xy[walking] * DIR_LOOKAHEAD_M
            crowd.nav_field[rows] = NO_FIELD

    def _send_frames(self, show_t: float, show: dict[str, Any], wall_time: float, mascots: slice) -> None:
        clock = time.perf_counter
        t0 = clock()
        crowd = self.world.crowd
        frame_m = self.world.frame
        pos = crowd.pos[mascots.stop:]
        avatars = self._wire_avatars(show_t, mascots.stop)
        occupancy = Occupancy.build(self.grid, pos)
        cells, groups = self._subscribers(crowd.ids[mascots.stop:], pos)
        pose = frame_m.pose.copy()
        serving = np.array([q.serving >= 0 for q in self.desk.queues])
        pose[serving & (pose < 0)] = 0
        mascot_bins = pack_mascots(crowd.pos[mascots], crowd.heading[mascots], frame_m.activity, pose,
                                   crowd.phase[mascots])
        shared = list(self.shared)
        heads = self._refresh_heads()
        far = self.world.tick % FAR_EVERY == 0
        t1 = clock()
        encode = send = 0.0
        for key, group in zip(cells, groups):
            e0 = clock()
            rows = occupancy.block(key, FAR_REACH if far else NEAR_REACH)
            payload = pack_cell_rows(avatars, rows, tick=self.world.tick, t=round(show_t, 3), server_time=wall_time,
                                     cell=self.grid.xy(key), far=far, mascots=mascot_bins, show=show,
                                     events=shared + self._reactions_near(key))
            e1 = clock()
            self._deliver(group, heads, payload)
            e2 = clock()
            encode += e1 - e0
            send += e2 - e1
        self.times.interest = t1 - t0
        self.times.encode, self.times.send = encode, send

    def _wire_avatars(self, show_t: float, first: int) -> AvatarColumns:
        """Every avatar (crowd rows from ``first``) quantised once for this tick's payloads."""
        crowd = self.world.crowd
        ids = crowd.ids[first:]
        speed = np.hypot(crowd.vel[first:, 0], crowd.vel[first:, 1])
        anim = (speed > 0.1).astype(np.uint8) * ANIM_WALKING
        live = (self.slot_id >= 0) & (self.react_until > show_t) & (self.react_code > 0)
        if live.any():
            anim[np.searchsorted(ids, self.slot_id[live])] |= (self.react_code[live] << 4).astype(np.uint8)
        return AvatarColumns.quantise(ids, crowd.pos[first:], crowd.heading[first:], anim, crowd.phase[first:])

    def _deliver(self, group: list[int], heads: list[bytes], payload: bytes) -> None:
        """Hand a cell's payload to the members in ``group`` (slots): one socket write each, nothing else."""
        by_slot = self.by_slot
        for slot in group:
            member = by_slot[slot]
            if member is None or member.link is None:
                continue
            link = member.link
            if member.events:
                personal = {"ack": int(self.acked[slot]), "you": member.id, "events": list(member.events)}
                if link.send_frame(frame_head(personal), payload):
                    member.events.clear()  # a skipped frame keeps them for the next one
            else:
                link.send_frame(heads[slot], payload)

    def _subscribers(self, ids: np.ndarray, pos: np.ndarray) -> tuple[list[int], list[list[int]]]:
        """Occupied cells and, for each, the slots of the members standing in it."""
        slots = np.flatnonzero(self.slot_id >= 0)
        if slots.size == 0:
            return [], []
        keys = self.grid.keys(pos[np.searchsorted(ids, self.slot_id[slots])])
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        return keys[np.r_[0, cuts]].tolist(), [group.tolist() for group in np.split(slots, cuts)]

    def _refresh_heads(self) -> list[bytes]:
        """Rebuild the frame heads of the members whose acknowledged input moved since the last tick."""
        stale = np.flatnonzero((self.slot_id >= 0) & (self.head_ack != self.acked))
        heads = self.heads
        for slot, ack, member_id in zip(stale.tolist(), self.acked[stale].tolist(), self.slot_id[stale].tolist()):
            heads[slot] = frame_head_plain(ack, member_id)
        self.head_ack[stale] = self.acked[stale]
        return heads

    def _reactions_near(self, key: int) -> list[dict[str, Any]]:
        if not self.reactions_ready:
            return []
        cx, cy = self.grid.xy(key)
        total: dict[str, int] = {}
        for other, counts in self.reactions_ready.items():
            ox, oy = self.grid.xy(other)
            if abs(ox - cx) <= 1 and abs(oy - cy) <= 1:
                for reaction, n in counts.items():
                    total[reaction] = total.get(reaction, 0) + n
        return [{"type": "reactions", "counts": total}] if total else []
