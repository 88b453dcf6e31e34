"""Snapshots: avatars and mascots as packed, quantised NumPy arrays inside msgpack ``bin``.

Layout of the shared (per-cell) part of a frame, a msgpack map:

========= ============================================================================
key       value
========= ============================================================================
type      ``"snap"``
tick      server tick number (int)
t         show clock, seconds (float)
st        server wall-clock time when the tick ran, Unix seconds (float)
cell      ``[cx, cy]`` interest cell of this payload
far       true when this payload also carries the outer ring of cells
ids       bin: uint32 little-endian avatar ids, n entries
pos       bin: uint16 LE pairs, positions in centimetres, 2n entries (x0, y0, x1, y1, …)
hdg       bin: uint8 heading, 256 steps per turn (0 faces +y, counter-clockwise)
anim      bin: uint8, bit 0 walking, bits 4-7 ``1 + reaction index`` shown now (0 none)
phase     bin: uint8 walk-cycle phase, 256 steps per cycle
mascots   map with bins of length m: ``pos`` (uint16 cm pairs), ``hdg``, ``act``
          (uint8 :class:`showroom.protocol.codes.Activity`), ``pose`` (int8, -1 none),
          ``phase`` (uint8)
show      map: ``cue`` (int), ``look`` (int), ``playing`` (bool), ``music`` (str|nil),
          ``announce`` (str|nil), ``lights``: {``house``: [r, g, b, level], ``runway``: […]}
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


def _positions_cm(pos: NDArray[np.float64]) -> NDArray[np.uint16]:
    return np.clip(np.rint(pos * CM_PER_M), 0, _MAX_CM).astype("<u2")


def _angle_steps(angle: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.rint(angle * (256 / TURN)).astype(np.int64) % 256).astype(np.uint8)


def _phase_steps(phase: NDArray[np.float64]) -> NDArray[np.uint8]:
    return (np.floor(phase * 256).astype(np.int64) % 256).astype(np.uint8)


def quantise_positions(pos: NDArray[np.float64]) -> bytes:
    """Metres to little-endian uint16 centimetres (clamped to 0 .. 655.35 m)."""
    return _positions_cm(pos).tobytes()


def quantise_angles(angle: NDArray[np.float64]) -> bytes:
    """Radians to uint8, 256 steps per turn."""
    return _angle_steps(angle).tobytes()


def quantise_phase(phase: NDArray[np.float64]) -> bytes:
    """A cycle fraction in [0, 1) to uint8."""
    return _phase_steps(phase).tobytes()


@dataclass(frozen=True)
class AvatarColumns:
    """Avatars already in their wire form (one row each), so a shard quantises once per tick
    and each cell's payload only picks its rows."""

    ids: NDArray[np.uint32]
    pos: NDArray[np.uint16]
    """Shape (n, 2), centimetres."""
    hdg: NDArray[np.uint8]
    anim: NDArray[np.uint8]
    phase: NDArray[np.uint8]

    @classmethod
    def quantise(cls, ids: NDArray[np.int64], pos: NDArray[np.float64], heading: NDArray[np.float64],
                 anim: NDArray[np.uint8], phase: NDArray[np.float64]) -> AvatarColumns:
        """Quantise avatars in metres and radians to their wire form."""
        return cls(ids.astype("<u4"), _positions_cm(pos).reshape(-1, 2), _angle_steps(heading),
                   anim.astype(np.uint8), _phase_steps(phase))


def pack_cell(
    *,
    tick: int,
    t: float,
    server_time: float,
    cell: tuple[int, int],
    far: bool,
    ids: NDArray[np.int64],
    pos: NDArray[np.float64],
    heading: NDArray[np.float64],
    anim: NDArray[np.uint8],
    phase: NDArray[np.float64],
    mascots: dict[str, bytes],
    show: dict[str, Any],
    events: list[dict[str, Any]],
) -> bytes:
    """Encode the shared part of a frame for one interest cell."""
    avatars = AvatarColumns.quantise(ids, pos, heading, anim, phase)
    return pack_cell_rows(avatars, None, tick=tick, t=t, server_time=server_time, cell=cell, far=far,
                          mascots=mascots, show=show, events=events)


def pack_cell_rows(avatars: AvatarColumns, rows: NDArray[np.int64] | None, *, tick: int, t: float,
                   server_time: float, cell: tuple[int, int], far: bool, mascots: dict[str, bytes],
                   show: dict[str, Any], events: list[dict[str, Any]]) -> bytes:
    """Encode the shared part of a frame for one interest cell from ``rows`` of ``avatars`` (None: all)."""
    pick = slice(None) if rows is None else rows
    return msgpack.packb(
        {
            "type": "snap",
            "tick": tick,
            "t": t,
            "st": server_time,
            "cell": list(cell),
            "far": far,
            "ids": avatars.ids[pick].tobytes(),
            "pos": avatars.pos[pick].tobytes(),
            "hdg": avatars.hdg[pick].tobytes(),
            "anim": avatars.anim[pick].tobytes(),
            "phase": avatars.phase[pick].tobytes(),
            "mascots": mascots,
            "show": show,
            "events": events,
        },
        use_bin_type=True,
    )


