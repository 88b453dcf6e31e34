"""Interest management: the venue cut into square cells; each visitor is sent its cell's view.

A cell's view holds the avatars of the 3 x 3 block of cells around it every tick (``NEAR_REACH``),
and of the 5 x 5 block every ``FAR_EVERY`` ticks (``FAR_REACH``: far cells at a lower rate).
Avatars are sorted by cell key once per tick; a block is a few contiguous key ranges found
by ``searchsorted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.limits import INTEREST_CELL_M

CELL_M = INTEREST_CELL_M
NEAR_REACH = 1
"""Cells (in x and y) around a visitor's own whose avatars it is sent every tick: at least ``CELL_M`` metres."""
FAR_REACH = 2
"""The same, every ``FAR_EVERY`` ticks."""
FAR_EVERY = 4

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

    def keys(self, pos: NDArray[np.float64]) -> IntArray:
        """Cell key (cy * nx + cx) of each position."""
        cx = np.clip((pos[:, 0] / self.cell_m).astype(np.int64), 0, self.nx - 1)
        cy = np.clip((pos[:, 1] / self.cell_m).astype(np.int64), 0, self.ny - 1)
        return cy * self.nx + cx

    def xy(self, key: int) -> tuple[int, int]:
        """Column and row of a cell key."""
        return key % self.nx, key // self.nx


@dataclass(frozen=True)
class Occupancy:
    """Avatars sorted by cell: ``order[k]`` is a row index, ``skey`` the sorted keys."""

    grid: CellGrid
    order: IntArray
    skey: IntArray

    @classmethod
    def build(cls, grid: CellGrid, pos: NDArray[np.float64]) -> Occupancy:
        """Sort avatar rows by cell key."""
        key = grid.keys(pos)
        order = np.argsort(key, kind="stable")
        return cls(grid, order, key[order])

    def block(self, key: int, reach: int) -> IntArray:
        """Rows of avatars within ``reach`` cells (in x and y) of cell ``key``."""
        cx, cy = self.grid.xy(key)
        x0, x1 = max(cx - reach, 0), min(cx + reach, self.grid.nx - 1)
        rows = []
        for y in range(max(cy - reach, 0), min(cy + reach, self.grid.ny - 1) + 1):  # at most 5 rows of cells
            lo = np.searchsorted(self.skey, y * self.grid.nx + x0, side="left")
            hi = np.searchsorted(self.skey, y * self.grid.nx + x1, side="right")
            rows.append(self.order[lo:hi])
        return np.concatenate(rows) if rows else np.zeros(0, np.int64)
