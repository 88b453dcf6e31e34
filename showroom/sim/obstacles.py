"""Hard constraints: walls, obstacles and the runway's edge as capsules agents cannot enter.

A capsule is a segment with a half-width; an agent of radius r keeps its centre at least
``half + r`` from the segment. Walls are polylines with half their thickness, obstacle and
booth outlines are zero-width edges, and for visitors the runway is its centreline with
half its width. A coarse grid lists the capsules near each cell, so an agent only looks at
the few capsules around it, and only agents in cells that have any are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.sim.geometry import segment_closest
from showroom.sim.spatial_hash import Grid

FloatArray = NDArray[np.float64]

BROADPHASE_CELL_M = 2.0
_REACH_M = 1.0 + 0.25  # largest agent radius plus the most an agent moves in one step


@dataclass(frozen=True)
class Obstacles:
    """Capsules and the broadphase table listing the capsules near each grid cell."""

    a: FloatArray
    b: FloatArray
    half: FloatArray
    floor: tuple[float, float]
    grid: Grid
    table: NDArray[np.int32]
    count: NDArray[np.int32]

    @classmethod
    def build(
        cls,
        a: FloatArray,
        b: FloatArray,
        half: FloatArray,
        floor: tuple[float, float],
    ) -> Obstacles:
        """Index capsules ``a[k]``-``b[k]`` with half-widths ``half[k]`` over a floor of ``floor`` metres."""
        a = np.asarray(a, np.float64).reshape(-1, 2)
        b = np.asarray(b, np.float64).reshape(-1, 2)
        half = np.asarray(half, np.float64).reshape(-1)
        grid = Grid.covering((0.0, 0.0), floor, BROADPHASE_CELL_M)
        xs = grid.origin[0] + (np.arange(grid.nx) + 0.5) * grid.cell_m
        ys = grid.origin[1] + (np.arange(grid.ny) + 0.5) * grid.cell_m
        centres = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
        if len(a):
            closest, _ = segment_closest(centres[:, None, :], a[None], b[None])
            dist = np.linalg.norm(centres[:, None, :] - closest, axis=-1)
            near = dist <= half[None, :] + _REACH_M + grid.cell_m * np.sqrt(0.5)
        else:
            near = np.zeros((centres.shape[0], 0), bool)
        count = near.sum(axis=1).astype(np.int32)
        width = max(int(count.max(initial=0)), 1)
        table = np.full((centres.shape[0], width), -1, np.int32)
        rows, cols = np.nonzero(near)
        slot = np.arange(rows.size) - np.repeat(np.cumsum(count) - count, count)
        table[rows, slot] = cols
        return cls(a, b, half, (float(floor[0]), float(floor[1])), grid, table, count)

    def push_out(
        self, pos: FloatArray, radius: FloatArray, rows: NDArray[np.int64], passes: int = 3
    ) -> NDArray[np.int64]:
        """Move the agents ``rows`` of ``pos`` (in place) out of every capsule they entered.

        Each violated capsule pushes the agent straight away from its nearest point to
        exactly ``half + radius``; a few passes settle corners where two capsules meet.
        Returns the rows that a capsule moved.
        """
        if rows.size == 0:
            return rows
        width, depth = self.floor
        p = pos if rows.size == pos.shape[0] else pos[rows]
        r = radius if rows.size == pos.shape[0] else radius[rows]
        np.clip(p[:, 0], r, width - r, out=p[:, 0])
        np.clip(p[:, 1], r, depth - r, out=p[:, 1])
        moved = np.zeros(0, np.int64)
        if self.a.shape[0]:
            busy = np.flatnonzero(self.count[self.grid.keys(p)] > 0)
            if busy.size:
                q, rq = p[busy], r[busy]
                start = q.copy()
                keys = self.grid.keys(q)
                caps, count = self.table[keys], self.count[keys]
                active = np.arange(busy.size)
                for _ in range(passes):  # a body no capsule moved in a pass is clear of all: later passes skip it
                    sub, sub_r, sub_caps = q[active], rq[active], caps[active]
                    before = sub.copy()
                    for k in range(int(count[active].max())):
                        self._push(sub, sub_r, sub_caps[:, k])
                    q[active] = sub
                    active = active[np.any(sub != before, axis=1)]
                    if active.size == 0:
                        break
                p[busy] = q
                moved = rows[busy[np.any(q != start, axis=1)]]
        if p is not pos:
            pos[rows] = p
        return moved

    def _push(self, q: FloatArray, r: FloatArray, cap: NDArray[np.int32]) -> None:
        take = np.flatnonzero(cap >= 0)
        if take.size == 0:
            return
        c = cap[take]
        point = q[take]
        closest, _ = segment_closest(point, self.a[c], self.b[c])
        away = point - closest
        dist = np.sqrt(np.einsum("ij,ij->i", away, away))
        need = self.half[c] + r[take]
        bad = dist < need
        if not bad.any():
            return
        hit = take[bad]
        away, dist, need = away[bad], dist[bad], need[bad]
        normal = away / np.maximum(dist, 1e-9)[:, None]
        on_line = dist <= 1e-9
        if on_line.any():  # exactly on the segment: leave along its normal
            normal[on_line] = _segment_normal(self.a[c[bad][on_line]], self.b[c[bad][on_line]])
        q[hit] += normal * (need - dist)[:, None]

    def clearance(self, pos: FloatArray, radius: FloatArray) -> FloatArray:
        """Free distance of each agent to the nearest capsule and floor edge (negative = inside)."""
        pos = np.asarray(pos, np.float64).reshape(-1, 2)
        width, depth = self.floor
        edge = np.minimum.reduce([pos[:, 0], pos[:, 1], width - pos[:, 0], depth - pos[:, 1]]) - radius
        if not self.a.shape[0]:
            return edge
        out = np.empty(pos.shape[0])
        for start in range(0, pos.shape[0], 4096):  # chunks bound the (n, capsules) temporary
            chunk = pos[start:start + 4096]
            closest, _ = segment_closest(chunk[:, None, :], self.a[None], self.b[None])
            dist = np.linalg.norm(chunk[:, None, :] - closest, axis=-1) - self.half[None, :]
            out[start:start + 4096] = dist.min(axis=1)
        return np.minimum(out - radius, edge)


def _segment_normal(a: FloatArray, b: FloatArray) -> FloatArray:
    d = b - a
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.where(length > 1e-12, n / np.maximum(length, 1e-12), np.array([[1.0, 0.0]]))
