"""Navigation fields: for each destination, the way to walk from every floor cell.

Straight-line steering gets stuck behind the runway or a booth. For each destination
region (an audience zone, a booth, an exit, a selfie queue, a scenario waypoint) we compute
once, when the world is built, the walking distance from every cell of a 0.5 m grid and
from it a smoothed downhill direction. Per tick an agent's direction is one gather from
these tables; inside its destination region (a *source* cell) the agent steers straight at
its exact goal.

No door a body fits through is lost, wherever it falls on the grid: a cell is free when
some point of it keeps clear of the walls (searched inside cells near walls), a step
between cells is allowed only where a body fits along it (measured exactly against the
walls), and diagonal steps never cut a blocked corner. Routes cost a little more right at a
wall, so people keep off walls where there is room. Points a visitor clicks get fields on
demand (:class:`PointFields`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from showroom.sim import geometry as geo
from showroom.sim.crowd import NO_FIELD
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

NAV_CELL_M = 0.5
CLEAR_M = 0.25
"""A route passes only where a body (radius 0.2 m) keeps this far from every wall."""
_SUB_M = 0.1  # lattice on which cells near walls are searched for a point that clear
WALL_SHY_M = 1.0
"""People keep about this far off walls where there is room: a route costs more near them."""
WALL_COST = 0.2
"""Extra cost per metre of route right at a wall (falling to none ``WALL_SHY_M`` away)."""
_POINT_REACH_M = 0.8  # around a clicked point, people walk straight to it
_STEP_CLEAR_M = 0.2  # a step between route points leaves room for a body (radius 0.2 m): it never crosses a wall
_MOVES = [(dy, dx, float(np.hypot(dx, dy))) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dx or dy]

Move = tuple[int, int, float, BoolArray, FloatArray]
"""A step to a neighbour cell: dy, dx, its length in cells, where it may be taken, and its cost there."""


@dataclass(frozen=True)
class NavGrid:
    """Blocked cells of the floor, and per destination a distance table and a flow table."""

    grid: Grid
    blocked: BoolArray
    distance: NDArray[np.float32]
    flow: NDArray[np.float32]
    source: BoolArray
    moves: list[Move] = field(default_factory=list)
    graph: csr_matrix | None = None
    """The allowed steps as a graph, reversed (an edge from each step's end to its start, weighted with
    its cost), for Dijkstra from a destination's cells."""
    """The steps between cells, kept to make fields for new destinations (clicked points)."""

    @property
    def fields(self) -> int:
        """Number of destination fields."""
        return int(self.distance.shape[0])

    @classmethod
    def empty(cls, grid: Grid) -> NavGrid:
        """No destinations: every agent steers straight at its goal (an empty hall)."""
        return cls(grid, np.zeros(0, bool), np.zeros((0, 0), np.float32),
                   np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), bool))

    def make_field(self, mask: BoolArray) -> tuple[NDArray[np.float32], NDArray[np.float32], BoolArray]:
        """Distance, flow and source tables of a new destination (``mask`` over the grid's cells)."""
        src = mask.reshape(self.blocked.shape) & ~self.blocked
        distance = _distance_field(src, self.blocked, self.graph)
        return distance, _flow(distance, self.blocked, self.moves), src

    def steer(
        self, nav_field: NDArray[np.int16], pos: FloatArray, goal: FloatArray, points: PointFields | None = None
    ) -> FloatArray:
        """Unit walking directions for agents: along their field, or straight at the goal.

        Field ids from ``fields`` on are ``points``' fields to clicked points.
        """
        to_goal = goal - pos
        length = np.sqrt(np.einsum("ij,ij->i", to_goal, to_goal))
        direct = to_goal / np.maximum(length, 1e-9)[:, None]
        routed = np.flatnonzero(nav_field != NO_FIELD)
        if routed.size == 0 or self.blocked.size == 0:
            return direct
        cell = self.grid.keys(pos[routed])
        ids = nav_field[routed].astype(np.int64)
        tables: tuple[tuple[NavGrid | PointFields | None, int], ...] = ((self, 0), (points, self.fields))
        for table, start in tables:
            if table is None or table.fields == 0:
                continue
            mine = (ids >= start) & (ids < start + table.fields)
            if not mine.any():
                continue
            flat = (ids[mine] - start) * self.blocked.size + cell[mine]
            flow = table.flow.reshape(-1, 2)[flat]
            use = ~table.source.reshape(-1)[flat] & (np.abs(flow).sum(axis=1) > 0)
            direct[routed[mine][use]] = flow[use]
        return direct


