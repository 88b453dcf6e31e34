"""``showroom bench crowd``: the vectorised crowd step against JuPedSim and a per-agent Python loop.

The scenario is the standard one (see :mod:`showroom.bench.hall`). All implementations
run in the same process, one after the other, so their ratios hold on a noisy machine.
JuPedSim is optional (``pip install 'showroom[bench]'``) and imported only when it is timed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

from showroom.bench.hall import WALL_HALF_M, hall_crowd, hall_side_m, random_points, redraw_arrived
from showroom.bench.reference import ReferenceCrowd
from showroom.sim.crowd import VISITOR_RADIUS_M, VISITOR_SPEED_MPS
from showroom.sim.step import step
from showroom.sim.world import DT_S

JUPEDSIM_INSTALL = "pip install 'showroom[bench]'"
JUPEDSIM_TIMED = "timed"
JUPEDSIM_MISSING = "not installed"
JUPEDSIM_SKIPPED = "skipped"


@dataclass
class CrowdBench:
    """Figures of one benchmark run; the ``jupedsim_*`` ones are None unless JuPedSim was timed."""

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
    jupedsim_status: str = JUPEDSIM_SKIPPED
    """``timed``, ``not installed`` or ``skipped``."""
    jupedsim_version: str | None = None
    jupedsim_agents: int | None = None
    jupedsim_steps: int | None = None
    jupedsim_median_ms: float | None = None
    """Median of ``Simulation.iterate()`` alone, per step."""
    jupedsim_p95_ms: float | None = None
    jupedsim_redraw_median_ms: float | None = None
    """Median per step of reading positions and redrawing goals through JuPedSim's Python API (not in the above)."""
    jupedsim_arrivals: int | None = None
    ours_median_ms_at_jupedsim_agents: float | None = None
    """Our median per step at ``jupedsim_agents`` (equal to ``median_ms`` when the counts match)."""
    ratio_to_jupedsim: float | None = None
    """``ours_median_ms_at_jupedsim_agents / jupedsim_median_ms``: below 1 means ours is faster."""

    def as_dict(self) -> dict:
        """Plain dict for JSON output."""
        return asdict(self)


@dataclass(frozen=True)
class JuPedSimTimes:
    """Per-step wall times (s) of JuPedSim in the benchmark hall."""

    iterate_s: np.ndarray
    redraw_s: np.ndarray
    arrivals: int
    version: str


def time_vectorised(agents: int, steps: int, warmup: int = 20, seed: int = 0) -> tuple[np.ndarray, int]:
    """Per-step wall times (s) of the NumPy crowd step plus goal redraw in the benchmark hall, and arrivals."""
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


def import_jupedsim() -> ModuleType | None:
    """The ``jupedsim`` module, or None when it (or shapely, which it needs) is not installed."""
    try:
        import jupedsim
        import shapely  # noqa: F401  (jupedsim's geometry type; checked here so a half install reads as missing)
    except ImportError:
        return None
    return jupedsim


def _jupedsim_hall(jps: Any, pos: np.ndarray, goal: np.ndarray, side_m: float) -> tuple[Any, np.ndarray]:
    """A JuPedSim simulation of the benchmark hall with these agents; also their ids, in ``pos`` order."""
    import shapely

    lo, hi = WALL_HALF_M, side_m - WALL_HALF_M  # the floor inside our walls' half-thickness
    floor = shapely.Polygon([(lo, lo), (hi, lo), (hi, hi), (lo, hi)])
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=floor, dt=DT_S)
    stage = sim.add_direct_steering_stage()
    journey = sim.add_journey(jps.JourneyDescription([stage]))
    ids = np.empty(len(pos), np.int64)
    # JuPedSim's API takes one agent at a time; this is set-up, not timed
    for k, (p, g) in enumerate(zip(pos.tolist(), goal.tolist())):
        ids[k] = sim.add_agent(jps.CollisionFreeSpeedModelAgentParameters(
            position=tuple(p), journey_id=journey, stage_id=stage,
            desired_speed=VISITOR_SPEED_MPS, radius=VISITOR_RADIUS_M))
        sim.agent(int(ids[k])).target = tuple(g)
    return sim, ids


