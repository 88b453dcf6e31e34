"""What a validation run measures, step by step, from positions and velocities alone.

The same recorder reads our crowd and JuPedSim's agents, so both are measured alike:
density and speed in measurement areas, crossings of counting lines, overlaps of
bodies, penetration of walls, standstills and lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from showroom.scene.model import Scene
from showroom.sim import geometry as geo
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid, neighbour_pairs

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

BODY_RADIUS_M = 0.2
LANE_BAND_M = 0.5
"""Width of a lane: people within half of it across the way walk in one lane."""
LANE_REACH_M = 3.0
"""How far along the way a person's lane is looked at."""
STALL_S = 30.0
STALL_MPS = 0.05
_EVERY = 2  # overlaps and walls are checked every few steps (and at the end)


@dataclass
class Series:
    """One measurement area over time: persons, density, mean speed along its direction, lane order."""

    time: list[float] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    forward: list[int] = field(default_factory=list)
    """How many of ``count`` walk along the area's direction (the rest the other way)."""
    density: list[float] = field(default_factory=list)
    speed: list[float] = field(default_factory=list)
    lanes: list[float] = field(default_factory=list)


@dataclass
class Record:
    """Everything measured in one run."""

    dt_s: float
    areas: dict[str, Series]
    crossings: dict[str, list[tuple[float, int]]]
    """Per counting line: (time, id) of each first crossing."""
    present: list[int] = field(default_factory=list)
    mean_speed: list[float] = field(default_factory=list)
    max_overlap_m: float = 0.0
    max_wall_m: float = 0.0
    """Deepest any body went into a wall or obstacle."""
    end_s: float = 0.0

    def stalled(self, seconds: float = STALL_S) -> bool:
        """Whether the crowd has stood still (mean speed under ``STALL_MPS``), nobody leaving, for ``seconds``.

        A jammed run stops there instead of running out its clock: it has said what it will say.
        """
        k = int(round(seconds / self.dt_s))
        if len(self.present) < k or self.present[-1] == 0:
            return False
        return self.present[-k] == self.present[-1] and max(self.mean_speed[-k:]) < STALL_MPS

    def first_crossings(self, line: str) -> FloatArray:
        """Sorted times of the first crossing of each person over ``line``."""
        return np.sort(np.array([t for t, _ in self.crossings[line]], np.float64))


class Recorder:
    """Measures a run of a scene's crowd, one call per step."""

    def __init__(self, scene: Scene, obstacles: Obstacles, dt_s: float) -> None:
        crowd = scene.crowd
        self.obstacles = obstacles
        self.areas = [(m.name, geo.as_points(m.polygon), np.asarray(m.direction, np.float64)) for m in crowd.measure]
        for _, _, d in self.areas:
            d /= max(float(np.linalg.norm(d)), 1e-9)
        self.area_m2 = [geo.polygon_area(p) for _, p, _ in self.areas]
        self.lines = [(ln.name, np.asarray(ln.a, np.float64), np.asarray(ln.b, np.float64)) for ln in crowd.lines]
        self.record = Record(dt_s, {name: Series() for name, _, _ in self.areas}, {name: [] for name, _, _ in self.lines})
        self.side = {name: np.zeros(0) for name, _, _ in self.lines}
        self.crossed = {name: np.zeros(0, bool) for name, _, _ in self.lines}
        self.grid = Grid.covering((0.0, 0.0), obstacles.floor, 1.0)
        self.steps = 0

    def __call__(self, t: float, ids: IntArray, pos: FloatArray, vel: FloatArray) -> None:
        """Measure one step at time ``t``: agents ``ids`` at ``pos`` with velocities ``vel``."""
        rec = self.record
        rec.end_s = t
        rec.present.append(int(ids.size))
        speed = np.linalg.norm(vel, axis=1) if ids.size else np.zeros(0)
        rec.mean_speed.append(float(speed.mean()) if ids.size else 0.0)
        for (name, poly, direction), area in zip(self.areas, self.area_m2):
            inside = geo.points_in_polygon(pos, poly) if ids.size else np.zeros(0, bool)
            s = rec.areas[name]
            along = vel[inside] @ direction
            s.time.append(t)
            s.count.append(int(inside.sum()))
            s.forward.append(int((along > 0).sum()))
            s.density.append(float(inside.sum()) / area)
            s.speed.append(float(along.mean()) if along.size else float("nan"))
            s.lanes.append(_lane_order(pos[inside], along, direction))
        for name, a, b in self.lines:
            self._cross(name, a, b, t, ids, pos)
        self.steps += 1
        if self.steps % _EVERY == 0 and ids.size:
            self._bodies(pos)

    def finish(self, ids: IntArray, pos: FloatArray) -> Record:
        """The record, with a last look at overlaps and walls."""
        if ids.size:
            self._bodies(pos)
        return self.record

    def _bodies(self, pos: FloatArray) -> None:
        rec = self.record
        i, j = neighbour_pairs(self.grid, pos)
        if i.size:
            d = np.linalg.norm(pos[i] - pos[j], axis=1)
            rec.max_overlap_m = max(rec.max_overlap_m, float((2 * BODY_RADIUS_M - d).max()))
        clear = self.obstacles.clearance(pos, np.full(pos.shape[0], BODY_RADIUS_M))
        rec.max_wall_m = max(rec.max_wall_m, float(-clear.min()))

    def _cross(self, name: str, a: FloatArray, b: FloatArray, t: float, ids: IntArray, pos: FloatArray) -> None:
        """Record first crossings of segment ``a-b`` (either way) since the previous step."""
        ab = b - a
        rel = pos - a
        side = ab[0] * rel[:, 1] - ab[1] * rel[:, 0]
        along = (rel @ ab) / max(float(ab @ ab), 1e-12)
        prev = self.side[name]
        top = int(ids.max(initial=-1)) + 1
        if top > prev.size:
            prev = self.side[name] = np.concatenate([prev, np.full(max(top, 2 * prev.size) - prev.size, np.nan)])
            self.crossed[name] = np.concatenate([self.crossed[name], np.zeros(prev.size - self.crossed[name].size, bool)])
        crossed = self.crossed[name]
        hit = (prev[ids] * side < 0) & (along >= 0) & (along <= 1) & ~crossed[ids]
        for agent in ids[hit].tolist():
            self.record.crossings[name].append((t, agent))
        crossed[ids[hit]] = True
        prev[ids] = side


def _lane_order(pos: FloatArray, along: FloatArray, direction: FloatArray) -> float:
    """How well people walking each way keep to lanes, from 0 (mixed) to 1 (separate lanes).

    The lane order parameter of Rex and Löwen (2007), taken locally: for each person, the
    people in its lane (within ``LANE_BAND_M / 2`` across the way, ``LANE_REACH_M`` along it)
    and ``((same - opposite) / (same + opposite))²``, averaged over everyone with anyone in lane.
    """
    if pos.shape[0] < 2:
        return float("nan")
    normal = np.array([-direction[1], direction[0]])
    across = pos @ normal
    ahead = pos @ direction
    lane = (np.abs(across[:, None] - across[None]) < LANE_BAND_M / 2) & (np.abs(ahead[:, None] - ahead[None]) < LANE_REACH_M)
    np.fill_diagonal(lane, False)
    way = np.sign(along)
    same = (lane & (way[:, None] == way[None])).sum(axis=1)
    total = lane.sum(axis=1)
    seen = total > 0
    if not seen.any():
        return float("nan")
    phi = ((2 * same[seen] - total[seen]) / total[seen]) ** 2
    return float(phi.mean())