def pack_mascots(pos: NDArray[np.float64], heading: NDArray[np.float64], activity: NDArray[np.uint8],
                 pose: NDArray[np.int16], phase: NDArray[np.float64]) -> dict[str, bytes]:
    """The ``mascots`` map of a snapshot (the same for every cell of a shard in one tick)."""
    return {
        "pos": quantise_positions(pos),
        "hdg": quantise_angles(heading),
        "act": activity.astype(np.uint8).tobytes(),
        "pose": pose.astype(np.int8).tobytes(),
        "phase": quantise_phase(phase),
    }


def avatar_ids(data: bytes) -> NDArray[np.int64]:
    """A payload's ``ids`` bin as avatar ids."""
    return np.frombuffer(data, "<u4").astype(np.int64)


def positions_m(data: bytes) -> NDArray[np.float64]:
    """A ``pos`` bin (uint16 LE centimetre pairs) as (n, 2) metres."""
    return np.divide(np.frombuffer(data, "<u2").reshape(-1, 2), CM_PER_M, dtype=np.float64)


def angles_rad(data: bytes) -> NDArray[np.float64]:
    """A ``hdg`` bin (256 steps per turn) as radians."""
    return np.multiply(np.frombuffer(data, np.uint8), TURN / 256, dtype=np.float64)


def phases(data: bytes) -> NDArray[np.float64]:
    """A ``phase`` bin (256 steps per cycle) as cycle fractions."""
    return np.divide(np.frombuffer(data, np.uint8), 256.0, dtype=np.float64)


@dataclass(frozen=True)
class MascotColumns:
    """A payload's ``mascots`` map decoded: arrays in scene order."""

    pos: NDArray[np.float64]
    heading: NDArray[np.float64]
    activity: NDArray[np.uint8]
    """:class:`showroom.protocol.codes.Activity` values."""
    pose: NDArray[np.int8]
    phase: NDArray[np.float64]


def unpack_mascots(m: dict[str, Any]) -> MascotColumns:
    """Decode a payload's ``mascots`` map."""
    return MascotColumns(positions_m(m["pos"]), angles_rad(m["hdg"]), np.frombuffer(m["act"], np.uint8),
                         np.frombuffer(m["pose"], np.int8), phases(m["phase"]))


def find_avatar(snap: dict[str, Any], avatar_id: int) -> NDArray[np.float64] | None:
    """Where avatar ``avatar_id`` stands (metres) in a payload, decoding only its row; None when absent."""
    hit = np.flatnonzero(np.frombuffer(snap["ids"], "<u4") == avatar_id)
    if hit.size == 0:
        return None
    k = int(hit[0])
    return np.frombuffer(snap["pos"], "<u2", count=2, offset=4 * k) / CM_PER_M


@dataclass(frozen=True)
class CellSnapshot:
    """A decoded shared part of a frame, with positions back in metres and angles in radians."""

    tick: int
    t: float
    server_time: float
    cell: tuple[int, int]
    ids: NDArray[np.int64]
    pos: NDArray[np.float64]
    heading: NDArray[np.float64]
    anim: NDArray[np.uint8]
    phase: NDArray[np.float64]
    mascot_pos: NDArray[np.float64]
    mascot_heading: NDArray[np.float64]
    mascot_activity: NDArray[np.uint8]
    mascot_pose: NDArray[np.int8]
    mascot_phase: NDArray[np.float64]
    show: dict[str, Any]
    events: list[dict[str, Any]]
    far: bool = False
    """Whether the payload carries the outer ring of cells too (the 5 x 5 block)."""


def unpack_cell(snap: dict[str, Any]) -> CellSnapshot:
    """Decode the shared part of a frame (as ``msgpack.unpackb`` returns it)."""
    m = unpack_mascots(snap["mascots"])
    return CellSnapshot(
        tick=int(snap["tick"]),
        t=float(snap["t"]),
        server_time=float(snap["st"]),
        cell=(int(snap["cell"][0]), int(snap["cell"][1])),
        ids=avatar_ids(snap["ids"]),
        pos=positions_m(snap["pos"]),
        heading=angles_rad(snap["hdg"]),
        anim=np.frombuffer(snap["anim"], np.uint8),
        phase=phases(snap["phase"]),
        mascot_pos=m.pos,
        mascot_heading=m.heading,
        mascot_activity=m.activity,
        mascot_pose=m.pose,
        mascot_phase=m.phase,
        show=snap["show"],
        events=list(snap["events"]),
        far=bool(snap.get("far", False)),
    )