class PointFields:
    """Fields to points visitors click, made on demand and shared by everyone going to the same cell.

    A field takes about 5 ms to make (the venue's whole grid), so ``per_tick`` of one are made per
    tick on average (a quarter by default: 5 a second at 20 Hz, a tick's budget spent on no more
    than one; a thousand bots clicking every few seconds made one every tick, a tenth of a core)
    and at most ``slots`` are kept: a slot nobody walks on any more is reused, the least recently
    asked for first. A visitor who has to wait for a slot walks straight meanwhile.
    """

    def __init__(self, nav: NavGrid, slots: int = 16, per_tick: float = 0.25) -> None:
        self.nav = nav
        self.slots = slots if nav.blocked.size else 0
        self.per_tick = per_tick
        shape = (self.slots, *nav.blocked.shape)
        self.flow = np.zeros((*shape, 2), np.float32)
        self.source = np.zeros(shape, bool)
        self.cell = np.full(self.slots, -1, np.int64)
        self.asked = np.zeros(self.slots, np.int64)
        self.clock = 0
        self.budget = max(1.0, per_tick)

    @property
    def fields(self) -> int:
        """Number of fields kept (their ids follow the venue's own)."""
        return self.slots

    def new_tick(self) -> None:
        """Allow ``per_tick`` more of a field to be made (saved up to one whole field, or ``per_tick`` if more)."""
        self.budget = min(self.budget + self.per_tick, max(1.0, self.per_tick))

    def field_for(self, goal: FloatArray, in_use: NDArray[np.int16]) -> NDArray[np.int16]:
        """A field id towards each goal point (``NO_FIELD`` where none could be had this tick).

        ``in_use`` are the field ids agents walk on now; their slots are not reused.
        """
        out = np.full(goal.shape[0], NO_FIELD, np.int16)
        if self.slots == 0 or goal.shape[0] == 0:
            return out
        cells = self.nav.grid.keys(goal)
        match = cells[:, None] == self.cell[None, :]  # hundreds may wait at once: one comparison, no loop
        has = match.any(axis=1)
        slot_of = match.argmax(axis=1)
        out[has] = self.nav.fields + slot_of[has]
        self.clock += 1
        self.asked[slot_of[has]] = self.clock
        busy = self.asked == self.clock
        used = in_use.astype(np.int64) - self.nav.fields
        busy[used[(used >= 0) & (used < self.slots)]] = True
        missing = cells[~has]
        while self.budget >= 1 and missing.size:
            free = np.flatnonzero(~busy)
            if free.size == 0:
                break
            slot, cell = int(free[np.argmin(self.asked[free])]), int(missing[0])
            centres = cell_centres(self.nav.grid)
            mask = np.linalg.norm(centres - centres[cell], axis=1) < _POINT_REACH_M
            _, self.flow[slot], self.source[slot] = self.nav.make_field(mask)
            self.cell[slot] = cell
            self.budget -= 1
            busy[slot] = True
            self.asked[slot] = self.clock
            out[cells == cell] = self.nav.fields + slot
            missing = missing[missing != cell]
        return out


def cell_centres(grid: Grid) -> FloatArray:
    """Centre of every cell of ``grid``, (ny * nx, 2), row by row."""
    xs = grid.origin[0] + (np.arange(grid.nx) + 0.5) * grid.cell_m
    ys = grid.origin[1] + (np.arange(grid.ny) + 0.5) * grid.cell_m
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def build_navigation(obstacles: Obstacles, sources: list[BoolArray], grid: Grid) -> NavGrid:
    """Distance and flow tables for each source mask (each a bool array over ``grid`` cells)."""
    blocked, point, clear = blocked_cells(obstacles, grid)
    weight = 1.0 + WALL_COST * np.clip(1.0 - clear / WALL_SHY_M, 0.0, 1.0)
    blocked[[0, -1], :] = True
    blocked[:, [0, -1]] = True
    distance = np.empty((len(sources), grid.ny, grid.nx), np.float32)
    flow = np.zeros((len(sources), grid.ny, grid.nx, 2), np.float32)
    source = np.zeros((len(sources), grid.ny, grid.nx), bool)
    moves = _allowed_moves(blocked, _through(obstacles, blocked, point, clear, grid), weight)
    graph = _step_graph(blocked, moves)
    for k, mask in enumerate(sources):
        src = mask.reshape(grid.ny, grid.nx) & ~blocked
        source[k] = src
        distance[k] = _distance_field(src, blocked, graph)
        flow[k] = _flow(distance[k], blocked, moves)
    return NavGrid(grid, blocked, distance, flow, source, moves, graph)


