"""A shard's frames: one payload per occupied interest cell, one socket write per visitor.

Avatars are quantised once per tick; each occupied cell's payload picks its block's rows
and is encoded once; each subscriber gets a tiny per-visitor head (its ``ack``, its id, its
personal events) in front of that shared payload. Heads without events are cached per slot
and rebuilt only when the acknowledged input changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from server.event.interest import FAR_EVERY, FAR_REACH, NEAR_REACH, CellGrid, Occupancy
from server.event.seats import Seats
from showroom.protocol.codec import frame_head, frame_head_plain
from showroom.protocol.codes import WALKING_MPS, anim_bytes
from showroom.protocol.server_messages import ReactionCounts
from showroom.protocol.snapshot import AvatarColumns, pack_cell_rows, pack_mascots
from showroom.sim.world import World


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


class Frames:
    """Builds and hands out a shard's frames."""

    def __init__(self, seats: Seats, grid: CellGrid) -> None:
        self.seats = seats
        self.grid = grid
        self.heads: list[bytes] = [b""] * seats.size
        """Per slot: the frame head for ``head_ack`` with no personal events."""
        self.head_ack = np.full(seats.size, -2, np.int64)

    def reset(self, slot: int) -> None:
        """A new visitor takes the slot: its cached head is stale."""
        self.head_ack[slot] = -2

    def send(self, world: World, view: TickView, acked: NDArray[np.int64],
             shown: tuple[NDArray[np.int64], NDArray[np.uint8]],
             reactions_near: Callable[[int], list[ReactionCounts]], times: StageTimes) -> None:
        """Send every attached member its frame for this tick; record the interest, encode and send times.

        ``shown`` is (slots, reaction codes) of the avatars showing a reaction now;
        ``reactions_near(key)`` gives the ``reactions`` events for cell ``key``.
        """
        clock = time.perf_counter
        t0 = clock()
        crowd = world.crowd
        first = world.mascots.stop
        pos = crowd.pos[first:]
        avatars = self._wire_avatars(world, shown)
        occupancy = Occupancy.build(self.grid, pos)
        cells, groups = self._subscribers(crowd.ids[first:], pos)
        mascots = pack_mascots(crowd.pos[world.mascots], crowd.heading[world.mascots], world.frame.activity,
                               view.mascot_pose, crowd.phase[world.mascots])
        heads = self._refresh_heads(acked)
        far = view.tick % FAR_EVERY == 0
        t1 = clock()
        encode = send = 0.0
        for key, group in zip(cells, groups):
            e0 = clock()
            rows = occupancy.block(key, FAR_REACH if far else NEAR_REACH)
            events = view.events + [e.wire() for e in reactions_near(key)]
            payload = pack_cell_rows(avatars, rows, tick=view.tick, t=round(view.show_t, 3), server_time=view.wall,
                                     cell=self.grid.xy(key), far=far, mascots=mascots, show=view.show, events=events)
            e1 = clock()
            self._deliver(group, heads, acked, payload)
            e2 = clock()
            encode += e1 - e0
            send += e2 - e1
        times.interest = t1 - t0
        times.encode, times.send = encode, send

    def _wire_avatars(self, world: World, shown: tuple[NDArray[np.int64], NDArray[np.uint8]]) -> AvatarColumns:
        """Every avatar quantised once for this tick's payloads."""
        crowd = world.crowd
        first = world.mascots.stop
        ids = crowd.ids[first:]
        walking = np.hypot(crowd.vel[first:, 0], crowd.vel[first:, 1]) > WALKING_MPS
        code = np.zeros(ids.size, np.uint8)
        slots, codes = shown
        if slots.size:
            code[np.searchsorted(ids, self.seats.slot_id[slots])] = codes
        return AvatarColumns.quantise(ids, crowd.pos[first:], crowd.heading[first:], anim_bytes(walking, code),
                                      crowd.phase[first:])

    def _subscribers(self, ids: NDArray[np.int64], pos: NDArray[np.float64]) -> tuple[list[int], list[list[int]]]:
        """Occupied cells and, for each, the slots of the members standing in it."""
        slots = self.seats.occupied_slots()
        if slots.size == 0:
            return [], []
        keys = self.grid.keys(pos[np.searchsorted(ids, self.seats.slot_id[slots])])
        order = np.argsort(keys, kind="stable")
        keys, slots = keys[order], slots[order]
        cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        return keys[np.r_[0, cuts]].tolist(), [group.tolist() for group in np.split(slots, cuts)]

    def _refresh_heads(self, acked: NDArray[np.int64]) -> list[bytes]:
        """Rebuild the heads of the members whose acknowledged input moved since the last tick."""
        slot_id = self.seats.slot_id
        stale = np.flatnonzero((slot_id >= 0) & (self.head_ack != acked))
        heads = self.heads
        for slot, ack, member_id in zip(stale.tolist(), acked[stale].tolist(), slot_id[stale].tolist()):
            heads[slot] = frame_head_plain(ack, member_id)
        self.head_ack[stale] = acked[stale]
        return heads

    def _deliver(self, group: list[int], heads: list[bytes], acked: NDArray[np.int64], payload: bytes) -> None:
        """Hand a cell's payload to the members in ``group`` (slots): one socket write each, nothing else."""
        by_slot = self.seats.by_slot
        for slot in group:
            member = by_slot[slot]
            if member is None or member.link is None:
                continue
            link = member.link
            if member.events:
                if link.send_frame(frame_head(int(acked[slot]), member.id, list(member.events)), payload):
                    member.events.clear()  # a skipped frame keeps them for the next one
            else:
                link.send_frame(heads[slot], payload)
