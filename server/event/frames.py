"""A shard's frames: each visitor's copy of the crowd kept up to date, tier by tier, for a few bytes.

What a visitor is sent depends on where it looks from (its viewer cell, :mod:`server.event.interest`)
and on what it already holds. Over TCP, what the server hands to a socket arrives whole and in
order or the connection ends, so the server's record of the last frame each visitor was given
(``seen``) stands for its acknowledgement, with no acknowledgement traffic. Per tick:

* every avatar is quantised once into a record (:data:`~showroom.protocol.snapshot.REC`); ``changed_at`` notes the tick each
  record last changed (standing avatars cost nothing after they were sent once);
* **residents** (given the previous frame from the same viewer cell) get one payload per viewer
  cell, shared: the near tier's changes of this tick, and on the cell's mid and far ticks the
  changes since that tier's last refresh;
* **movers** (a new viewer cell) and visitors whose frames were skipped get a **catch-up**: every
  record that changed since the oldest refresh they could have missed, shared by all who need
  the same; a new connection, or one too far behind, gets a **keyframe** of everything.

So the choice is paid once per viewer cell (or catch-up group), never per visitor; each visitor
costs one socket write of the shared payload behind its small head. Because records carry
absolute values, sending one again is harmless: only a missed change would matter, and the
rules above leave none (a far refresh at least every ``FAR_EVERY`` ticks covers everything
older than what a catch-up sends).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from server.event.interest import FAR_EVERY, MID_EVERY, CellGrid, Chunks
from server.event.seats import Seats
from showroom.protocol.codec import frame_head, frame_head_plain
from showroom.protocol.codes import WALKING_MPS, anim_bytes
from showroom.protocol.server_messages import ReactionCounts
from showroom.protocol.snapshot import REC, UNITS_PER_M, new_records, pack_frame, pack_mascots, quantise_rows
from showroom.sim.world import World

NEVER = -(1 << 40)
DEAD_BAND_UNITS = 2
"""A record counts as changed when the avatar moved at least this many 1/64 m (3.1 cm) along x or y (or turned
2/256 of a turn, or its animation byte changed) since the record last sent: a standing crowd nudged by a
millimetre costs nothing."""
CATCHUP_TICKS = 2 * FAR_EVERY
"""A visitor given no frame for longer than this gets a keyframe instead of a catch-up."""

IntArray = NDArray[np.int64]


@dataclass
class StageTimes:
    """Seconds spent in each stage of the last tick (measured, never used to decide anything)."""

    inputs: float = 0.0
    sim: float = 0.0
    interactions: float = 0.0
    interest: float = 0.0
    encode: float = 0.0
    send: float = 0.0


@dataclass(frozen=True)
class TickView:
    """What every payload of one tick shares: clocks, the show map, mascots and shard-wide events."""

    tick: int
    show_t: float
    wall: float
    show: dict[str, Any]
    events: list[dict[str, Any]]
    mascot_pose: NDArray[np.int16]
    """Mascot poses as sent (a mascot serving a selfie holds pose 0)."""


@dataclass(frozen=True)
class _Tick:
    """One tick's shared pieces, for building its payloads."""

    tick: int
    view: TickView
    slots: IntArray
    """Slots with an avatar, ascending."""
    mascots: bytes
    new: NDArray[np.void]
    gone: IntArray
    show_changed: bool


