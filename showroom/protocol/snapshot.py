"""Snapshots: avatars and mascots as packed, quantised NumPy records inside msgpack ``bin``.

A frame's shared part brings a client's copy of the crowd up to date; it is not a picture of
it. Avatars are keyed by their **slot** in the shard (uint16, reused after a visitor leaves);
``new`` maps slots to avatar ids as visitors arrive, ``gone`` frees slots, and ``rows`` carry
the state of the avatars that changed since what the client already holds, nearest tier
first (:data:`~showroom.protocol.limits.TIER_EVERY`). A ``key`` payload replaces everything.

Positions are counted in 1/64 m (:data:`UNITS_PER_M`). The high byte of such a count is the
4 m interest cell (:data:`~showroom.protocol.limits.INTEREST_CELL_M`), which the rows of one
cell share: ``cells`` says it once per run of rows, and each row carries only the low bytes
(its place inside the cell, to 1.6 cm). A walker's gait phase is not sent: it follows the
distance walked (:data:`~showroom.protocol.codes.STRIDE_M`), so clients advance it themselves
(:class:`CrowdCopy`). Layout of the shared part, a msgpack map:

========= ============================================================================
key       value
========= ============================================================================
type      ``"snap"``
tick      server tick number (int)
t         show clock, seconds (float)
st        server wall-clock time when the tick ran, Unix seconds (float)
key       true: a keyframe: forget every avatar held, then apply this frame
tiers     ``[near, mid, far]``: how many of ``rows`` belong to each tier, in that order
rows      bin: records of :data:`ROW` (6 bytes: slot, x and y within the cell, heading, anim)
cells     bin: records of :data:`CELL` (3 bytes: cx, cy, n): the interest cell of the next ``n`` rows
new       bin: records of :data:`NEW` (6 bytes: slot, avatar id), slots taken (read after ``gone``)
gone      bin: uint16 slots freed
mascots   bin: records of :data:`MASCOT` (8 bytes each), in scene order
show      map (only when it changed, and in every keyframe and catch-up): ``cue``, ``look``,
          ``playing``, ``music``, ``announce``, ``lights``
events    array of maps, each with a ``type`` (see docs/protocol.md)
========= ============================================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np
from numpy.typing import NDArray

from showroom.protocol.codes import STRIDE_M
from showroom.protocol.limits import CM_PER_M, INTEREST_CELL_M, MAX_COORD_M

TURN = 2 * np.pi
_MAX_CM = round(MAX_COORD_M * CM_PER_M)

UNITS_PER_M = 64
"""Positions on the wire are counted in 1/64 m: the high byte is the interest cell, the low byte the place in it."""
CELL_UNITS = 256
assert INTEREST_CELL_M * UNITS_PER_M == CELL_UNITS, "an interest cell is the high byte of a position"
MAX_CELL_RUN = 255
"""Most rows one :data:`CELL` record covers (a fuller cell takes several records)."""

ROW = np.dtype([("slot", "<u2"), ("x", "u1"), ("y", "u1"), ("hdg", "u1"), ("anim", "u1")])
"""One avatar's state on the wire (6 bytes, packed): its place inside the cell of its run (1/64 m)."""
CELL = np.dtype([("cx", "u1"), ("cy", "u1"), ("n", "u1")])
"""A run of rows in one interest cell (3 bytes): column, row of the cell, how many rows."""
REC = np.dtype([("slot", "<u2"), ("x", "<u2"), ("y", "<u2"), ("hdg", "u1"), ("anim", "u1")])
"""An avatar's quantised state with whole positions (1/64 m), as a server keeps it; on the wire it is a
:data:`ROW` under a :data:`CELL` (see :func:`split_records`)."""
NEW = np.dtype([("slot", "<u2"), ("id", "<u4")])
"""A slot taken by an avatar (6 bytes)."""
MASCOT = np.dtype([("x", "<u2"), ("y", "<u2"), ("hdg", "u1"), ("act", "u1"), ("pose", "i1"), ("phase", "u1")])
"""One mascot's state (8 bytes)."""


def _positions_cm(pos: NDArray[np.float64]) -> NDArray[np.uint16]:
    return np.clip(np.rint(pos * CM_PER_M), 0, _MAX_CM).astype("<u2")


_MAX_UNITS = int(np.floor(MAX_COORD_M * UNITS_PER_M))


def position_units(pos: NDArray[np.float64]) -> NDArray[np.uint16]:
    """Positions (n, 2) metres as whole 1/64 m (rounded, clamped to the floor a snapshot can carry)."""
    return np.clip(np.rint(np.asarray(pos, np.float64) * UNITS_PER_M), 0, _MAX_UNITS).astype("<u2")


def _angle_steps(angle: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.rint(angle * (256 / TURN)).astype(np.int64) % 256).astype(np.uint8)


