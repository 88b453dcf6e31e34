"""The client's view of the crowd: interest payloads merged into one set of avatars per tick,
then sampled a little in the past (``delay_s``) by interpolating between the two ticks around
that time, vectorised over avatars. No panda3d here.

A near payload (``far`` false) carries the 3 x 3 block of interest cells around the visitor;
a far one the 5 x 5 block. So a far payload replaces the whole set, and a near payload
replaces the avatars of its 3 x 3 block and keeps the outer ring as last seen
(docs/protocol.md, "Interest management").
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.limits import INTEREST_CELL_M
from showroom.protocol.snapshot import CellSnapshot

TURN = 2 * math.pi


@dataclass(frozen=True)
class CrowdFrame:
    """Every avatar the client knows of at one server tick, sorted by id.

    ``time_s`` is the tick's time on the server's tick clock (``tick / tick_hz``), positions
    are metres, headings radians, phases cycle fractions.
    """

    time_s: float
    ids: NDArray[np.int64]
    pos: NDArray[np.float32]
    heading: NDArray[np.float32]
    anim: NDArray[np.uint8]
    phase: NDArray[np.float32]

    @classmethod
    def empty(cls, time_s: float = 0.0) -> CrowdFrame:
        """A frame with no avatars."""
        return cls(time_s, np.zeros(0, np.int64), np.zeros((0, 2), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.uint8), np.zeros(0, np.float32))

    def __len__(self) -> int:
        return int(self.ids.size)

    def rows(self, keep: NDArray[np.bool_] | NDArray[np.int64]) -> CrowdFrame:
        """The avatars picked by a mask or row indices, in that order."""
        return CrowdFrame(self.time_s, self.ids[keep], self.pos[keep], self.heading[keep], self.anim[keep],
                          self.phase[keep])


def frame_of(snap: CellSnapshot, time_s: float) -> CrowdFrame:
    """The avatars of one decoded payload as a frame, sorted by id."""
    order = np.argsort(snap.ids, kind="stable")
    return CrowdFrame(time_s, snap.ids[order], snap.pos[order].astype(np.float32),
                      snap.heading[order].astype(np.float32), snap.anim[order],
                      snap.phase[order].astype(np.float32))


def merge(prev: CrowdFrame | None, snap: CellSnapshot, time_s: float, floor_m: tuple[float, float],
          cell_m: float = INTEREST_CELL_M) -> CrowdFrame:
    """The client's whole set of avatars after receiving ``snap`` (see the module docstring)."""
    new = frame_of(snap, time_s)
    if prev is None or snap.far or len(prev) == 0:
        return new
    nx = max(1, math.ceil(floor_m[0] / cell_m))
    ny = max(1, math.ceil(floor_m[1] / cell_m))
    cx = np.clip((prev.pos[:, 0] / cell_m).astype(np.int64), 0, nx - 1)
    cy = np.clip((prev.pos[:, 1] / cell_m).astype(np.int64), 0, ny - 1)
    ring = (np.abs(cx - snap.cell[0]) > 1) | (np.abs(cy - snap.cell[1]) > 1)
    ring &= ~np.isin(prev.ids, new.ids, assume_unique=True)
    if not ring.any():
        return new
    kept = prev.rows(ring)
    ids = np.concatenate([new.ids, kept.ids])
    order = np.argsort(ids, kind="stable")
    return CrowdFrame(
        time_s, ids[order],
        np.concatenate([new.pos, kept.pos])[order],
        np.concatenate([new.heading, kept.heading])[order],
        np.concatenate([new.anim, kept.anim])[order],
        np.concatenate([new.phase, kept.phase])[order],
    )