def _jupedsim_redraw(sim: Any, ids: np.ndarray, goal: np.ndarray, rng: np.random.Generator,
                     side_m: float, arrived_m: float) -> int:
    """New random goals for JuPedSim agents within ``arrived_m`` of theirs (as ours); return how many."""
    # the only way to read positions is one agent object at a time; this runs outside the timed region
    seen = np.array([(a.id, *a.position) for a in sim.agents()], np.float64)
    rows = np.searchsorted(ids, seen[:, 0].astype(np.int64))
    gap = goal[rows] - seen[:, 1:]
    done = rows[np.einsum("ij,ij->i", gap, gap) < arrived_m**2]
    if done.size:
        goal[done] = random_points(rng, done.size, side_m)
        for k in done.tolist():
            sim.agent(int(ids[k])).target = tuple(goal[k])
    return int(done.size)


def time_jupedsim(agents: int, steps: int, warmup: int = 20, seed: int = 0) -> JuPedSimTimes | None:
    """Per-step times of JuPedSim's collision-free speed model on our hall, or None when it is not installed.

    Same start positions, goals, tick, radius and speed as :func:`time_vectorised`; goals are
    redrawn on arrival between steps, and that redraw is timed apart from ``Simulation.iterate()``.
    """
    jps = import_jupedsim()
    if jps is None:
        return None
    crowd, env, rng = hall_crowd(agents, seed)
    side = hall_side_m(agents)
    goal = crowd.goal.copy()
    sim, ids = _jupedsim_hall(jps, crowd.pos, goal, side)
    iterate_s, redraw_s = np.empty(steps), np.empty(steps)
    arrivals = 0
    for k in range(warmup + steps):
        start = time.perf_counter()
        sim.iterate()
        stepped = time.perf_counter()
        arrivals += _jupedsim_redraw(sim, ids, goal, rng, side, env.params.arrived_m)
        if k >= warmup:
            iterate_s[k - warmup] = stepped - start
            redraw_s[k - warmup] = time.perf_counter() - stepped
    return JuPedSimTimes(iterate_s, redraw_s, arrivals, str(getattr(jps, "__version__", "unknown")))


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
                ref.arrived[k] = False
    return (time.perf_counter() - start) / (agents * steps)


def _jupedsim_figures(ours: np.ndarray, agents: int, steps: int, jupedsim_agents: int) -> dict[str, Any]:
    """The ``jupedsim_*`` fields of :class:`CrowdBench`, timing ours again when the agent counts differ."""
    jps = time_jupedsim(jupedsim_agents, steps)
    if jps is None:
        return {"jupedsim_status": JUPEDSIM_MISSING}
    if jupedsim_agents != agents:
        ours, _ = time_vectorised(jupedsim_agents, steps)
    ours_ms = float(np.median(ours) * 1e3)
    theirs_ms = float(np.median(jps.iterate_s) * 1e3)
    return {
        "jupedsim_status": JUPEDSIM_TIMED,
        "jupedsim_version": jps.version,
        "jupedsim_agents": jupedsim_agents,
        "jupedsim_steps": steps,
        "jupedsim_median_ms": theirs_ms,
        "jupedsim_p95_ms": float(np.percentile(jps.iterate_s, 95) * 1e3),
        "jupedsim_redraw_median_ms": float(np.median(jps.redraw_s) * 1e3),
        "jupedsim_arrivals": jps.arrivals,
        "ours_median_ms_at_jupedsim_agents": ours_ms,
        "ratio_to_jupedsim": ours_ms / theirs_ms,
    }


def run(agents: int, steps: int, reference_agents: int = 500, reference_steps: int = 10,
        jupedsim_agents: int | None = None, jupedsim: bool = True) -> CrowdBench:
    """Time ours, JuPedSim (when installed and ``jupedsim``) and the pure-Python reference; return the figures."""
    times, arrivals = time_vectorised(agents, steps)
    extra = (_jupedsim_figures(times, agents, steps, jupedsim_agents or agents) if jupedsim
             else {"jupedsim_status": JUPEDSIM_SKIPPED})
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
        **extra,
    )
