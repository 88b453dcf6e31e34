"""Navigation fields: for each destination, the way to walk from every floor cell.

Straight-line steering gets stuck behind the runway or a booth. For each destination
region (an audience zone, a booth, an exit, a selfie queue) we compute once, when the
world is built, the walking distance from every cell of a fine grid (8-connected,
no corner cutting past blocked cells) and from it a smoothed downhill direction. Per
tick an agent's direction is one gather from these tables; inside its destination
region (a *source* cell) the agent steers straight at its exact goal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.sim.crowd import NO_FIELD
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

NAV_CELL_M = 0.5
_KEEP_OFF_WALLS_M = 0.3  # routes keep a body's width off walls, so crowds do not grind along them
_MOVES = [(dy, dx, float(np.hypot(dx, dy))) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dx or dy]


@dataclass(frozen=True)
class NavGrid:
    """Blocked cells of the floor, and per destination a distance table and a flow table."""

    grid: Grid
    blocked: BoolArray
    distance: NDArray[np.float32]
    flow: NDArray[np.float32]
    source: BoolArray

    @property
    def fields(self) -> int:
        """Number of destination fields."""
        return int(self.distance.shape[0])

    @classmethod
    def empty(cls, grid: Grid) -> NavGrid:
        """No destinations: every agent steers straight at its goal (an empty hall)."""
        return cls(grid, np.zeros(0, bool), np.zeros((0, 0), np.float32),
                   np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), bool))

    def steer(
        self, nav_field: NDArray[np.int16], pos: FloatArray, goal: FloatArray
    ) -> FloatArray:
        """Unit walking directions for agents: along their field, or straight at the goal."""
        to_goal = goal - pos
        length = np.sqrt(np.einsum("ij,ij->i", to_goal, to_goal))
        direct = to_goal / np.maximum(length, 1e-9)[:, None]
        routed = np.flatnonzero(nav_field != NO_FIELD)
        if routed.size == 0 or self.fields == 0:
            return direct
        cell = self.grid.keys(pos[routed])
        flat = nav_field[routed].astype(np.int64) * self.blocked.size + cell
        flow = self.flow.reshape(-1, 2)[flat]
        use = ~self.source.reshape(-1)[flat] & (np.abs(flow).sum(axis=1) > 0)
        direct[routed[use]] = flow[use]
        return direct


def cell_centres(grid: Grid) -> FloatArray:
    """Centre of every cell of ``grid``, (ny * nx, 2), row by row."""
    xs = grid.origin[0] + (np.arange(grid.nx) + 0.5) * grid.cell_m
    ys = grid.origin[1] + (np.arange(grid.ny) + 0.5) * grid.cell_m
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def build_navigation(obstacles: Obstacles, sources: list[BoolArray], grid: Grid) -> NavGrid:
    """Distance and flow tables for each source mask (each a bool array over ``grid`` cells)."""
    centres = cell_centres(grid)
    radius = np.zeros(centres.shape[0])
    blocked = (obstacles.clearance(centres, radius) < _KEEP_OFF_WALLS_M).reshape(grid.ny, grid.nx)
    blocked[[0, -1], :] = True
    blocked[:, [0, -1]] = True
    distance = np.empty((len(sources), grid.ny, grid.nx), np.float32)
    flow = np.zeros((len(sources), grid.ny, grid.nx, 2), np.float32)
    source = np.zeros((len(sources), grid.ny, grid.nx), bool)
    for k, mask in enumerate(sources):
        src = mask.reshape(grid.ny, grid.nx) & ~blocked
        source[k] = src
        distance[k] = _distance_field(src, blocked)
        flow[k] = _flow(distance[k], blocked)
    return NavGrid(grid, blocked, distance, flow, source)


def _shifted(a: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``, with ``fill`` outside."""
    out = np.full_like(a, fill)
    ny, nx = a.shape
    out[max(-dy, 0):ny - max(dy, 0), max(-dx, 0):nx - max(dx, 0)] = a[
        max(dy, 0):ny - max(-dy, 0), max(dx, 0):nx - max(-dx, 0)
    ]
    return out


def _allowed_moves(blocked: BoolArray) -> list[tuple[int, int, float, BoolArray]]:
    """Each move with the mask of cells it may be taken from (no cutting blocked corners)."""
    moves = []
    for dy, dx, cost in _MOVES:
        ok = ~_shifted(blocked, dy, dx, True)
        if dx and dy:
            ok &= ~_shifted(blocked, dy, 0, True) & ~_shifted(blocked, 0, dx, True)
        moves.append((dy, dx, cost, ok))
    return moves


def _distance_field(src: BoolArray, blocked: BoolArray) -> NDArray[np.float32]:
    """Walking distance in cells from every free cell to the nearest source cell (inf if none)."""
    dist = np.where(src, 0.0, np.inf)
    moves = _allowed_moves(blocked)
    for _ in range(4 * (blocked.shape[0] + blocked.shape[1])):
        best = dist
        for dy, dx, cost, ok in moves:
            best = np.minimum(best, np.where(ok, _shifted(dist, dy, dx, np.inf) + cost, np.inf))
        best[blocked] = np.inf
        if np.array_equal(best, dist):
            break
        dist = best
    return dist.astype(np.float32)


def _flow(dist: NDArray[np.float32], blocked: BoolArray) -> NDArray[np.float32]:
    """Smoothed downhill unit direction per cell; blocked cells point to their best free neighbour."""
    flow = np.zeros(dist.shape + (2,), np.float64)
    best = np.full(dist.shape, np.inf)
    best_dir = np.zeros(dist.shape + (2,))
    finite = np.isfinite(dist)
    for dy, dx, cost, ok in _allowed_moves(blocked):
        there = _shifted(dist, dy, dx, np.inf)
        with np.errstate(invalid="ignore"):
            drop = np.where(ok & finite & np.isfinite(there), (dist - there) / cost, 0.0)
        weight = np.maximum(drop, 0.0) ** 2
        flow[..., 0] += weight * dx / cost
        flow[..., 1] += weight * dy / cost
        closer = np.isfinite(there) & (there + cost < best)
        best = np.where(closer, there + cost, best)
        best_dir[closer] = (dx / cost, dy / cost)
    length = np.linalg.norm(flow, axis=-1, keepdims=True)
    flow = np.where(length > 1e-9, flow / np.maximum(length, 1e-9), 0.0)
    flow[blocked] = best_dir[blocked]
    return flow.astype(np.float32)