def interpolate(a: CrowdFrame, b: CrowdFrame, t: float) -> CrowdFrame:
    """The crowd at time ``t`` between frames ``a`` and ``b`` (``a.time_s <= t <= b.time_s``).

    Avatars in ``b`` are drawn; those also in ``a`` are blended (positions linearly, headings
    along the shorter arc, phases forward), newcomers appear where ``b`` has them.
    """
    span = b.time_s - a.time_s
    w = np.float32(0.0 if span <= 0 else min(max((t - a.time_s) / span, 0.0), 1.0))
    if len(a) == 0 or len(b) == 0:
        return b if w > 0.5 or len(a) == 0 else a
    if a.ids is b.ids or (len(a) == len(b) and np.array_equal(a.ids, b.ids)):
        return _blend_same(a, b, w, t)  # the usual case: nobody joined or left between the ticks
    idx = np.minimum(np.searchsorted(a.ids, b.ids), len(a) - 1)
    both = a.ids[idx] == b.ids
    pos = b.pos.copy()
    heading = b.heading.copy()
    phase = b.phase.copy()
    ia = idx[both]
    pos[both] = a.pos[ia] + (b.pos[both] - a.pos[ia]) * w
    turn = (b.heading[both] - a.heading[ia] + np.float32(math.pi)) % np.float32(TURN) - np.float32(math.pi)
    heading[both] = (a.heading[ia] + turn * w) % np.float32(TURN)
    phase[both] = (a.phase[ia] + ((b.phase[both] - a.phase[ia]) % np.float32(1.0)) * w) % np.float32(1.0)
    return CrowdFrame(t, b.ids, pos, heading, b.anim, phase)


def _blend_same(a: CrowdFrame, b: CrowdFrame, w: np.float32, t: float) -> CrowdFrame:
    """:func:`interpolate` for two frames holding the same avatars in the same order."""
    pos = b.pos - a.pos
    pos *= w
    pos += a.pos
    turn = b.heading - a.heading
    turn += np.float32(math.pi)
    np.remainder(turn, np.float32(TURN), out=turn)
    turn -= np.float32(math.pi)
    turn *= w
    turn += a.heading
    step = b.phase - a.phase
    np.remainder(step, np.float32(1.0), out=step)
    step *= w
    step += a.phase
    np.remainder(step, np.float32(1.0), out=step)
    return CrowdFrame(t, b.ids, pos, turn, b.anim, step)


class ServerClock:
    """Maps local time to the server's tick clock, from the arrival times of frames.

    The offset is the smallest ``arrival - tick_time`` seen over the last ``window``
    frames: the frame that travelled fastest tells the clock best.
    """

    def __init__(self, window: int = 60) -> None:
        self._offsets: deque[float] = deque(maxlen=window)

    def observe(self, tick_time_s: float, arrival_s: float) -> None:
        """Note that the frame of tick time ``tick_time_s`` arrived at local time ``arrival_s``."""
        self._offsets.append(arrival_s - tick_time_s)

    @property
    def ready(self) -> bool:
        """Whether at least one frame has arrived."""
        return bool(self._offsets)

    def server_time(self, local_s: float) -> float:
        """The server tick-clock time at local time ``local_s``."""
        return local_s - min(self._offsets)


class SnapshotBuffer:
    """The last few merged frames; :meth:`sample` draws the crowd ``delay_s`` in the past."""

    def __init__(self, floor_m: tuple[float, float], delay_s: float = 0.1, keep: int = 16) -> None:
        self.floor_m = floor_m
        self.delay_s = delay_s
        self.frames: deque[CrowdFrame] = deque(maxlen=keep)
        self.clock = ServerClock()

    @property
    def latest(self) -> CrowdFrame | None:
        """The newest merged frame, if any."""
        return self.frames[-1] if self.frames else None

    def push(self, snap: CellSnapshot, time_s: float, arrival_s: float) -> None:
        """Merge a received payload of tick time ``time_s`` that arrived at local ``arrival_s``."""
        latest = self.latest
        if latest is not None and time_s <= latest.time_s:
            return  # a late or repeated tick: the newer view already holds
        self.frames.append(merge(latest, snap, time_s, self.floor_m))
        self.clock.observe(time_s, arrival_s)

    def render_time(self, local_s: float) -> float:
        """The tick-clock time to draw at local time ``local_s``."""
        return self.clock.server_time(local_s) - self.delay_s

    def sample(self, t: float) -> CrowdFrame:
        """The crowd at tick-clock time ``t``, clamped to the oldest and newest frames held."""
        if not self.frames:
            return CrowdFrame.empty(t)
        if t >= self.frames[-1].time_s:
            return self.frames[-1]
        if t <= self.frames[0].time_s:
            return self.frames[0]
        times = [f.time_s for f in self.frames]
        k = int(np.searchsorted(times, t, side="right"))
        return interpolate(self.frames[k - 1], self.frames[k], t)