class Frames:
    """Builds and hands out a shard's frames (see the module docstring)."""

    def __init__(self, seats: Seats, grid: CellGrid) -> None:
        n = seats.size
        self.seats = seats
        self.grid = grid
        self.rec = np.zeros(n, REC)
        """Per slot: the avatar's record as last changed (what every client holds once told)."""
        self.changed_at = np.full(n, NEVER, np.int64)
        self.taken_at = np.full(n, NEVER, np.int64)
        self.cx = np.zeros(n, np.int64)
        self.cy = np.zeros(n, np.int64)
        """Per slot: the cell its record stands in (the high bytes of the record's position)."""
        if grid.cell_m * UNITS_PER_M != 256:
            raise ValueError(f"frames need the wire's {256 / UNITS_PER_M} m interest cells, not {grid.cell_m} m")
        self._inside = np.array([grid.nx, grid.ny], np.float64) * grid.cell_m - 1.0 / UNITS_PER_M
        """The farthest point of the grid: every record stands in one of its cells."""
        self.vx = np.full(n, -1, np.int64)
        self.vy = np.full(n, -1, np.int64)
        """Per slot: the viewer cell (-1: none yet)."""
        self.seen = np.full(n, -1, np.int64)
        """Per slot: the tick of the last frame handed to the visitor's socket (-1: a keyframe is due)."""
        self.seen_vx = np.full(n, -1, np.int64)
        self.seen_vy = np.full(n, -1, np.int64)
        self.taken: list[int] = []
        self.freed: list[int] = []
        self.history: deque[tuple[int, IntArray]] = deque()
        """(tick, slots freed in it) for the last ``CATCHUP_TICKS`` ticks."""
        self.last_show: dict[str, Any] | None = None
        self._cache_tick = -1
        self._cache: dict[int, Chunks] = {}
        """This tick's :class:`Chunks`, by how many ticks back their changes go."""
        self.heads: list[bytes] = [b""] * n
        """Per slot: the frame head for ``head_ack`` with no personal events."""
        self.head_ack = np.full(n, -2, np.int64)

    # ---- seats --------------------------------------------------------------------------------
    def reset(self, slot: int) -> None:
        """A new visitor takes the slot: everyone is told of it, and it starts from a keyframe."""
        self.taken.append(slot)
        self.head_ack[slot] = -2
        self.vx[slot] = self.vy[slot] = -1
        self.seen[slot] = -1

    def release(self, slot: int) -> None:
        """The slot's visitor left for good: everyone is told the slot is free."""
        self.freed.append(slot)
        self.changed_at[slot] = NEVER
        self.seen[slot] = -1

    def resync(self, slot: int) -> None:
        """The slot's visitor came back on a new connection, which holds nothing: a keyframe is due."""
        self.seen[slot] = -1

    # ---- the tick -------------------------------------------------------------------------------
    def send(self, world: World, view: TickView, acked: NDArray[np.int64],
             shown: tuple[NDArray[np.int64], NDArray[np.uint8]],
             reactions_near: Callable[[float, float], list[ReactionCounts]], times: StageTimes) -> None:
        """Send every attached member its frame for this tick; record the interest, encode and send times.

        ``shown`` is (slots, reaction codes) of the avatars showing a reaction now;
        ``reactions_near(x, y)`` gives the ``reactions`` events for a viewer at that point.
        """
        clock = time.perf_counter
        t0 = clock()
        now = self._update(world, view, shown)
        groups = self._groups(now)
        heads = self._refresh_heads(acked)
        t1 = clock()
        encode = send = 0.0
        delivered: list[int] = []
        for (vkey, since), members in groups.items():
            e0 = clock()
            payload = self._payload(now, vkey, since, reactions_near)
            e1 = clock()
            self._deliver(members, heads, acked, payload, delivered)
            encode += e1 - e0
            send += clock() - e1
        done = np.array(delivered, np.int64)
        self.seen[done] = now.tick
        self.seen_vx[done], self.seen_vy[done] = self.vx[done], self.vy[done]
        times.interest = t1 - t0
        times.encode, times.send = encode, send

    def _update(self, world: World, view: TickView, shown: tuple[NDArray[np.int64], NDArray[np.uint8]]) -> _Tick:
        """Quantise every avatar, note what changed, follow viewer cells, take the seat changes."""
        tick = view.tick
        seats = self.seats
        slots = seats.occupied_slots()
        crowd = world.crowd
        first = world.mascots.stop
        row = first + np.searchsorted(crowd.ids[first:], seats.slot_id[slots])
        pos = crowd.pos[row]
        walking = np.hypot(crowd.vel[row, 0], crowd.vel[row, 1]) > WALKING_MPS
        code = np.zeros(seats.size, np.uint8)
        code[shown[0]] = shown[1]
        rec = quantise_rows(slots, np.clip(pos, 0.0, self._inside), crowd.heading[row], anim_bytes(walking, code[slots]))
        changed = _moved(rec, self.rec[slots])
        self.rec[slots[changed]] = rec[changed]
        self.changed_at[slots[changed]] = tick
        taken = np.unique(np.array(self.taken, np.int64))
        taken = taken[seats.slot_id[taken] >= 0]  # taken and left again before this tick: only ``gone``
        self.rec[taken] = rec[np.searchsorted(slots, taken)]
        self.changed_at[taken] = self.taken_at[taken] = tick
        gone = np.unique(np.array(self.freed, np.int64))
        self.taken.clear()
        self.freed.clear()
        self.history.append((tick, gone))
        while self.history and self.history[0][0] <= tick - CATCHUP_TICKS:
            self.history.popleft()
        self.cx[slots], self.cy[slots] = self.rec["x"][slots] >> 8, self.rec["y"][slots] >> 8
        self.vx[slots], self.vy[slots] = self.grid.follow(pos, self.vx[slots], self.vy[slots])
        mascots = pack_mascots(crowd.pos[world.mascots], crowd.heading[world.mascots], world.frame.activity,
                               view.mascot_pose, crowd.phase[world.mascots])
        show_changed = view.show != self.last_show
        self.last_show = view.show
        return _Tick(tick, view, slots, mascots, new_records(taken, seats.slot_id[taken]), gone, show_changed)

    def _groups(self, now: _Tick) -> dict[tuple[int, int], list[int]]:
        """Attached members by the payload they need: (viewer cell key, ``since``).

        ``since`` is ``now.tick - 1`` for residents, the tick of the last frame given for a
        catch-up, -1 for a keyframe."""
        by_slot = self.seats.by_slot
        attached = np.array([s for s in now.slots.tolist() if by_slot[s].link is not None], np.int64)  # type: ignore[union-attr]
        if attached.size == 0:
            return {}
        vkey = self.vy[attached] * self.grid.nx + self.vx[attached]
        seen = self.seen[attached]
        resident = (seen == now.tick - 1) & (self.seen_vx[attached] == self.vx[attached]) & \
            (self.seen_vy[attached] == self.vy[attached])
        since = np.where(resident | (seen >= now.tick - CATCHUP_TICKS), seen, -1)
        since[resident] = now.tick - 1
        since[~resident & (since == now.tick - 1)] = now.tick - 2  # moved: a catch-up, never the resident payload
        pair = vkey * (1 << 40) + (since + 1)
        order = np.argsort(pair, kind="stable")
        pair, attached = pair[order], attached[order]
        cuts = np.flatnonzero(pair[1:] != pair[:-1]) + 1
        keys = pair[np.r_[0, cuts]].tolist()
        return {(k >> 40, (k & ((1 << 40) - 1)) - 1): g.tolist() for k, g in zip(keys, np.split(attached, cuts))}

    def _payload(self, now: _Tick, vkey: int, since: int,
                 reactions_near: Callable[[float, float], list[ReactionCounts]]) -> bytes:
        """The shared part of the frame for viewers in cell ``vkey`` who hold everything up to ``since``."""
        vx, vy = self.grid.xy(vkey)
        tick = now.tick
        resident = since == tick - 1
        if resident:  # each tier's changes since its last refresh (every far tick is a mid tick too)
            phase = tick + vkey
            level = 2 if phase % FAR_EVERY == 0 else 1 if phase % MID_EVERY == 0 else 0
            # near cells past the cap go at the mid rate: on mid ticks every near cell looks back as far
            near = self._chunks(now, MID_EVERY if level else 1)
            parts, cells, counts = near.tiered(vx, vy, level, None,
                                               self._chunks(now, FAR_EVERY) if level == 2 else None)
        else:  # everything changed since the oldest refresh it may have missed (or everything)
            parts, cells, counts = self._chunks(now, tick - since + FAR_EVERY if since >= 0 else 0).tiered(vx, vy, 2)
        if resident:
            new, gone = now.new, now.gone
        elif since < 0:
            new, gone = new_records(now.slots, self.seats.slot_id[now.slots]), None
        else:
            later = now.slots[self.taken_at[now.slots] > since]
            new = new_records(later, self.seats.slot_id[later])
            gone = np.concatenate([g for t, g in self.history if t > since] or [np.zeros(0, np.int64)])
        x, y = self.grid.centre(vkey)
        events = now.view.events + [e.wire() for e in reactions_near(x, y)]
        show = now.view.show if (now.show_changed or not resident) else None
        return pack_frame(tick=tick, t=round(now.view.show_t, 3), server_time=now.view.wall, key=since < 0,
                          rows=b"".join(parts), cells=b"".join(cells), tiers=(counts[0], counts[1], counts[2]),
                          mascots=now.mascots, show=show, events=events, new=new, gone=gone)

    def _changed(self, now: _Tick, within: int) -> IntArray:
        """Slots whose records changed in the last ``within`` ticks (0: every slot)."""
        return now.slots if within <= 0 else now.slots[self.changed_at[now.slots] > now.tick - within]

    def _chunks(self, now: _Tick, within: int) -> Chunks:
        """The records changed in the last ``within`` ticks, by cell (built once per tick and reused)."""
        if self._cache_tick != now.tick:
            self._cache_tick, self._cache = now.tick, {}
        found = self._cache.get(within)
        if found is None:
            slots = self._changed(now, within)
            found = self._cache[within] = Chunks(self.grid, self.rec[slots],
                                                 self.cy[slots] * self.grid.nx + self.cx[slots])
        return found

    def _refresh_heads(self, acked: NDArray[np.int64]) -> list[bytes]:
        """Rebuild the heads of the members whose acknowledged input moved since the last tick."""
        slot_id = self.seats.slot_id
        stale = np.flatnonzero((slot_id >= 0) & (self.head_ack != acked))
        heads = self.heads
        for slot, ack, member_id in zip(stale.tolist(), acked[stale].tolist(), slot_id[stale].tolist()):
            heads[slot] = frame_head_plain(ack, member_id)
        self.head_ack[stale] = acked[stale]
        return heads

    def _deliver(self, group: list[int], heads: list[bytes], acked: NDArray[np.int64], payload: bytes,
                 delivered: list[int]) -> None:
        """Hand a payload to the members in ``group`` (slots): one socket write each; note who got it."""
        by_slot = self.seats.by_slot
        for slot in group:
            member = by_slot[slot]
            if member is None or member.link is None:
                continue
            link = member.link
            if member.events:
                if link.send_frame(frame_head(int(acked[slot]), member.id, list(member.events)), payload):
                    member.events.clear()  # a skipped frame keeps them for the next one
                    delivered.append(slot)
            elif link.send_frame(heads[slot], payload):
                delivered.append(slot)


def _moved(now: NDArray[np.void], before: NDArray[np.void]) -> NDArray[np.bool_]:
    """Which records changed by more than the dead band."""
    dx = np.abs(now["x"].astype(np.int32) - before["x"])
    dy = np.abs(now["y"].astype(np.int32) - before["y"])
    turn = np.abs(((now["hdg"].astype(np.int32) - before["hdg"] + 128) % 256) - 128)
    return (dx >= DEAD_BAND_UNITS) | (dy >= DEAD_BAND_UNITS) | (turn >= 2) | (now["anim"] != before["anim"])
