"""Server health figures: tick times and lateness, overruns, message and byte rates.

The network layer measures (it owns the clocks) and records here; ``/metrics`` reads a
snapshot. Every series is a bounded window of the latest ticks.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from showroom.protocol.limits import TICK_HZ

STAGES = ("inputs", "sim", "interactions", "interest", "encode", "send")
WINDOW_TICKS = 120 * TICK_HZ
"""Ticks kept for the percentiles: two minutes at the standard rate."""


class StageSeconds(Protocol):
    """Seconds spent in each stage of one shard's tick (:class:`server.event.frames.StageTimes`)."""

    inputs: float
    sim: float
    interactions: float
    interest: float
    encode: float
    send: float


def _window() -> deque[float]:
    return deque(maxlen=WINDOW_TICKS)


@dataclass
class Metrics:
    """Counters kept by the server and turned into the ``/metrics`` JSON."""

    tick_ms: deque[float] = field(default_factory=_window)
    late_ms: deque[float] = field(default_factory=_window)
    """How late each tick started after its slot, milliseconds (a stalled event loop shows here)."""
    stage_ms: dict[str, deque[float]] = field(default_factory=lambda: {s: _window() for s in STAGES})
    ticks: int = 0
    overruns: int = 0
    """Tick slots missed: a tick that ran past its slot, and every slot skipped when far behind."""
    skipped: int = 0
    """Tick slots skipped (never run) to catch up."""
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    frames_skipped: int = 0
    errors_sent: int = 0
    clock_changes: int = 0
    """Shared show clock (an event over workers): anchors applied..."""
    clock_late_ticks: deque[int] = field(default_factory=lambda: deque(maxlen=256))
    """...and, for those applied after their tick, how many ticks late..."""
    clock_off_ms: deque[float] = field(default_factory=lambda: deque(maxlen=256))
    """...and how far this worker's show time was meanwhile from the on-time workers', milliseconds."""
    _marks: deque[tuple[float, int, int, int, int]] = field(default_factory=lambda: deque(maxlen=16))

    def count_in(self, size: int) -> None:
        """One message received."""
        self.messages_in += 1
        self.bytes_in += size

    def count_out(self, size: int) -> None:
        """One message sent."""
        self.messages_out += 1
        self.bytes_out += size

    def record_tick(self, took_ms: float, late_ms: float) -> None:
        """One tick ran: how long it took and how late it started."""
        self.ticks += 1
        self.tick_ms.append(took_ms)
        self.late_ms.append(late_ms)

    def record_stages(self, times: StageSeconds) -> None:
        """One shard's stage times of this tick."""
        for stage in STAGES:
            self.stage_ms[stage].append(getattr(times, stage) * 1e3)

    def clock_applied(self) -> None:
        """A show clock anchor took effect."""
        self.clock_changes += 1

    def clock_late(self, ticks: int, off_s: float) -> None:
        """A show clock anchor took effect ``ticks`` late, the show time ``off_s`` from where it should have been."""
        self.clock_late_ticks.append(ticks)
        self.clock_off_ms.append(off_s * 1e3)

    def mark(self, now: float) -> None:
        """Remember the counters at monotonic time ``now`` (about once a second) for the per-second rates."""
        self._marks.append((now, self.messages_in, self.messages_out, self.bytes_in, self.bytes_out))

    def rates(self) -> tuple[float, float, float, float]:
        """Messages in/out and bytes in/out per second over the last few seconds."""
        if len(self._marks) < 2:
            return 0.0, 0.0, 0.0, 0.0
        (t0, *a), (t1, *b) = self._marks[0], self._marks[-1]
        span = max(t1 - t0, 1e-9)
        m_in, m_out, b_in, b_out = ((y - x) / span for x, y in zip(a, b))
        return m_in, m_out, b_in, b_out

    def snapshot(self, visitors: int, avatars: int, shards: int) -> dict[str, float | int]:
        """The ``/metrics`` document: ``visitors`` are connected avatars, ``avatars`` includes those
        waiting to resume."""
        ticks = np.array(self.tick_ms) if self.tick_ms else np.zeros(1)
        late = np.array(self.late_ms) if self.late_ms else np.zeros(1)
        m_in, m_out, b_in, b_out = self.rates()
        doc: dict[str, float | int] = {
            "visitors": visitors,
            "avatars": avatars,
            "shards": shards,
            "ticks": self.ticks,
            "tick_ms_p50": round(float(np.percentile(ticks, 50)), 3),
            "tick_ms_p99": round(float(np.percentile(ticks, 99)), 3),
            "tick_late_ms_p99": round(float(np.percentile(late, 99)), 3),
            "tick_late_ms_max": round(float(late.max()), 3),
            "tick_overruns": self.overruns,
            "tick_slots": self.ticks + self.skipped,
            "tick_overrun_pct": round(100.0 * self.overruns / max(self.ticks + self.skipped, 1), 3),
            "messages_in_per_s": round(m_in, 1),
            "messages_out_per_s": round(m_out, 1),
            "bytes_in_per_s": round(b_in, 1),
            "bytes_out_per_s": round(b_out, 1),
            "frames_skipped": self.frames_skipped,
            "errors_sent": self.errors_sent,
        }
        if self.clock_changes:
            doc["show_clock_changes"] = self.clock_changes
            doc["show_clock_late"] = len(self.clock_late_ticks)
            doc["show_clock_off_ms_max"] = round(max(self.clock_off_ms, default=0.0), 3)
            on_time = max(self.clock_changes - len(self.clock_late_ticks), 0)  # applied on their tick: 0 late
            late = np.concatenate([np.zeros(min(on_time, 10_000)), np.array(self.clock_late_ticks, dtype=float)])
            doc["show_clock_late_ticks_p99"] = round(float(np.percentile(late, 99)), 3)
            doc["show_clock_late_ticks_max"] = int(max(self.clock_late_ticks, default=0))
        for stage, values in self.stage_ms.items():
            doc[f"{stage}_ms_p50"] = round(float(np.percentile(np.array(values), 50)), 3) if values else 0.0
        return doc
