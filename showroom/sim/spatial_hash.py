"""A uniform grid over the floor, built each tick by sorting agents by cell key.

Every point is binned into a square cell of ``cell_m``. :meth:`CellIndex.pairs` returns
all pairs of points in the same or adjacent cells, each pair once, so pairs closer than
``cell_m`` are always among them; :meth:`CellIndex.around` returns the points in a block
of cells around some query points (for the few large agents such as mascots). Nothing
loops over agents in Python: keys are sorted once, cell starts come from ``np.bincount``
and a cumulative sum, and pairs are expanded with ``np.repeat``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
_EMPTY = np.zeros(0, np.int64)


@dataclass(frozen=True)
class Grid:
    """A padded uniform grid over a rectangle of the floor."""

    origin: tuple[float, float]
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, lo: tuple[float, float], hi: tuple[float, float], cell_m: float) -> Grid:
        """A grid over ``[lo, hi]`` with one empty cell of padding on every side."""
        nx = int(np.ceil((hi[0] - lo[0]) / cell_m)) + 3
        ny = int(np.ceil((hi[1] - lo[1]) / cell_m)) + 3
        return cls((lo[0] - cell_m, lo[1] - cell_m), cell_m, nx, ny)

    def cells(self, pos: NDArray[np.float64]) -> tuple[IntArray, IntArray]:
        """Column and row of each point, clamped inside the padding."""
        cx = ((pos[:, 0] - self.origin[0]) * (1.0 / self.cell_m)).astype(np.int64)
        cy = ((pos[:, 1] - self.origin[1]) * (1.0 / self.cell_m)).astype(np.int64)
        np.clip(cx, 1, self.nx - 2, out=cx)
        np.clip(cy, 1, self.ny - 2, out=cy)
        return cx, cy

    def keys(self, pos: NDArray[np.float64]) -> IntArray:
        """Flat cell key of each point."""
        cx, cy = self.cells(pos)
        return cy * self.nx + cx


class SortHint:
    """The cell order of the previous build; agents change cells rarely, so re-sorting an
    almost sorted array (timsort) is several times cheaper than sorting from scratch."""

    def __init__(self) -> None:
        self.order: IntArray | None = None


@dataclass(frozen=True)
class CellIndex:
    """Points sorted by cell: ``order[k]`` is the k-th point in key order."""

    grid: Grid
    order: IntArray
    skey: IntArray
    counts: IntArray
    ends: IntArray

    @classmethod
    def build(cls, grid: Grid, pos: NDArray[np.float64], hint: SortHint | None = None) -> CellIndex:
        """Sort points by cell key (reusing and updating ``hint`` when it fits)."""
        key = grid.keys(pos)
        n = key.shape[0]
        if hint is not None and hint.order is not None and hint.order.shape[0] == n:
            order = hint.order[np.argsort(key[hint.order], kind="stable")]
        else:
            order = np.argsort(key, kind="stable")
        if hint is not None:
            hint.order = order
        skey = key[order]
        counts = np.bincount(skey, minlength=grid.nx * grid.ny)
        return cls(grid, order, skey, counts, np.cumsum(counts))

    def pairs(self) -> tuple[IntArray, IntArray]:
        """Candidate pairs ``(i, j)`` of points in the same or adjacent cells, each once."""
        i, j = self.ranked_pairs()
        return self.order[i], self.order[j]

    def ranked_pairs(self) -> tuple[IntArray, IntArray]:
        """:meth:`pairs` as ranks in cell order (``order[i]`` is the point): neighbours have close
        ranks, so arrays gathered in cell order are read almost in sequence."""
        n = self.order.shape[0]
        if n < 2:
            return _EMPTY, _EMPTY
        nx, skey, counts, ends = self.grid.nx, self.skey, self.counts, self.ends
        rank = np.arange(n, dtype=np.int64)
        # Half stencil: the rest of the own cell, then the four cells "after" it.
        cells = [skey + off for off in (1, nx - 1, nx, nx + 1)]
        sizes = [counts[c] for c in cells]
        count = np.concatenate([ends[skey] - rank - 1] + sizes)
        first = np.concatenate([rank + 1] + [ends[c] - s for c, s in zip(cells, sizes)])
        rows = np.concatenate([rank] * 5)
        return self._expand(rows, first, count)

    def around(self, points: NDArray[np.float64], reach_cells: int) -> tuple[IntArray, IntArray]:
        """Pairs ``(q, i)``: query point ``q`` and each indexed point within ``reach_cells`` cells of it."""
        if points.shape[0] == 0 or self.order.shape[0] == 0:
            return _EMPTY, _EMPTY
        nx, ny = self.grid.nx, self.grid.ny
        cx, cy = self.grid.cells(points)
        span = np.arange(-reach_cells, reach_cells + 1)
        ox = np.clip(cx[:, None, None] + span[None, None, :], 0, nx - 1)
        oy = np.clip(cy[:, None, None] + span[None, :, None], 0, ny - 1)
        cells = (oy * nx + ox).reshape(points.shape[0], -1)
        rows = np.repeat(np.arange(points.shape[0]), cells.shape[1])
        cells = cells.ravel()
        q, k = self._expand(rows, self.ends[cells] - self.counts[cells], self.counts[cells])
        return q, self.order[k]

    @staticmethod
    def _expand(rows: IntArray, first: IntArray, count: IntArray) -> tuple[IntArray, IntArray]:
        """For each ``r``, pair ``rows[r]`` with sorted ranks ``first[r] .. first[r] + count[r] - 1``."""
        total = int(count.sum())
        if total == 0:
            return _EMPTY, _EMPTY
        src = np.repeat(rows, count)  # empty runs repeat to nothing: no need to pick the busy ones first
        shift = np.repeat(first - (np.cumsum(count) - count), count)
        return src, np.arange(total, dtype=np.int64) + shift


def neighbour_pairs(grid: Grid, pos: NDArray[np.float64], hint: SortHint | None = None) -> tuple[IntArray, IntArray]:
    """Candidate pairs of points in the same or adjacent cells of ``grid`` (see :class:`CellIndex`)."""
    return CellIndex.build(grid, pos, hint).pairs()