def _phase_steps(phase: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.floor(phase * 256).astype(np.int64) % 256).astype(np.uint8)


def quantise_rows(slots: NDArray[np.int64], pos: NDArray[np.float64], heading: NDArray[np.float64],
                  anim: NDArray[np.uint8]) -> NDArray[np.void]:
    """Avatars in metres and radians as :data:`REC` records (one per slot given)."""
    rec = np.empty(len(slots), REC)
    rec["slot"] = slots
    units = position_units(np.asarray(pos, np.float64).reshape(-1, 2))
    rec["x"], rec["y"] = units[:, 0], units[:, 1]
    rec["hdg"] = _angle_steps(np.asarray(heading, np.float64))
    rec["anim"] = anim
    return rec


def wire_rows(rec: NDArray[np.void]) -> NDArray[np.void]:
    """:data:`REC` records as :data:`ROW` records (the low bytes of their positions), in the same order."""
    rows = np.empty(len(rec), ROW)
    rows["slot"] = rec["slot"]
    rows["x"] = rec["x"] & 0xFF
    rows["y"] = rec["y"] & 0xFF
    rows["hdg"], rows["anim"] = rec["hdg"], rec["anim"]
    return rows


def cell_runs(cx: NDArray[np.integer], cy: NDArray[np.integer]) -> NDArray[np.void]:
    """:data:`CELL` records for rows standing in cells (cx, cy), in that order: one per run of rows in the
    same cell (split every :data:`MAX_CELL_RUN` rows)."""
    key = np.asarray(cx, np.int64) * 256 + np.asarray(cy, np.int64)
    if key.size == 0:
        return np.zeros(0, CELL)
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[start, key.size])
    pieces = (size + MAX_CELL_RUN - 1) // MAX_CELL_RUN
    first = np.repeat(start, pieces)
    k = np.arange(first.size) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    out = np.empty(first.size, CELL)
    out["cx"], out["cy"] = np.asarray(cx)[first], np.asarray(cy)[first]
    out["n"] = np.minimum(np.repeat(size, pieces) - k * MAX_CELL_RUN, MAX_CELL_RUN)
    return out


def split_records(rec: NDArray[np.void]) -> tuple[bytes, bytes]:
    """The ``rows`` and ``cells`` bins of :data:`REC` records, in their order."""
    return wire_rows(rec).tobytes(), cell_runs(rec["x"] >> 8, rec["y"] >> 8).tobytes()


def new_records(slots: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.void]:
    """Slot-to-id records of :data:`NEW`."""
    out = np.empty(len(slots), NEW)
    out["slot"], out["id"] = slots, ids
    return out


def pack_mascots(pos: NDArray[np.float64], heading: NDArray[np.float64], activity: NDArray[np.uint8],
                 pose: NDArray[np.int16], phase: NDArray[np.float64]) -> bytes:
    """The ``mascots`` bin of a snapshot (the same for every payload of a shard in one tick)."""
    out = np.empty(len(activity), MASCOT)
    cm = _positions_cm(np.asarray(pos, np.float64).reshape(-1, 2))
    out["x"], out["y"] = cm[:, 0], cm[:, 1]
    out["hdg"] = _angle_steps(np.asarray(heading, np.float64))
    out["act"] = activity
    out["pose"] = pose
    out["phase"] = _phase_steps(np.asarray(phase, np.float64))
    return out.tobytes()


def pack_frame(*, tick: int, t: float, server_time: float, key: bool, rows: NDArray[np.void] | bytes,
               tiers: tuple[int, int, int], mascots: bytes, show: dict[str, Any] | None,
               events: list[dict[str, Any]], new: NDArray[np.void] | None = None,
               gone: NDArray[np.integer] | None = None, cells: bytes | None = None) -> bytes:
    """Encode the shared part of a frame: ``rows`` (:data:`REC` records, or the ``rows`` bin with its
    ``cells`` bin), ``tiers`` counts in order, the slots taken (``new``) and freed (``gone``) since the
    frame it follows, the mascots, the show (None when unchanged) and the events."""
    if isinstance(rows, bytes):
        if cells is None:
            raise ValueError("rows given as bytes need their cells")
        row_bin, cell_bin = rows, cells
    else:
        row_bin, cell_bin = split_records(rows)
    body: dict[str, Any] = {"type": "snap", "tick": tick, "t": t, "st": server_time, "key": key,
                            "tiers": list(tiers), "rows": row_bin, "cells": cell_bin}
    if new is not None and len(new):
        body["new"] = new.tobytes()
    if gone is not None and len(gone):
        body["gone"] = np.asarray(gone, "<u2").tobytes()
    body["mascots"] = mascots
    if show is not None:
        body["show"] = show
    body["events"] = events
    return msgpack.packb(body, use_bin_type=True)


