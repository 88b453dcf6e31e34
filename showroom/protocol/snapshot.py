"""Snapshots: avatars and mascots as packed, quantised NumPy records inside msgpack ``bin``.

A frame's shared part brings a client's copy of the crowd up to date; it is not a picture of
it. Avatars are keyed by their **slot** in the shard (uint16, reused after a visitor leaves);
``new`` maps slots to avatar ids as visitors arrive, ``gone`` frees slots, and ``rows`` carry
the state of the avatars that changed since what the client already holds, nearest tier
first (:data:`~showroom.protocol.limits.TIER_EVERY`). A ``key`` payload replaces everything.
Layout of the shared part, a msgpack map:

========= ============================================================================
key       value
========= ============================================================================
type      ``"snap"``
tick      server tick number (int)
t         show clock, seconds (float)
st        server wall-clock time when the tick ran, Unix seconds (float)
key       true: a keyframe: forget every avatar held, then apply this frame
tiers     ``[near, mid, far]``: how many of ``rows`` belong to each tier, in that order
rows      bin: records of :data:`ROW` (9 bytes: slot, x cm, y cm, heading, anim, phase)
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

from showroom.protocol.limits import CM_PER_M, MAX_COORD_M

TURN = 2 * np.pi
_MAX_CM = round(MAX_COORD_M * CM_PER_M)

ROW = np.dtype([("slot", "<u2"), ("x", "<u2"), ("y", "<u2"), ("hdg", "u1"), ("anim", "u1"), ("phase", "u1")])
"""One avatar's state on the wire (9 bytes, little-endian, packed)."""
NEW = np.dtype([("slot", "<u2"), ("id", "<u4")])
"""A slot taken by an avatar (6 bytes)."""
MASCOT = np.dtype([("x", "<u2"), ("y", "<u2"), ("hdg", "u1"), ("act", "u1"), ("pose", "i1"), ("phase", "u1")])
"""One mascot's state (8 bytes)."""


def _positions_cm(pos: NDArray[np.float64]) -> NDArray[np.uint16]:
    return np.clip(np.rint(pos * CM_PER_M), 0, _MAX_CM).astype("<u2")


def _angle_steps(angle: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.rint(angle * (256 / TURN)).astype(np.int64) % 256).astype(np.uint8)


def _phase_steps(phase: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.floor(phase * 256).astype(np.int64) % 256).astype(np.uint8)


def quantise_rows(slots: NDArray[np.int64], pos: NDArray[np.float64], heading: NDArray[np.float64],
                  anim: NDArray[np.uint8], phase: NDArray[np.float64]) -> NDArray[np.void]:
    """Avatars in metres and radians as :data:`ROW` records (one per slot given)."""
    rows = np.empty(len(slots), ROW)
    rows["slot"] = slots
    cm = _positions_cm(np.asarray(pos, np.float64).reshape(-1, 2))
    rows["x"], rows["y"] = cm[:, 0], cm[:, 1]
    rows["hdg"] = _angle_steps(np.asarray(heading, np.float64))
    rows["anim"] = anim
    rows["phase"] = _phase_steps(np.asarray(phase, np.float64))
    return rows


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
               gone: NDArray[np.integer] | None = None) -> bytes:
    """Encode the shared part of a frame: ``rows`` (:data:`ROW` records or their bytes, ``tiers`` counts in
    order), the slots taken (``new``) and freed (``gone``) since the frame it follows, the mascots, the
    show (None when unchanged) and the events."""
    body: dict[str, Any] = {"type": "snap", "tick": tick, "t": t, "st": server_time, "key": key,
                            "tiers": list(tiers), "rows": rows if isinstance(rows, bytes) else rows.tobytes()}
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
              heading: NDArray[np.float64], anim: NDArray[np.uint8], phase: NDArray[np.float64], mascots: bytes,
              show: dict[str, Any] | None, events: list[dict[str, Any]]) -> bytes:
    """A keyframe of the avatars given, all near, in slots 0 .. n-1 (tools, tests and examples)."""
    slots = np.arange(len(ids))
    rows = quantise_rows(slots, pos, heading, np.asarray(anim, np.uint8), phase)
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


def find_row(snap: dict[str, Any], slot: int) -> NDArray[np.float64] | None:
    """Where the avatar in ``slot`` stands (metres) if the payload carries its row, else None."""
    rows = read_rows(snap["rows"])
    hit = np.flatnonzero(rows["slot"] == slot)
    if hit.size == 0:
        return None
    row = rows[int(hit[0])]
    return np.array([row["x"], row["y"]], np.float64) / CM_PER_M


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
    phase: NDArray[np.float64]
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
        pos=positions_m(rows["x"], rows["y"]),
        heading=angles_rad(rows["hdg"]),
        anim=rows["anim"].copy(),
        phase=phases(rows["phase"]),
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


class CrowdCopy:
    """A client's copy of a shard's avatars, kept up to date by applying every frame in order.

    Arrays are indexed by slot and grow as slots appear; ``ids[slot]`` is -1 for a free slot.
    A slot is ``known`` once a row for its current avatar has arrived. Sans-I/O and vectorised:
    a frame costs a few array operations, whatever the crowd.
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
        self.pos[s] = snap.pos
        self.heading[s] = snap.heading
        self.anim[s] = snap.anim
        self.phase[s] = snap.phase
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
