"""The client's view of the crowd: every frame applied to a copy of the shard's avatars, each avatar
gliding from where it is drawn to where the server last put it. No panda3d here.

Frames carry only what changed, each row in a tier (near every tick, mid every 5th, far every
20th: :data:`~showroom.protocol.limits.TIER_EVERY`). A row starts a glide from the avatar's
drawn position now to the row's position, timed to end when the next row of that tier is
due (for near avatars, at the row's own tick: as accurate as interpolating between two
ticks, ``delay_s`` in the past); a big jump glides at :data:`GLIDE_MPS` at most. So a far
avatar walks smoothly, about one refresh behind the truth, and none ever jumps. Vectorised
over avatars, indexed by slot.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.codes import STRIDE_M
from showroom.protocol.limits import TICK_HZ, TIER_EVERY
from showroom.protocol.snapshot import CellSnapshot, CrowdCopy

TURN = 2 * math.pi
GLIDE_MPS = 4.0
"""The fastest an avatar is drawn gliding to a new position (a far avatar that turned, one that came near)."""


@dataclass(frozen=True)
class CrowdFrame:
    """Every avatar the client draws at one moment, sorted by id.

    ``time_s`` is the moment on the server's tick clock (``tick / tick_hz``), positions
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


def interpolate(a: CrowdFrame, b: CrowdFrame, t: float) -> CrowdFrame:
    """The crowd at time ``t`` between frames ``a`` and ``b`` (``a.time_s <= t <= b.time_s``) holding the same
    avatars in the same order: positions linearly, headings along the shorter arc, phases forward."""
    span = b.time_s - a.time_s
    w = np.float32(0.0 if span <= 0 else min(max((t - a.time_s) / span, 0.0), 1.0))
    pos = a.pos + (b.pos - a.pos) * w
    turn = (b.heading - a.heading + np.float32(math.pi)) % np.float32(TURN) - np.float32(math.pi)
    phase = (a.phase + ((b.phase - a.phase) % np.float32(1.0)) * w) % np.float32(1.0)
    return CrowdFrame(t, b.ids, pos, (a.heading + turn * w) % np.float32(TURN), b.anim, phase)


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
    """The crowd as the client draws it: :meth:`push` every frame, :meth:`sample` at the render time."""

    def __init__(self, floor_m: tuple[float, float], delay_s: float = 0.1, tick_hz: int = TICK_HZ) -> None:
        self.floor_m = floor_m
        self.delay_s = delay_s
        self.tick_s = 1.0 / tick_hz
        self.copy = CrowdCopy()
        self.clock = ServerClock()
        self.tick = -1
        n = 0
        self.p0 = np.zeros((n, 2))
        self.p1 = np.zeros((n, 2))
        self.h0 = np.zeros(n)
        self.h1 = np.zeros(n)
        self.ph0 = np.zeros(n)
        self.ph1 = np.zeros(n)
        self.t0 = np.zeros(n)
        self.t1 = np.zeros(n)
        """Per slot: the glide from (p0, h0, ph0) at t0 to (p1, h1, ph1) at t1, tick-clock seconds."""
        self.last_time_s = 0.0

    def _grow(self, size: int) -> None:
        n = self.t0.size
        if size <= n:
            return
        extra = size - n
        self.p0 = np.concatenate([self.p0, np.zeros((extra, 2))])
        self.p1 = np.concatenate([self.p1, np.zeros((extra, 2))])
        for name in ("h0", "h1", "ph0", "ph1", "t0", "t1"):
            setattr(self, name, np.concatenate([getattr(self, name), np.zeros(extra)]))

    @property
    def latest(self) -> CrowdFrame | None:
        """Every avatar where the newest frames put it (no glide), if any frame came."""
        if self.tick < 0:
            return None
        copy = self.copy
        slots = copy.present()
        return CrowdFrame(self.last_time_s, copy.ids[slots], copy.pos[slots].astype(np.float32),
                          copy.heading[slots].astype(np.float32), copy.anim[slots], copy.phase[slots].astype(np.float32))

    def push(self, snap: CellSnapshot, time_s: float, arrival_s: float) -> None:
        """Apply a received frame of tick time ``time_s`` that arrived at local ``arrival_s``."""
        if snap.tick <= self.tick:
            return  # a repeated tick (frames come in order over one connection)
        self.clock.observe(time_s, arrival_s)
        now = self.render_time(arrival_s)
        copy = self.copy
        slots = snap.slots
        had = np.zeros(slots.size, bool)
        if not snap.key and copy.known.size:
            inside = slots < copy.known.size
            had[inside] = copy.known[slots[inside]]
            had &= ~np.isin(slots, snap.new_slots)
        copy.apply(snap)
        self._grow(copy.ids.size)
        self.tick, self.last_time_s = snap.tick, time_s
        glide = slots[had]
        if glide.size:
            p, h, ph = self._at(glide, now)
            self.p0[glide], self.h0[glide], self.ph0[glide], self.t0[glide] = p, h, ph, now
        jump = slots[~had]
        phase = copy.phase[slots]  # the gait the copy derived from the distance walked
        self.p0[jump], self.h0[jump], self.ph0[jump] = snap.pos[~had], snap.heading[~had], phase[~had]
        self.t0[jump] = now
        self.p1[slots], self.h1[slots], self.ph1[slots] = snap.pos, snap.heading, phase
        every = np.array(TIER_EVERY, np.float64)[snap.tier_of_rows()] * self.tick_s
        due = time_s + every - self.tick_s
        far = np.hypot(*(self.p1[slots] - self.p0[slots]).T) / GLIDE_MPS
        self.t1[slots] = np.where(had, np.maximum(np.maximum(due, now + far), now + 1e-3), now)

    def _at(self, slots: NDArray[np.int64], t: float) -> tuple[NDArray[np.float64], NDArray[np.float64],
                                                               NDArray[np.float64]]:
        """Where the avatars in ``slots`` are drawn at tick-clock time ``t``: position, heading, phase."""
        t0, t1 = self.t0[slots], self.t1[slots]
        span = t1 - t0
        u = np.clip((t - t0) / np.where(span > 0, span, 1.0), 0.0, 1.0)
        u[span <= 0] = 1.0
        p0, p1 = self.p0[slots], self.p1[slots]
        pos = p0 + (p1 - p0) * u[:, None]
        turn = (self.h1[slots] - self.h0[slots] + math.pi) % TURN - math.pi
        heading = (self.h0[slots] + turn * u) % TURN
        frac = (self.ph1[slots] - self.ph0[slots]) % 1.0
        cycles = np.maximum(np.rint(np.hypot(*(p1 - p0).T) / STRIDE_M - frac), 0.0) + frac
        phase = (self.ph0[slots] + cycles * u) % 1.0
        return pos, heading, phase

    def render_time(self, local_s: float) -> float:
        """The tick-clock time to draw at local time ``local_s``."""
        return self.clock.server_time(local_s) - self.delay_s

    def sample(self, t: float) -> CrowdFrame:
        """The crowd drawn at tick-clock time ``t``."""
        copy = self.copy
        slots = copy.present()
        if slots.size == 0:
            return CrowdFrame.empty(t)
        pos, heading, phase = self._at(slots, t)
        return CrowdFrame(t, copy.ids[slots], pos.astype(np.float32), heading.astype(np.float32), copy.anim[slots],
                          phase.astype(np.float32))
