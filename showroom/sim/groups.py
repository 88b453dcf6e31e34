"""Crowd scenario groups: people placed apart in a start area who walk a route of waypoints.

A scene's ``[[crowd.groups]]`` are compiled once into a flat route table: one row per step
of every group's route, with the step's goal, reach radius, navigation field and the row
of the next step (-1 after an exit). An agent's ``route`` column is its current row; each
tick the agents within reach of their step move on to the next, in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.scene.crowd import DesiredSpeed
from showroom.scene.model import Scene
from showroom.sim import geometry as geo
from showroom.sim.crowd import Crowd, State
from showroom.sim.venue import VenueIndex

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_ROOM = 1.15  # the placement lattice holds this many times the places a group needs
_EXIT_REACH_M = 0.5


@dataclass(frozen=True)
class Routes:
    """Every step of every group's route: where (a spot or a gate ``a``-``b``), reach, field, next step
    and whether it leaves."""

    a: FloatArray
    b: FloatArray
    reach: FloatArray
    field: NDArray[np.int16]
    next: NDArray[np.int32]
    leaves: NDArray[np.bool_]
    exit: NDArray[np.int32]
    """The exit a step is (-1: a waypoint)."""
    first: NDArray[np.int32]
    """Row of each group's first step."""

    @classmethod
    def compile(cls, scene: Scene, venue: VenueIndex) -> Routes:
        """The route table of a scene's groups (empty for an event without groups)."""
        waypoints = {w.name: k for k, w in enumerate(scene.crowd.waypoints)}
        exits = {e.name: k for k, e in enumerate(scene.venue.exits)}
        a: list[FloatArray] = []
        b: list[FloatArray] = []
        reach: list[float] = []
        field: list[int] = []
        nxt: list[int] = []
        leaves: list[bool] = []
        exit_of: list[int] = []
        first: list[int] = []
        for group in scene.crowd.groups:
            first.append(len(a))
            for k, name in enumerate(group.route):
                if name in waypoints:
                    w = waypoints[name]
                    a.append(venue.waypoint_a[w])
                    b.append(venue.waypoint_b[w])
                    reach.append(venue.waypoint_radius[w])
                    field.append(venue.dest.waypoint[w])
                    leaves.append(False)
                    exit_of.append(-1)
                else:
                    e = exits[name]
                    a.append(venue.exit_at[e])
                    b.append(venue.exit_at[e])
                    reach.append(max(float(venue.exit_radius[e]), _EXIT_REACH_M))
                    field.append(venue.dest.exit[e])
                    leaves.append(True)
                    exit_of.append(e)
                last = k == len(group.route) - 1
                nxt.append(-1 if last and not group.loop else first[-1] if last else len(a))
        return cls(np.array(a, np.float64).reshape(-1, 2), np.array(b, np.float64).reshape(-1, 2),
                   np.array(reach, np.float64),
                   np.array(field, np.int16), np.array(nxt, np.int32), np.array(leaves, bool),
                   np.array(exit_of, np.int32), np.array(first, np.int32))

    def start(self, group: int, pos: FloatArray, *, loop: bool) -> NDArray[np.int32]:
        """The step each person of ``group`` standing at ``pos`` walks to first.

        A route from A to B starts at its first step. On a loop people are spread all round
        it, so each joins it where they stand: at the step after the one nearest to them.
        """
        first = int(self.first[group])
        if not loop:
            return np.full(pos.shape[0], first, np.int32)
        end = int(self.first[group + 1]) if group + 1 < self.first.size else self.a.shape[0]
        steps = np.arange(first, end)
        nearest = steps[geo.distance_to_segments(pos, self.a[steps], self.b[steps]).argmin(axis=1)]
        return self.next[nearest]

    def goal(self, pos: FloatArray, step: NDArray[np.int32]) -> FloatArray:
        """Where people at ``pos`` aim for step ``step``: the spot, or the nearest point of the gate."""
        closest, _ = geo.segment_closest(pos, self.a[step], self.b[step])
        return closest

    def send(self, crowd: Crowd, rows: IntArray, step: NDArray[np.int32]) -> None:
        """Point agents ``rows`` at route step ``step``."""
        crowd.route[rows] = step
        crowd.goal[rows] = self.goal(crowd.pos[rows], step)
        crowd.nav_field[rows] = self.field[step]
        crowd.arrived[rows] = False

    def advance(self, crowd: Crowd) -> NDArray[np.int32]:
        """Move agents that reached their step on to the next; those through an exit leave. Returns the
        exit each leaver went through."""
        walking = np.flatnonzero(crowd.route >= 0)
        if walking.size == 0:
            return np.zeros(0, np.int32)
        step = crowd.route[walking]
        goal = self.goal(crowd.pos[walking], step)
        crowd.goal[walking] = goal
        left = crowd.pos[walking] - goal
        there = np.einsum("ij,ij->i", left, left) < self.reach[step] ** 2
        out = there & self.leaves[step]
        done = walking[out]
        crowd.state[done] = State.GONE
        crowd.route[done] = -1
        on = there & ~self.leaves[step]
        rows, nxt = walking[on], self.next[step[on]]
        self.send(crowd, rows[nxt >= 0], nxt[nxt >= 0])
        stop = rows[nxt < 0]
        crowd.route[stop] = -1
        crowd.goal[stop] = crowd.pos[stop]
        return self.exit[step[out]]


