"""``showroom bench crowd``: the vectorised crowd step against a per-agent Python loop.

The scenario is the standard one (see :mod:`showroom.sim.hall`). Both implementations
run in the same process, one after the other, so their ratio holds on a noisy machine.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from showroom.bench.hall import WALL_HALF_M, hall_crowd, hall_side_m, redraw_arrived
from showroom.bench.reference import ReferenceCrowd
from showroom.sim.crowd import VISITOR_RADIUS_M, VISITOR_SPEED_MPS
from showroom.sim.step import step
from showroom.sim.world import DT_S


@dataclass
class CrowdBench:
    """Figures of one benchmark run."""

    agents: int
    steps: int
    median_ms: float
    p95_ms: float
    mean_ms: float
    agent_steps_per_s: float
    reference_agents: int
    reference_steps: int
    reference_us_per_agent_step: float
    speedup_per_agent_step: float
    arrivals: int

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


def time_vectorised(agents: int, steps: int, warmup: int = 20, seed: int = 0) -> tuple[np.ndarray, int]:
    """Per-step wall times (s) of the NumPy crowd step in the benchmark hall, and arrivals."""
    crowd, env, rng = hall_crowd(agents, seed)
    side = hall_side_m(agents)
    times = np.empty(steps)
    arrivals = 0
    for k in range(warmup + steps):
        start = time.perf_counter()
        step(crowd, env, DT_S)
        arrivals += redraw_arrived(crowd, rng, side)
        if k >= warmup:
            times[k - warmup] = time.perf_counter() - start
    return times, arrivals


def time_reference(agents: int, steps: int, seed: int = 0) -> float:
    """Seconds per agent-step of the pure-Python reference on the same scenario."""
    crowd, _, rng = hall_crowd(agents, seed)
    side = hall_side_m(agents)
    ref = ReferenceCrowd(crowd.pos.tolist(), crowd.goal.tolist(), VISITOR_RADIUS_M, VISITOR_SPEED_MPS, side, WALL_HALF_M)
    start = time.perf_counter()
    for _ in range(steps):
        ref.step(DT_S)
        for k, done in enumerate(ref.arrived):
            if done:
                ref.goal[k] = list(rng.uniform(0.5, side - 0.5, 2))
    return (time.perf_counter() - start) / (agents * steps)


def run(agents: int, steps: int, reference_agents: int = 500, reference_steps: int = 10) -> CrowdBench:
    """Time both implementations and return the figures."""
    times, arrivals = time_vectorised(agents, steps)
    ref = time_reference(reference_agents, reference_steps)
    per_agent_step = float(np.median(times)) / agents
    return CrowdBench(
        agents=agents,
        steps=steps,
        median_ms=float(np.median(times) * 1e3),
        p95_ms=float(np.percentile(times, 95) * 1e3),
        mean_ms=float(times.mean() * 1e3),
        agent_steps_per_s=agents / float(np.median(times)),
        reference_agents=reference_agents,
        reference_steps=reference_steps,
        reference_us_per_agent_step=ref * 1e6,
        speedup_per_agent_step=ref / per_agent_step,
        arrivals=arrivals,
    )