def pack_cell(*, tick: int, t: float, server_time: float, ids: NDArray[np.int64], pos: NDArray[np.float64],
              heading: NDArray[np.float64], anim: NDArray[np.uint8], mascots: bytes,
              show: dict[str, Any] | None, events: list[dict[str, Any]]) -> bytes:
    """A keyframe of the avatars given, all near, in slots 0 .. n-1 (tools, tests and examples)."""
    slots = np.arange(len(ids))
    rows = quantise_rows(slots, pos, heading, np.asarray(anim, np.uint8))
    return pack_frame(tick=tick, t=t, server_time=server_time, key=True, rows=rows, tiers=(len(ids), 0, 0),
                      mascots=mascots, show=show, events=events, new=new_records(slots, np.asarray(ids)))


def positions_m(x: NDArray[np.uint16], y: NDArray[np.uint16]) -> NDArray[np.float64]:
    """Centimetre columns as (n, 2) metres."""
    return np.column_stack([x, y]).astype(np.float64) / CM_PER_M


def angles_rad(steps: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Headings (256 steps per turn) as radians."""
    return np.multiply(steps, TURN / 256, dtype=np.float64)


def phases(steps: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Phases (256 steps per cycle) as cycle fractions."""
    return np.divide(steps, 256.0, dtype=np.float64)


@dataclass(frozen=True)
class MascotColumns:
    """A payload's ``mascots`` decoded: arrays in scene order."""

    pos: NDArray[np.float64]
    heading: NDArray[np.float64]
    activity: NDArray[np.uint8]
    """:class:`showroom.protocol.codes.Activity` values."""
    pose: NDArray[np.int8]
    phase: NDArray[np.float64]


def unpack_mascots(data: bytes) -> MascotColumns:
    """Decode a payload's ``mascots`` bin."""
    m = np.frombuffer(data, MASCOT)
    return MascotColumns(positions_m(m["x"], m["y"]), angles_rad(m["hdg"]), m["act"].copy(), m["pose"].copy(),
                         phases(m["phase"]))


def read_rows(data: bytes) -> NDArray[np.void]:
    """A ``rows`` bin as :data:`ROW` records (read-only, no copy)."""
    return np.frombuffer(data, ROW)


def row_positions(rows: NDArray[np.void], cells: bytes) -> NDArray[np.float64]:
    """Where the ``rows`` stand, (n, 2) metres, from the payload's ``cells`` bin (checked against the rows)."""
    runs = np.frombuffer(cells, CELL)
    n = runs["n"].astype(np.int64)
    if int(n.sum()) != len(rows):
        raise ValueError(f"snapshot cells cover {int(n.sum())} rows, not its {len(rows)}")
    x = np.repeat(runs["cx"].astype(np.int64) * CELL_UNITS, n) + rows["x"]
    y = np.repeat(runs["cy"].astype(np.int64) * CELL_UNITS, n) + rows["y"]
    return np.column_stack([x, y]).astype(np.float64) / UNITS_PER_M


def find_row(snap: dict[str, Any], slot: int) -> NDArray[np.float64] | None:
    """Where the avatar in ``slot`` stands (metres) if the payload carries its row, else None."""
    rows = read_rows(snap["rows"])
    hit = np.flatnonzero(rows["slot"] == slot)
    if hit.size == 0:
        return None
    i = int(hit[0])
    runs = np.frombuffer(snap["cells"], CELL)
    run = int(np.searchsorted(np.cumsum(runs["n"], dtype=np.int64), i, side="right"))
    if run >= len(runs):
        raise ValueError(f"snapshot cells do not cover row {i}")
    row = rows[i]
    return np.array([int(runs["cx"][run]) * CELL_UNITS + int(row["x"]),
                     int(runs["cy"][run]) * CELL_UNITS + int(row["y"])], np.float64) / UNITS_PER_M


@dataclass(frozen=True)
class CellSnapshot:
    """A decoded shared part of a frame, with positions back in metres and angles in radians."""

    tick: int
    t: float
    server_time: float
    key: bool
    tiers: tuple[int, int, int]
    slots: NDArray[np.int64]
    pos: NDArray[np.float64]
    heading: NDArray[np.float64]
    anim: NDArray[np.uint8]
    new_slots: NDArray[np.int64]
    new_ids: NDArray[np.int64]
    gone: NDArray[np.int64]
    mascot_pos: NDArray[np.float64]
    mascot_heading: NDArray[np.float64]
    mascot_activity: NDArray[np.uint8]
    mascot_pose: NDArray[np.int8]
    mascot_phase: NDArray[np.float64]
    show: dict[str, Any] | None
    """The show state, when it changed (and in keyframes and catch-ups); None: as before."""
    events: list[dict[str, Any]]

    def tier_of_rows(self) -> NDArray[np.int64]:
        """The tier (0 near, 1 mid, 2 far) of each row."""
        return np.repeat(np.arange(3), self.tiers)


def unpack_cell(snap: dict[str, Any]) -> CellSnapshot:
    """Decode the shared part of a frame (as ``msgpack.unpackb`` returns it)."""
    m = unpack_mascots(snap["mascots"])
    rows = read_rows(snap["rows"])
    new = np.frombuffer(snap.get("new", b""), NEW)
    tiers = tuple(int(n) for n in snap["tiers"])
    if len(tiers) != 3 or sum(tiers) != len(rows):
        raise ValueError(f"snapshot tiers {tiers} do not count its {len(rows)} rows")
    return CellSnapshot(
        tick=int(snap["tick"]),
        t=float(snap["t"]),
        server_time=float(snap["st"]),
        key=bool(snap["key"]),
        tiers=(tiers[0], tiers[1], tiers[2]),
        slots=rows["slot"].astype(np.int64),
        pos=row_positions(rows, snap["cells"]),
        heading=angles_rad(rows["hdg"]),
        anim=rows["anim"].copy(),
        new_slots=new["slot"].astype(np.int64),
        new_ids=new["id"].astype(np.int64),
        gone=np.frombuffer(snap.get("gone", b""), "<u2").astype(np.int64),
        mascot_pos=m.pos,
        mascot_heading=m.heading,
        mascot_activity=m.activity,
        mascot_pose=m.pose,
        mascot_phase=m.phase,
        show=snap.get("show"),
        events=list(snap["events"]),
    )


_GOLDEN = (np.sqrt(5.0) - 1) / 2
"""Slots' starting gait phases are spread by the golden ratio, so newcomers do not walk in step."""


class CrowdCopy:
    """A client's copy of a shard's avatars, kept up to date by applying every frame in order.

    Arrays are indexed by slot and grow as slots appear; ``ids[slot]`` is -1 for a free slot.
    A slot is ``known`` once a row for its current avatar has arrived. ``phase`` is each walker's
    gait (cycle fraction), which frames do not carry: it starts at a fraction set by the slot and
    advances by the distance between rows over :data:`~showroom.protocol.codes.STRIDE_M`. Sans-I/O
    and vectorised: a frame costs a few array operations, whatever the crowd.
    """

    def __init__(self) -> None:
        self.ids = np.full(0, -1, np.int64)
        self.known = np.zeros(0, bool)
        self.pos = np.zeros((0, 2), np.float64)
        self.heading = np.zeros(0, np.float64)
        self.anim = np.zeros(0, np.uint8)
        self.phase = np.zeros(0, np.float64)
        self.tick = -1
        self.show: dict[str, Any] = {}

    def _grow(self, size: int) -> None:
        n = self.ids.size
        if size <= n:
            return
        size = max(size, 2 * n, 64)
        self.ids = np.concatenate([self.ids, np.full(size - n, -1, np.int64)])
        self.known = np.concatenate([self.known, np.zeros(size - n, bool)])
        self.pos = np.concatenate([self.pos, np.zeros((size - n, 2))])
        self.heading = np.concatenate([self.heading, np.zeros(size - n)])
        self.anim = np.concatenate([self.anim, np.zeros(size - n, np.uint8)])
        self.phase = np.concatenate([self.phase, np.zeros(size - n)])

    def apply(self, snap: CellSnapshot) -> NDArray[np.int64]:
        """Take one frame's changes; return the slots whose rows it carried (in its row order)."""
        if snap.key:
            self.ids[:] = -1
            self.known[:] = False
        top = max([int(a.max()) + 1 for a in (snap.slots, snap.new_slots, snap.gone) if a.size] or [0])
        self._grow(top)
        self.ids[snap.gone] = -1
        self.known[snap.gone] = False
        self.ids[snap.new_slots] = snap.new_ids
        self.known[snap.new_slots] = False
        s = snap.slots
        walked = np.hypot(*(snap.pos - self.pos[s]).T) / STRIDE_M
        self.phase[s] = np.where(self.known[s], self.phase[s] + walked, s * _GOLDEN) % 1.0
        self.pos[s] = snap.pos
        self.heading[s] = snap.heading
        self.anim[s] = snap.anim
        self.known[s] = self.ids[s] >= 0
        self.tick = snap.tick
        if snap.show is not None:
            self.show = snap.show
        return s

    def present(self) -> NDArray[np.int64]:
        """Slots of the avatars known now, in id order."""
        slots = np.flatnonzero(self.known)
        return slots[np.argsort(self.ids[slots], kind="stable")]

    def where(self, avatar: int) -> NDArray[np.float64] | None:
        """Where avatar ``avatar`` (an id) stands as last told, if known."""
        hit = np.flatnonzero((self.ids == avatar) & self.known)
        return self.pos[int(hit[0])].copy() if hit.size else None
