"""Server health figures: tick times, overruns, message and byte rates."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

STAGES = ("inputs", "sim", "interactions", "interest", "encode", "send")


@dataclass
class Metrics:
    """Counters kept by the server and turned into the ``/metrics`` JSON."""

    tick_ms: deque = field(default_factory=lambda: deque(maxlen=2400))
    stage_ms: dict[str, deque] = field(default_factory=lambda: {s: deque(maxlen=2400) for s in STAGES})
    ticks: int = 0
    overruns: int = 0
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    frames_skipped: int = 0
    errors_sent: int = 0
    _marks: deque = field(default_factory=lambda: deque(maxlen=16))

    def count_in(self, size: int) -> None:
        """One message received."""
        self.messages_in += 1
        self.bytes_in += size

    def count_out(self, size: int) -> None:
        """One message sent."""
        self.messages_out += 1
        self.bytes_out += size

    def mark(self) -> None:
        """Remember the counters now (called about once a second) for the per-second rates."""
        self._marks.append((time.monotonic(), self.messages_in, self.messages_out, self.bytes_in, self.bytes_out))

    def rates(self) -> tuple[float, float, float, float]:
        """Messages in/out and bytes in/out per second over the last few seconds."""
        if len(self._marks) < 2:
            return 0.0, 0.0, 0.0, 0.0
        (t0, *a), (t1, *b) = self._marks[0], self._marks[-1]
        span = max(t1 - t0, 1e-9)
        return tuple((y - x) / span for x, y in zip(a, b))  # type: ignore[return-value]

    def snapshot(self, visitors: int, shards: int) -> dict[str, float | int]:
        """The ``/metrics`` document."""
        ticks = np.array(self.tick_ms) if self.tick_ms else np.zeros(1)
        m_in, m_out, b_in, b_out = self.rates()
        doc: dict[str, float | int] = {
            "visitors": visitors,
            "shards": shards,
            "ticks": self.ticks,
            "tick_ms_p50": round(float(np.percentile(ticks, 50)), 3),
            "tick_ms_p99": round(float(np.percentile(ticks, 99)), 3),
            "tick_overruns": self.overruns,
            "tick_overrun_pct": round(100.0 * self.overruns / max(self.ticks, 1), 3),
            "messages_in_per_s": round(m_in, 1),
            "messages_out_per_s": round(m_out, 1),
            "bytes_in_per_s": round(b_in, 1),
            "bytes_out_per_s": round(b_out, 1),
            "frames_skipped": self.frames_skipped,
            "errors_sent": self.errors_sent,
        }
        for stage, values in self.stage_ms.items():
            doc[f"{stage}_ms_p50"] = round(float(np.percentile(np.array(values), 50)), 3) if values else 0.0
        return doc
