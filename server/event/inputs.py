"""Movement inputs of a shard's visitors: the latest per slot, applied to the crowd in one batch per tick.

A visitor's ``MOVE_TO`` sets its avatar's goal (pushed out of obstacles once per new point:
clients repeat their goal with every input). A point in plain sight is walked to straight; one
behind a wall, a rope or the runway is routed like every other destination, on a field to it
(:class:`showroom.sim.navigation.PointFields`). ``MOVE_DIR`` keeps re-aiming the goal a little
ahead in that direction every tick until the next input. Whatever arrives between two ticks,
only the latest input of each visitor is applied, and acknowledged in its frames.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.codes import MOVE_DIR, MOVE_TO
from showroom.sim.crowd import NO_FIELD, Crowd
from showroom.sim.navigation import PointFields, line_clearance
from showroom.sim.obstacles import Obstacles

DIR_LOOKAHEAD_M = 1.5
"""A ``MOVE_DIR`` walker's goal is kept this far ahead of it."""
SIGHT_SLACK_M = 0.01
"""A walk-to point is in plain sight when a body passes along the straight way with at most this to spare
against a wall (goals are pushed out of walls to exactly a body's radius)."""


class Inputs:
    """Per slot: the pending input, the acknowledged ``seq`` and the walking direction."""

    def __init__(self, slots: int) -> None:
        self.kind = np.zeros(slots, np.int8)
        """Pending input kind per slot (0: none since the last tick)."""
        self.xy = np.zeros((slots, 2))
        self._flat = self.xy.reshape(-1)  # a view: two scalar writes beat one row write
        self.seq = np.zeros(slots, np.int64)
        self.acked = np.full(slots, -1, np.int64)
        """The ``seq`` of the last input applied, -1 before any."""
        self.dir_on = np.zeros(slots, bool)
        self.dir_xy = np.zeros((slots, 2))
        self.goal_in = np.full((slots, 2), np.nan)
        self.goal_out = np.zeros((slots, 2))
        """Per slot: the last walk-to point received, and that point pushed out of obstacles."""
        self.routed = np.zeros(slots, bool)
        """Per slot: the walk-to point is out of sight, so the visitor walks on a field to it."""
        self.field = np.full(slots, NO_FIELD, np.int16)

    def reset(self, slot: int) -> None:
        """Forget everything about a slot (a new visitor takes it)."""
        self.kind[slot] = 0
        self.acked[slot] = -1
        self.dir_on[slot] = False
        self.goal_in[slot] = np.nan
        self.routed[slot] = False
        self.field[slot] = NO_FIELD

    def stop(self, slot: int) -> None:
        """Drop a pending input and stop walking (the visitor dropped or left)."""
        self.kind[slot] = 0
        self.dir_on[slot] = False
        self.routed[slot] = False

    def queue(self, slot: int, kind: int, seq: int, x: float, y: float) -> None:
        """Remember a (validated) movement input; the latest one per slot wins."""
        self.kind[slot] = kind
        self._flat[2 * slot] = x
        self._flat[2 * slot + 1] = y
        self.seq[slot] = seq

    def apply(self, crowd: Crowd, obstacles: Obstacles, slot_id: NDArray[np.int64],
              points: PointFields | None = None) -> None:
        """Turn the pending inputs and the ongoing directions into crowd goals, in one batch."""
        slots = np.flatnonzero(self.kind > 0)
        if slots.size:
            rows = crowd.index_of(slot_id[slots])
            kind = self.kind[slots]
            to = kind == MOVE_TO
            if to.any():
                walk, point = slots[to], self.xy[slots[to]]
                fresh = np.any(point != self.goal_in[walk], axis=1)
                if fresh.any():
                    new, who = walk[fresh], rows[to][fresh]
                    goal = point[fresh]
                    obstacles.push_out(goal, crowd.radius[who], np.arange(goal.shape[0]))
                    self.goal_in[new] = point[fresh]
                    self.goal_out[new] = goal
                    routable = points is not None and points.fields > 0
                    self.routed[new] = routable and ~_in_sight(obstacles, crowd.pos[who], goal, crowd.radius[who])
                    self.field[new] = NO_FIELD
                crowd.goal[rows[to]] = self.goal_out[walk]
                crowd.nav_field[rows[to]] = self.field[walk]
            self.routed[slots[~to]] = False
            self.dir_on[slots] = kind == MOVE_DIR
            self.dir_xy[slots] = self.xy[slots]
            self.acked[slots] = self.seq[slots]
            self.kind[slots] = 0
        waiting = np.flatnonzero(self.routed & (self.field == NO_FIELD))
        if waiting.size and points is not None:
            rows = crowd.index_of(slot_id[waiting])
            self.field[waiting] = points.field_for(self.goal_out[waiting], crowd.nav_field)
            crowd.nav_field[rows] = self.field[waiting]
        walking = np.flatnonzero(self.dir_on)
        if walking.size:
            rows = crowd.index_of(slot_id[walking])
            crowd.goal[rows] = crowd.pos[rows] + self.dir_xy[walking] * DIR_LOOKAHEAD_M
            crowd.nav_field[rows] = NO_FIELD


def _in_sight(obstacles: Obstacles, pos: NDArray[np.float64], goal: NDArray[np.float64],
              radius: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Whether a body walks from each ``pos`` straight to its ``goal`` without touching a wall (exact)."""
    return line_clearance(obstacles, pos, goal) >= radius - SIGHT_SLACK_M