def blocked_cells(obstacles: Obstacles, grid: Grid) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Cells no body can stand in, for every cell the point routes pass through, and its centre's clearance.

    A cell is free when some point of it is ``CLEAR_M`` away from every wall. Testing only
    a cell's centre would lose a narrow door whose centreline falls between two cell
    centres. Clearance changes by at most the distance moved, so only cells whose centre is
    within half a diagonal of the threshold are looked at more closely, on a ``_SUB_M``
    lattice inside the cell; a door ``2 * CLEAR_M + _SUB_M`` wide (0.6 m) or wider keeps a
    free cell at every alignment. Such a cell's route point is its clearest lattice point;
    every other cell's is its centre.
    """
    centres = cell_centres(grid)
    clear = obstacles.clearance(centres, np.zeros(centres.shape[0]))
    half_diag = grid.cell_m * np.sqrt(0.5)
    blocked = clear < CLEAR_M
    point = centres.copy()
    doubt = np.flatnonzero(blocked & (clear > CLEAR_M - half_diag))
    if doubt.size:
        k = max(int(np.ceil(grid.cell_m / _SUB_M)), 1)
        offs = (np.arange(k) + 0.5) / k - 0.5
        sub = np.stack(np.meshgrid(offs, offs), axis=-1).reshape(-1, 2) * grid.cell_m
        pts = centres[doubt, None, :] + sub[None]
        sub_clear = obstacles.clearance(pts.reshape(-1, 2), np.zeros(pts.shape[0] * pts.shape[1])).reshape(doubt.size, -1)
        best = sub_clear.argmax(axis=1)
        freed = sub_clear[np.arange(doubt.size), best] >= CLEAR_M
        blocked[doubt[freed]] = False
        point[doubt[freed]] = pts[np.flatnonzero(freed), best[freed]]
    return blocked.reshape(grid.ny, grid.nx), point.reshape(grid.ny, grid.nx, 2), clear.reshape(grid.ny, grid.nx)


def _shifted(a: np.ndarray, dy: int, dx: int, fill: float) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]``, with ``fill`` outside."""
    out = np.full_like(a, fill)
    ny, nx = a.shape
    out[max(-dy, 0):ny - max(dy, 0), max(-dx, 0):nx - max(dx, 0)] = a[
        max(dy, 0):ny - max(-dy, 0), max(dx, 0):nx - max(-dx, 0)
    ]
    return out


def _through(obstacles: Obstacles, blocked: BoolArray, point: FloatArray, clear: FloatArray,
             grid: Grid) -> dict[tuple[int, int], BoolArray]:
    """Per move, the free cells from which the straight step to the neighbour's route point leaves room
    for a body (never crossing a wall).

    A step whose ends are both clear by at least ``_STEP_CLEAR_M`` plus half its length is
    clear all along (clearance changes by at most the distance moved); every other step
    near a wall is measured exactly against the capsules.
    """
    centre = cell_centres(grid).reshape(grid.ny, grid.nx, 2)
    off = ~blocked & np.any(point != centre, axis=-1)
    sure = np.where(off, -np.inf, clear)
    out = {}
    for dy, dx, length in _MOVES:
        there = np.stack([_shifted(point[..., 0], dy, dx, np.nan), _shifted(point[..., 1], dy, dx, np.nan)], axis=-1)
        safe = np.minimum(sure, _shifted(sure, dy, dx, -np.inf)) >= _STEP_CLEAR_M + length * grid.cell_m / 2
        check = ~safe & ~blocked & ~_shifted(blocked, dy, dx, True)
        ok = np.ones(blocked.shape, bool)
        ys, xs = np.nonzero(check)
        if ys.size:
            ok[ys, xs] = line_clearance(obstacles, point[ys, xs], there[ys, xs]) >= _STEP_CLEAR_M
        out[(dy, dx)] = ok
    return out


