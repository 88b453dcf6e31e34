"""The crowd as a struct of arrays: one row per agent, one NumPy column per component."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class Role(IntEnum):
    """Who an agent is; mascots are kinematic (driven by the show, never pushed)."""

    VISITOR = 0
    BOT = 1
    MASCOT = 2
    HOST = 3


class State(IntEnum):
    """What an agent is doing; audience behaviours switch between these."""

    IDLE = 0
    WANDER = 1
    WATCH = 2
    QUEUE = 3
    LEAVE = 4
    SEATED = 5
    CONTROLLED = 6
    GONE = 7


VISITOR_RADIUS_M = 0.2
"""Body radius of every visitor (and bot)."""
VISITOR_SPEED_MPS = 1.34
"""Default walking speed: the mean free walking speed of pedestrians (Weidmann). A world draws
each visitor's own from the scene's ``[crowd.desired_speed]``."""

NO_FIELD = -1
"""Navigation field id meaning 'steer straight at the goal'."""


def _f64(*shape: int) -> NDArray[np.float64]:
    return np.zeros(shape, dtype=np.float64)


@dataclass
class Crowd:
    """Every agent of one world, as equal-length columns.

    Rows are kept in increasing ``ids`` order, so an id is found with ``np.searchsorted``.
    Positions and goals are metres on the floor plan, velocities m/s, headings radians
    (0 faces +y, counter-clockwise positive), ``phase`` is the walk cycle in [0, 1).
    """

    ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    pos: NDArray[np.float64] = field(default_factory=lambda: _f64(0, 2))
    vel: NDArray[np.float64] = field(default_factory=lambda: _f64(0, 2))
    goal: NDArray[np.float64] = field(default_factory=lambda: _f64(0, 2))
    radius: NDArray[np.float64] = field(default_factory=lambda: _f64(0))
    max_speed: NDArray[np.float64] = field(default_factory=lambda: _f64(0))
    heading: NDArray[np.float64] = field(default_factory=lambda: _f64(0))
    phase: NDArray[np.float64] = field(default_factory=lambda: _f64(0))
    state: NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    role: NDArray[np.uint8] = field(default_factory=lambda: np.zeros(0, np.uint8))
    nav_field: NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    target: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    since: NDArray[np.float64] = field(default_factory=lambda: _f64(0))
    arrived: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    vip: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))
    route: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    """Step of a scenario route the agent walks to (an index into the world's route table; -1: none)."""
    next_id: int = 0

    @property
    def n(self) -> int:
        """Number of agents."""
        return int(self.ids.shape[0])

    def add(
        self,
        pos: NDArray[np.float64],
        *,
        radius: float | NDArray[np.float64] = VISITOR_RADIUS_M,
        max_speed: float | NDArray[np.float64] = VISITOR_SPEED_MPS,
        role: Role = Role.VISITOR,
        state: State = State.IDLE,
        heading: float | NDArray[np.float64] = 0.0,
        vip: bool | NDArray[np.bool_] = False,
        ids: NDArray[np.int64] | None = None,
    ) -> NDArray[np.int64]:
        """Append agents standing at ``pos`` (k, 2) with their goal where they stand; return their ids.

        ``ids`` (increasing, above every id already present) lets a caller choose the ids,
        e.g. a server whose visitor ids are unique across shards.
        """
        pos = np.asarray(pos, dtype=np.float64).reshape(-1, 2)
        k = pos.shape[0]
        if ids is None:
            ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        else:
            ids = np.asarray(ids, dtype=np.int64).reshape(k)
            if k and ((self.n and ids[0] <= self.ids[-1]) or np.any(np.diff(ids) <= 0)):
                raise ValueError("agent ids must increase and exceed every id in the crowd")
        self.next_id = max(self.next_id, int(ids[-1]) + 1) if k else self.next_id
        new = {
            "ids": ids,
            "pos": pos.copy(),
            "vel": _f64(k, 2),
            "goal": pos.copy(),
            "radius": np.broadcast_to(np.asarray(radius, np.float64), (k,)),
            "max_speed": np.broadcast_to(np.asarray(max_speed, np.float64), (k,)),
            "heading": np.broadcast_to(np.asarray(heading, np.float64), (k,)),
            "phase": _f64(k),
            "state": np.full(k, int(state), np.uint8),
            "role": np.full(k, int(role), np.uint8),
            "nav_field": np.full(k, NO_FIELD, np.int16),
            "target": np.full(k, -1, np.int32),
            "since": _f64(k),
            "arrived": np.zeros(k, np.bool_),
            "vip": np.broadcast_to(np.asarray(vip, np.bool_), (k,)),
            "route": np.full(k, -1, np.int32),
        }
        for name, column in new.items():
            setattr(self, name, np.concatenate([getattr(self, name), column]))
        return ids

    def remove(self, ids: NDArray[np.int64]) -> None:
        """Drop the agents with these ids (unknown ids are ignored)."""
        keep = ~np.isin(self.ids, ids)
        self.keep(keep)

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Keep only the rows where ``mask`` is true."""
        for f in fields(self):
            if f.name != "next_id":
                setattr(self, f.name, getattr(self, f.name)[mask])

    def index_of(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row indices of the given ids; raises ``KeyError`` if any id is not in the crowd."""
        ids = np.asarray(ids, dtype=np.int64)
        rows = np.searchsorted(self.ids, ids)
        ok = (rows < self.n) & (self.ids[np.minimum(rows, max(self.n - 1, 0))] == ids) if self.n else ids != ids
        if not np.all(ok):
            raise KeyError(f"unknown agent ids: {ids[~ok][:5].tolist()}")
        return rows

    def copy(self) -> Crowd:
        """A deep copy (every column copied)."""
        out = Crowd(next_id=self.next_id)
        for f in fields(self):
            if f.name != "next_id":
                setattr(out, f.name, getattr(self, f.name).copy())
        return out
