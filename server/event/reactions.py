"""Reactions in a shard: shown above the sender's avatar for a while, counted per 16 m cell.

A reaction sets its slot's code for :data:`~showroom.protocol.codes.REACTION_SHOW_S` (the
avatar's animation byte shows it) and is logged; at the next tick the log is counted per
(cell, reaction) in one batch. Once a second the counts of the last second go out as a
``reactions`` event to every cell, summed over the 3 x 3 block around it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from server.event.interest import CellGrid
from showroom.protocol.codes import REACTION_SHOW_S, REACTIONS, reaction_code
from showroom.protocol.server_messages import ReactionCounts
from showroom.sim.crowd import Crowd

REACTION_CELL_M = 16.0
"""Reactions are counted in cells this large (larger than interest cells: a crowd's mood, not a neighbour's)."""
REACTION_FLUSH_S = 1.0
"""How often the per-cell counts are sent."""
_CODES = 16
"""Reaction codes fit in 4 bits: a (cell, code) pair is ``cell * 16 + code``."""


class Reactions:
    """Per slot: the reaction shown now and until when; per cell: counts of the current second."""

    def __init__(self, slots: int, grid: CellGrid) -> None:
        self.grid = grid
        self.code = np.zeros(slots, np.uint8)
        self.until = np.zeros(slots)
        self.log: list[tuple[int, int]] = []
        """(slot, code) of the reactions since the last tick."""
        self.counting: dict[int, dict[str, int]] = {}
        self.ready: dict[int, dict[str, int]] = {}
        """The counts of the last full second, sent this tick (empty on other ticks)."""
        self.next_flush = 0.0
        self.total: dict[str, int] = {}
        """Every reaction counted in this shard since it opened, by reaction (the event's ``audience``)."""

    def reset(self, slot: int) -> None:
        """A new visitor takes the slot: it shows nothing."""
        self.code[slot] = 0

    def react(self, slot: int, reaction: str, show_t: float) -> None:
        """Show a reaction above the avatar in ``slot`` and count it at the next tick."""
        code = reaction_code(reaction)
        self.code[slot] = code
        self.until[slot] = show_t + REACTION_SHOW_S
        self.log.append((slot, code))

    def count(self, slot_id: NDArray[np.int64], crowd: Crowd) -> None:
        """Add the reactions logged since the last tick to the counts of the cells they came from."""
        if not self.log:
            return
        log, self.log = np.array(self.log, np.int64).reshape(-1, 2), []
        log = log[slot_id[log[:, 0]] >= 0]  # the visitor may have left since
        if log.size == 0:
            return
        keys = self.grid.keys(crowd.pos[crowd.index_of(slot_id[log[:, 0]])])
        pairs, counts = np.unique(keys * _CODES + log[:, 1], return_counts=True)
        for pair, n in zip(pairs.tolist(), counts.tolist()):  # one per (cell, reaction) pair, not per visitor
            cell = self.counting.setdefault(pair // _CODES, {})
            reaction = REACTIONS[pair % _CODES - 1]
            cell[reaction] = cell.get(reaction, 0) + n
            self.total[reaction] = self.total.get(reaction, 0) + n

    def rotate(self, show_t: float) -> None:
        """Once a second (of show time, or after a seek) make the counts so far ready to send."""
        if show_t >= self.next_flush or show_t < self.next_flush - 2 * REACTION_FLUSH_S:
            self.ready, self.counting = self.counting, {}
            self.next_flush = show_t + REACTION_FLUSH_S
        else:
            self.ready = {}

    def shown(self, slot_id: NDArray[np.int64], show_t: float) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
        """Slots showing a reaction at ``show_t`` and their codes."""
        live = np.flatnonzero((slot_id >= 0) & (self.until > show_t) & (self.code > 0))
        return live, self.code[live]

    def near_point(self, x: float, y: float) -> list[ReactionCounts]:
        """The ``reactions`` event for a visitor at (x, y) metres."""
        return self.near(int(self.grid.keys(np.array([[x, y]]))[0])) if self.ready else []

    def near(self, key: int) -> list[ReactionCounts]:
        """The ``reactions`` event for cell ``key``: the ready counts of its 3 x 3 block (none when empty)."""
        if not self.ready:
            return []
        cx, cy = self.grid.xy(key)
        total: dict[str, int] = {}
        for other, counts in self.ready.items():
            ox, oy = self.grid.xy(other)
            if abs(ox - cx) <= 1 and abs(oy - cy) <= 1:
                for reaction, n in counts.items():
                    total[reaction] = total.get(reaction, 0) + n
        return [ReactionCounts(counts=total)] if total else []