def line_clearance(obstacles: Obstacles, a: FloatArray, b: FloatArray) -> FloatArray:
    """Free distance along each straight line ``a -> b`` to the nearest capsule (exact, in chunks)."""
    out = np.full(a.shape[0], np.inf)
    if obstacles.a.shape[0] == 0:
        return out
    for start in range(0, a.shape[0], 512):
        sl = slice(start, start + 512)
        dist, _ = geo.segment_distance(a[sl, None], b[sl, None], obstacles.a[None], obstacles.b[None])
        out[sl] = (dist - obstacles.half[None]).min(axis=1)
    return out


def _allowed_moves(blocked: BoolArray, through: dict[tuple[int, int], BoolArray], weight: FloatArray) -> list[Move]:
    """Each move with the mask of cells it may be taken from (no cutting blocked corners, no crossing walls)
    and its cost: its length times the mean ``weight`` of the two cells."""
    moves = []
    for dy, dx, length in _MOVES:
        ok = ~_shifted(blocked, dy, dx, True) & through[(dy, dx)]
        if dx and dy:
            ok &= ~_shifted(blocked, dy, 0, True) & ~_shifted(blocked, 0, dx, True)
        cost = length * 0.5 * (weight + _shifted(weight, dy, dx, 1.0))
        moves.append((dy, dx, length, ok, cost))
    return moves


def _step_graph(blocked: BoolArray, moves: list[Move]) -> csr_matrix:
    """Every allowed step from a free cell to a free neighbour, reversed: an edge end -> start, weighted with
    the step's cost (so Dijkstra from a destination gives each cell's walking distance to it)."""
    ny, nx = blocked.shape
    index = np.arange(ny * nx).reshape(ny, nx)
    ends, starts, costs = [], [], []
    for dy, dx, _, ok, cost in moves:
        ys, xs = np.nonzero(ok & ~blocked)
        ty, tx = ys + dy, xs + dx
        keep = (ty >= 0) & (ty < ny) & (tx >= 0) & (tx < nx)
        ys, xs, ty, tx = ys[keep], xs[keep], ty[keep], tx[keep]
        keep = ~blocked[ty, tx]
        starts.append(index[ys[keep], xs[keep]])
        ends.append(index[ty[keep], tx[keep]])
        costs.append(cost[ys[keep], xs[keep]])
    return csr_matrix((np.concatenate(costs), (np.concatenate(ends), np.concatenate(starts))), shape=(ny * nx, ny * nx))


def _distance_field(src: BoolArray, blocked: BoolArray, graph: csr_matrix | None) -> NDArray[np.float32]:
    """Walking distance in cells from every free cell to the nearest source cell (inf if none).

    Dijkstra (SciPy's, in C) over the step graph: 1-2 ms for the anniversary venue's 10,000 cells,
    where relaxing every step as whole-array operations until nothing changed took 11-18 ms (a tick's
    budget gone whenever a visitor clicked somewhere out of sight)."""
    sources = np.flatnonzero(src & ~blocked)
    if graph is None or sources.size == 0:
        return np.full(blocked.shape, np.inf, np.float32)
    dist = dijkstra(graph, directed=True, indices=sources, min_only=True).reshape(blocked.shape)
    dist[blocked] = np.inf
    return dist.astype(np.float32)


def _flow(dist: NDArray[np.float32], blocked: BoolArray, moves: list[Move]) -> NDArray[np.float32]:
    """Smoothed downhill unit direction per cell; blocked cells point to their best free neighbour."""
    flow = np.zeros(dist.shape + (2,), np.float64)
    best = np.full(dist.shape, np.inf)
    best_dir = np.zeros(dist.shape + (2,))
    finite = np.isfinite(dist)
    for dy, dx, length, ok, cost in moves:
        there = _shifted(dist, dy, dx, np.inf)
        with np.errstate(invalid="ignore"):
            drop = np.where(ok & finite & np.isfinite(there), (dist - there) / cost, 0.0)
        weight = np.maximum(drop, 0.0) ** 2
        flow[..., 0] += weight * dx / length
        flow[..., 1] += weight * dy / length
        closer = np.isfinite(there) & (there + cost < best)
        best = np.where(closer, there + cost, best)
        best_dir[closer] = (dx / length, dy / length)
    length = np.linalg.norm(flow, axis=-1, keepdims=True)
    flow = np.where(length > 1e-9, flow / np.maximum(length, 1e-9), 0.0)
    flow[blocked] = best_dir[blocked]
    return flow.astype(np.float32)
