"""Interest management: the venue cut into square cells; a visitor's view is tiered by distance.

Every visitor has a **viewer cell** (its own cell, kept until it walks more than
:data:`HYSTERESIS_M` out of it, so a visitor on a boundary does not flap between two). The
avatars around it fall in three tiers by cells (Chebyshev distance): **near**, the 3 x 3 block,
refreshed every tick (up to :data:`NEAR_CAP` of them, nearest cells first; the rest count as mid);
**mid**, the 5 x 5 block, every 5th tick; **far**, the rest of the shard, every 20th tick
(:data:`~showroom.protocol.limits.TIER_EVERY`). Each viewer cell refreshes its mid and far
tiers on its own ticks, so a tick builds only a share of the big payloads.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.limits import INTEREST_CELL_M, TIER_EVERY
from showroom.protocol.snapshot import CELL, ROW, cell_runs, wire_rows

CELL_M = INTEREST_CELL_M
NEAR_REACH = 1
"""Cells (Chebyshev) around a viewer cell whose avatars are near: at least ``CELL_M`` metres."""
MID_REACH = 2
"""... and mid."""
NEAR_EVERY, MID_EVERY, FAR_EVERY = TIER_EVERY
NEAR_CAP = 48
"""At most about this many avatars refreshed every tick for one viewer cell: in a dense crowd the near cells
farthest from the viewer's count as mid, whole (the viewer's own cell is always near)."""
_NEAR_ORDER = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1))
ROW_SIZE = ROW.itemsize
HYSTERESIS_M = 1.0
"""A visitor keeps its viewer cell until it stands this far outside it."""

IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class CellGrid:
    """Square interest cells over a floor of ``size`` metres."""

    nx: int
    ny: int
    cell_m: float = CELL_M

    @classmethod
    def for_floor(cls, size: tuple[float, float], cell_m: float = CELL_M) -> CellGrid:
        """Cells covering the floor."""
        return cls(max(1, int(np.ceil(size[0] / cell_m))), max(1, int(np.ceil(size[1] / cell_m))), cell_m)

    def cells(self, pos: NDArray[np.float64]) -> tuple[IntArray, IntArray]:
        """Column and row of the cell of each position (clamped to the floor)."""
        cx = np.clip((pos[:, 0] / self.cell_m).astype(np.int64), 0, self.nx - 1)
        cy = np.clip((pos[:, 1] / self.cell_m).astype(np.int64), 0, self.ny - 1)
        return cx, cy

    def keys(self, pos: NDArray[np.float64]) -> IntArray:
        """Cell key (cy * nx + cx) of each position."""
        cx, cy = self.cells(pos)
        return cy * self.nx + cx

    def xy(self, key: int) -> tuple[int, int]:
        """Column and row of a cell key."""
        return key % self.nx, key // self.nx

    def centre(self, key: int) -> tuple[float, float]:
        """The middle of cell ``key``, metres."""
        cx, cy = self.xy(key)
        return (cx + 0.5) * self.cell_m, (cy + 0.5) * self.cell_m

    def follow(self, pos: NDArray[np.float64], vx: IntArray, vy: IntArray) -> tuple[IntArray, IntArray]:
        """Viewer cells after a move: kept while within :data:`HYSTERESIS_M` of the old one (or -1: none yet)."""
        cx, cy = self.cells(pos)
        c, h = self.cell_m, HYSTERESIS_M
        x, y = pos[:, 0], pos[:, 1]
        out = (vx < 0) | (x < vx * c - h) | (x >= (vx + 1) * c + h) | (y < vy * c - h) | (y >= (vy + 1) * c + h)
        return np.where(out, cx, vx), np.where(out, cy, vy)


class Chunks:
    """Rows of some avatars laid out by cell key, so that a block of cells is a few byte slices.

    A row of cells is contiguous in key order, so any rectangle of cells is one slice per row: a
    viewer's tiers are assembled from at most a dozen slices of rows, and as many of the
    :data:`~showroom.protocol.snapshot.CELL` records that say which cell the rows stand in, with
    no array work per viewer.
    """

    __slots__ = ("buf", "cells", "coff", "nx", "ny", "off")

    def __init__(self, grid: CellGrid, records: NDArray[np.void], key: IntArray) -> None:
        """``records`` (:data:`~showroom.protocol.snapshot.REC`) standing in cells ``key`` of ``grid``
        (whose cells must be the wire's: the high bytes of the records' positions)."""
        order = np.argsort(key, kind="stable")
        key = key[order]
        self.buf = wire_rows(records[order]).tobytes()
        self.nx, self.ny = grid.nx, grid.ny
        edges = np.arange(grid.nx * grid.ny + 1)
        self.off: list[int] = np.searchsorted(key, edges).tolist()
        runs = cell_runs(key % grid.nx, key // grid.nx)
        self.cells = runs.tobytes()
        run_key = runs["cy"].astype(np.int64) * grid.nx + runs["cx"]
        self.coff: list[int] = (np.searchsorted(run_key, edges) * CELL.itemsize).tolist()

    def tiered(self, vx: int, vy: int, level: int, mid: Chunks | None = None,
               far: Chunks | None = None) -> tuple[list[bytes], list[bytes], list[int]]:
        """Row slices, cell slices and tier counts of the near block, then (``level`` >= 1) the mid ring, then
        (``level`` 2) everything else, seen from viewer cell (vx, vy); the mid ring (and near cells past the
        cap) from ``mid`` and the rest from ``far`` when given (changes over a longer look-back), else from
        these."""
        near_cells, mid_spans, far_spans = _spans(self.nx, self.ny, vx, vy)
        parts: list[bytes] = []
        heads: list[bytes] = []
        counts = [0, 0, 0]
        off, coff, buf, cells = self.off, self.coff, self.buf, self.cells
        demoted: list[int] = []
        for k in near_cells:  # nearest cells first: past the cap, whole cells count as mid
            a, b = off[k], off[k + 1]
            if b > a:
                if counts[0] + b - a <= NEAR_CAP or k == near_cells[0]:
                    parts.append(buf[a * ROW_SIZE:b * ROW_SIZE])
                    heads.append(cells[coff[k]:coff[k + 1]])
                    counts[0] += b - a
                else:
                    demoted.append(k)
        if level == 0:
            return parts, heads, counts
        for tier, source, spans in ((1, mid or self, [(k, k) for k in demoted] + mid_spans),
                                    (2, far or mid or self, far_spans if level == 2 else [])):
            off, coff, buf, cells = source.off, source.coff, source.buf, source.cells
            for k0, k1 in spans:
                a, b = off[k0], off[k1 + 1]
                if b > a:
                    parts.append(buf[a * ROW_SIZE:b * ROW_SIZE])
                    heads.append(cells[coff[k0]:coff[k1 + 1]])
                    counts[tier] += b - a
        return parts, heads, counts


@functools.lru_cache(maxsize=4096)
def _spans(nx: int, ny: int, vx: int, vy: int) -> tuple[tuple[int, ...], list[tuple[int, int]], list[tuple[int, int]]]:
    """For viewer cell (vx, vy) of an nx x ny grid: the near cells, nearest first (the viewer's own first),
    and the runs of cell keys (first, last) of the mid ring and of everything farther."""
    near = tuple(y * nx + x for dx, dy in _NEAR_ORDER
                 for x, y in [(vx + dx, vy + dy)] if 0 <= x < nx and 0 <= y < ny)
    mx0, mx1 = max(vx - MID_REACH, 0), min(vx + MID_REACH, nx - 1)
    my0, my1 = max(vy - MID_REACH, 0), min(vy + MID_REACH, ny - 1)
    nx0, nx1 = max(vx - NEAR_REACH, 0), min(vx + NEAR_REACH, nx - 1)
    mid: list[tuple[int, int]] = []
    far: list[tuple[int, int]] = []

    def run(into: list[tuple[int, int]], y: int, x0: int, x1: int) -> None:
        if x0 <= x1:
            into.append((y * nx + x0, y * nx + x1))

    for y in range(my0, my1 + 1):
        if abs(y - vy) > NEAR_REACH:
            run(mid, y, mx0, mx1)
        else:
            run(mid, y, mx0, nx0 - 1)
            run(mid, y, nx1 + 1, mx1)
    if my0 > 0:
        far.append((0, my0 * nx - 1))  # whole rows of cells below the block, as one run of keys
    for y in range(my0, my1 + 1):
        run(far, y, 0, mx0 - 1)
        run(far, y, mx1 + 1, nx - 1)
    if my1 < ny - 1:
        far.append(((my1 + 1) * nx, ny * nx - 1))
    return near, mid, far