def desired_speeds(rng: np.random.Generator, speed: DesiredSpeed, count: int) -> FloatArray:
    """``count`` desired walking speeds drawn from ``speed`` (normal, cut to its range)."""
    return np.clip(rng.normal(speed.mean, speed.sd, count), speed.min, speed.max)


def place_apart(rng: np.random.Generator, polygon: FloatArray, count: int, radius: float) -> FloatArray:
    """``count`` points inside ``polygon``, no two closer than ``2 * radius`` (bodies do not overlap).

    Points are drawn at random from a jittered hexagonal lattice just dense enough to hold
    them all, so even 4 persons/m² place at once, without a loop over people.
    """
    if count == 0:
        return np.zeros((0, 2))
    area = geo.polygon_area(polygon)
    body = 2 * radius + 0.01
    spacing = max(np.sqrt(2 * area / (np.sqrt(3) * count * _ROOM)), body)
    for _ in range(12):  # bounded: each round packs the lattice tighter until the people fit
        wiggle = max((spacing - body) / 2, 0.0)
        inset = radius + wiggle  # a jiggled body still keeps inside the area
        lo, hi = polygon.min(axis=0), polygon.max(axis=0)
        row_h = spacing * np.sqrt(3) / 2
        ys = np.arange(lo[1] + inset, hi[1] - inset + 1e-9, row_h)
        xs = np.arange(lo[0] + inset, hi[0] - inset + 1e-9, spacing)
        gx, gy = np.meshgrid(xs, ys)
        gx = gx + (np.arange(ys.size)[:, None] % 2) * spacing / 2
        lattice = np.stack([gx.ravel(), gy.ravel()], axis=1)
        inside = geo.points_in_polygon(lattice, polygon)
        inside &= geo.distance_to_polyline(lattice, np.vstack([polygon, polygon[:1]])) >= inset - 1e-6
        lattice = lattice[inside]
        if lattice.shape[0] >= count:
            pick = lattice[rng.choice(lattice.shape[0], count, replace=False)]
            angle = rng.uniform(0, 2 * np.pi, count)
            r = wiggle * np.sqrt(rng.uniform(0, 1, count))
            return pick + np.stack([np.cos(angle), np.sin(angle)], axis=1) * r[:, None]
        if spacing <= body:
            break
        spacing = max(spacing * 0.93, body)
    raise ValueError(f"{count} people do not fit in an area of {area:.1f} m²")
