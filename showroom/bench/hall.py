"""The standard benchmark scenario: a square hall at 0.5 persons per square metre.

Agents of the visitors' radius and walking speed walk to random goals, drawn again
whenever one is reached; the hall has an area of 2 m² per agent and four walls.
"""

from __future__ import annotations

import numpy as np

from showroom.sim.crowd import VISITOR_RADIUS_M, Crowd, State
from showroom.sim.navigation import NavGrid
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid
from showroom.sim.step import Environment, StepParams

AREA_PER_AGENT_M2 = 2.0
WALL_HALF_M = 0.1


def hall_side_m(agents: int) -> float:
    """Side of the square hall for this many agents."""
    return float(np.sqrt(AREA_PER_AGENT_M2 * agents))


def hall_environment(side_m: float, params: StepParams | None = None) -> Environment:
    """Four walls around a square floor; no navigation fields are needed in an empty hall."""
    s = side_m
    corners = np.array([[0, 0], [s, 0], [s, s], [0, s]], np.float64)
    obstacles = Obstacles.build(corners, np.roll(corners, -1, axis=0), np.full(4, WALL_HALF_M), (s, s))
    return Environment.for_floor(obstacles, NavGrid.empty(Grid.covering((0, 0), (s, s), 1.0)), params)


def random_points(rng: np.random.Generator, count: int, side_m: float) -> np.ndarray:
    """Uniform points inside the hall, clear of the walls."""
    margin = WALL_HALF_M + VISITOR_RADIUS_M + 0.05
    return rng.uniform(margin, side_m - margin, size=(count, 2))


def hall_crowd(agents: int, seed: int = 0) -> tuple[Crowd, Environment, np.random.Generator]:
    """The benchmark crowd: agents on a jittered lattice (no initial overlap), random goals."""
    rng = np.random.default_rng(seed)
    side = hall_side_m(agents)
    per_row = int(np.ceil(np.sqrt(agents)))
    spacing = side / per_row
    k = np.arange(agents)
    lattice = np.stack([(k % per_row + 0.5) * spacing, (k // per_row + 0.5) * spacing], axis=1)
    lattice += rng.uniform(-0.1, 0.1, size=lattice.shape) * spacing
    crowd = Crowd()
    crowd.add(lattice, state=State.WANDER)
    crowd.goal[:] = random_points(rng, agents, side)
    return crowd, hall_environment(side), rng


def redraw_arrived(crowd: Crowd, rng: np.random.Generator, side_m: float) -> int:
    """Give every agent that reached its goal a new random goal; return how many did."""
    done = np.flatnonzero(crowd.arrived)
    if done.size:
        crowd.goal[done] = random_points(rng, done.size, side_m)
        crowd.arrived[done] = False
    return int(done.size)
