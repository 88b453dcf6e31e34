"""Counters shared by every bot of one load-test process: traffic, latencies, errors, joins."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np


def percentiles_ms(samples_s: array, qs: tuple[float, ...] = (50, 95, 99)) -> list[float]:
    """Percentiles of latency samples (seconds) in milliseconds; zeros when there are none."""
    if not len(samples_s):
        return [0.0 for _ in qs]
    values = np.frombuffer(samples_s, dtype=np.float64) * 1000.0
    return [round(float(v), 3) for v in np.percentile(values, qs)]


@dataclass
class Stats:
    """Everything the bots count; one instance per process, updated from listener callbacks."""

    connected: int = 0
    joins_ok: int = 0
    joins_failed: int = 0
    connect_failed: int = 0
    handovers: int = 0
    """Seats a front door handed over (an event over workers)."""
    rejoins: int = 0
    """Bots that joined again through the front door after their worker went away."""
    messages_in: int = 0
    bytes_in: int = 0
    messages_out: int = 0
    bytes_out: int = 0
    snapshots: int = 0
    errors: Counter = field(default_factory=Counter)
    latency_s: array = field(default_factory=lambda: array("d"))
    window_latency_s: array = field(default_factory=lambda: array("d"))
    redeemed: int = 0
    refused: Counter = field(default_factory=Counter)
    community: Counter = field(default_factory=Counter)
    """Community actions and their confirmations (``poll_answers_sent``, ``votes_confirmed``, …)."""
    community_refused: Counter = field(default_factory=Counter)
    """Refused community messages by ``"message: reason"``."""

    def sent(self, size: int) -> None:
        """One message sent by a bot."""
        self.messages_out += 1
        self.bytes_out += size

    def received(self, size: int) -> None:
        """One whole message received by a bot."""
        self.messages_in += 1
        self.bytes_in += size

    def latency(self, seconds: float) -> None:
        """One snapshot delivery latency sample."""
        self.latency_s.append(seconds)
        self.window_latency_s.append(seconds)

    def take_window_p99_ms(self) -> float:
        """The p99 latency of the samples since the last call, then start a new window."""
        p99 = percentiles_ms(self.window_latency_s, (99,))[0]
        self.window_latency_s = array("d")
        return p99
