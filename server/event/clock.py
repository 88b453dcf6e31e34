"""One show clock for an event whose shards run in several processes.

A single process advances its show time by one tick's length per tick. Workers cannot: their ticks
drift apart and a stall skips ticks in one process only. So when an event is spread over workers,
ticks run on the wall clock's tick grid (tick ``k`` at Unix time ``k / tick_hz``, the same ``k`` in
every process on synchronised clocks) and the show time is a function of ``k``: an :class:`Anchor`
says "at tick ``k`` the show is at ``t``, playing or held". Every shard of every worker that ticks
``k`` under the same anchor computes the same show time, hence the same mascot state.

A host action makes a new anchor a couple of ticks ahead (:data:`LEAD_TICKS`), sent to every worker
over the broker; each applies it at exactly that tick when it arrives in time (it normally arrives
within a millisecond) and at its next tick otherwise. Anchors are ordered by the broker's sequence
number, so two hosts acting at once end the same way everywhere. Sans-I/O: no clock is read here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

LEAD_TICKS = 3
"""A host's show change takes effect this many ticks after the tick that last ran where it was made:
time for the broker to reach every worker (100-150 ms at 20 Hz), so all switch on the same tick. Two ticks
were too few for a worker busy near its limit: 1 of 36 changes came a tick late at 900 visitors a worker."""
MAX_LATE = 256
"""Late applications remembered for ``/metrics`` (the newest)."""


@dataclass(frozen=True)
class Anchor:
    """From tick ``tick`` on, the show is at ``t`` (seconds) then, playing or held; ``seek`` marks a jump
    (mascots are put where the show has them instead of walking there). ``seq`` orders anchors (the
    broker's sequence number; 0 for the one a worker starts with)."""

    tick: int
    t: float
    playing: bool
    seek: bool = False
    seq: int = 0

    def show_t(self, tick: int, tick_s: float, duration: float) -> float:
        """The show time at ``tick`` under this anchor (clamped to the show)."""
        t = self.t + (tick - self.tick) * tick_s if self.playing else self.t
        return min(max(round(t, 6), 0.0), duration)

    def wire(self) -> dict[str, Any]:
        """The anchor as sent over the broker (without ``seq``, which the broker gives)."""
        body = asdict(self)
        del body["seq"]
        return body

    @staticmethod
    def read(body: dict[str, Any], seq: int) -> Anchor:
        """An anchor from the broker; ``ValueError`` when a field is missing or of the wrong kind."""
        try:
            tick, t, playing, seek = body["tick"], body["t"], body["playing"], body.get("seek", False)
        except (KeyError, TypeError) as exc:
            raise ValueError(f"an anchor needs tick, t and playing: {exc}") from None
        if type(tick) is not int or not isinstance(t, (int, float)) or not math.isfinite(t) \
                or type(playing) is not bool or type(seek) is not bool:
            raise ValueError(f"an anchor's tick is an integer, t a number, playing and seek booleans: {body!r}")
        return Anchor(tick, float(t), playing, seek, seq)


@dataclass(frozen=True)
class Applied:
    """An anchor that took effect at a tick: ``late_ticks`` after the tick it was meant for (0: on time),
    and ``off_s``: how far the show time of the ticks run meanwhile was from where every worker on time had it."""

    anchor: Anchor
    at_tick: int
    late_ticks: int
    off_s: float


class SharedClock:
    """The show clock of one worker of an event: the anchor in force and those waiting for their tick."""

    def __init__(self, tick_s: float, duration: float, start: Anchor) -> None:
        self.tick_s = tick_s
        self.duration = duration
        self.current = start
        self.pending: list[Anchor] = []
        self.late: list[Applied] = []
        """Anchors applied after their tick (the newest :data:`MAX_LATE`)."""
        self.last_tick = start.tick

    @property
    def latest(self) -> Anchor:
        """The newest anchor known, in force or waiting: what a new host action builds on."""
        return max([self.current, *self.pending], key=lambda a: a.seq)

    def show_t(self, tick: int) -> float:
        """The show time at ``tick`` under the anchor in force."""
        return self.current.show_t(tick, self.tick_s, self.duration)

    def propose(self, *, playing: bool | None = None, seek_to: float | None = None) -> Anchor:
        """A new anchor :data:`LEAD_TICKS` ahead of the last tick run: the show time it would have then
        under the newest anchor, or ``seek_to``; playing as now unless ``playing`` says."""
        base = self.latest
        tick = max(self.last_tick + LEAD_TICKS, base.tick)
        t = base.show_t(tick, self.tick_s, self.duration) if seek_to is None else min(max(seek_to, 0.0), self.duration)
        return Anchor(tick, t, base.playing if playing is None else playing, seek_to is not None)

    def schedule(self, anchor: Anchor) -> bool:
        """Take an anchor from the broker; False for one already known or older than the one in force."""
        if anchor.seq <= self.current.seq or any(a.seq == anchor.seq for a in self.pending):
            return False
        self.pending.append(anchor)
        self.pending.sort(key=lambda a: a.seq)
        return True

    def at(self, tick: int) -> tuple[float, list[Applied]]:
        """The show time of ``tick`` and the anchors that take effect with it (in order)."""
        applied: list[Applied] = []
        keep: list[Anchor] = []
        for anchor in self.pending:
            if anchor.seq <= self.current.seq:  # overtaken by a newer one already in force
                continue
            if anchor.tick > tick:
                keep.append(anchor)
                continue
            late = max(0, self.last_tick - anchor.tick + 1)  # ticks a..last_tick ran under the older anchor
            off = 0.0
            if late:
                off = abs(self.current.show_t(self.last_tick, self.tick_s, self.duration)
                          - anchor.show_t(self.last_tick, self.tick_s, self.duration))
            done = Applied(anchor, tick, late, off)
            applied.append(done)
            self.current = anchor
            if late:
                self.late.append(done)
                del self.late[:-MAX_LATE]
        self.pending = keep
        self.last_tick = tick
        return self.show_t(tick), applied
