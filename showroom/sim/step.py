"""One crowd step for the whole batch: steer, avoid neighbours, stay out of obstacles.

Order within a step:

1. preferred velocity: towards the goal along the navigation field, slowing on arrival;
2. separation: neighbours inside personal space push each other apart (and a slight
   keep-right bias so two people meeting head-on pass instead of stalling);
3. acceleration limit, speed limit, integration;
4. hard constraints: remaining body overlaps are projected apart (mascots never move),
   the step is capped at ``max_speed * dt``, then walls, obstacles and the runway edge
   push agents out;
5. bookkeeping: velocity from the actual displacement, heading, walk-cycle phase, arrival.

Every stage is a handful of NumPy operations over all agents or all candidate pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from showroom.sim.crowd import VISITOR_RADIUS_M, Crowd, Role
from showroom.sim.navigation import NavGrid
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import CellIndex, Grid, SortHint

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class StepParams:
    """Tuning of the crowd model; lengths in metres, times in seconds."""

    personal_m: float = 0.25
    separation_mps: float = 0.9
    keep_right: float = 0.35
    time_gap_s: float = 0.2
    relax_s: float = 0.25
    max_accel_mps2: float = 4.0
    arrive_m: float = 1.0
    arrived_m: float = 0.3
    stride_m: float = 1.4
    visitor_radius_m: float = VISITOR_RADIUS_M
    projection_passes: int = 2


@dataclass
class Environment:
    """What a crowd step needs besides the crowd: constraints, routes, grid and tuning."""

    obstacles: Obstacles
    nav: NavGrid
    grid: Grid
    params: StepParams = field(default_factory=StepParams)
    hint: SortHint = field(default_factory=SortHint)
    fences: Obstacles | None = None
    """Outlines only agents without the ``vip`` flag cannot cross (VIP zones)."""

    @classmethod
    def for_floor(
        cls, obstacles: Obstacles, nav: NavGrid, params: StepParams | None = None
    ) -> Environment:
        """An environment whose neighbour grid matches the visitors' interaction range."""
        params = params or StepParams()
        cell = 2 * params.visitor_radius_m + params.personal_m
        grid = Grid.covering((0.0, 0.0), obstacles.floor, cell)
        return cls(obstacles, nav, grid, params)


@dataclass(frozen=True)
class Contacts:
    """Pairs of agents within interaction range.

    ``mi``/``mj`` are 1 where that side moves (0 for a mascot); ``wi``/``wj`` are the
    shares of an overlap each side takes (a half each, or all of it against a mascot).
    """

    i: IntArray
    j: IntArray
    mi: FloatArray
    mj: FloatArray
    wi: FloatArray
    wj: FloatArray


def step(crowd: Crowd, env: Environment, dt_s: float) -> None:
    """Advance every non-mascot agent of ``crowd`` by ``dt_s`` seconds, in place."""
    n = crowd.n
    if n == 0:
        return
    p = env.params
    pos = crowd.pos
    moving = crowd.role != Role.MASCOT
    rows = np.flatnonzero(moving)
    contacts = _contacts(crowd, env, moving, rows)

    to_goal = crowd.goal - pos
    dist_goal = np.sqrt(np.einsum("ij,ij->i", to_goal, to_goal))
    direction = env.nav.steer(crowd.nav_field, pos, crowd.goal)
    want = crowd.max_speed * np.minimum(dist_goal * (1.0 / p.arrive_m), 1.0)
    np.minimum(want, _headway_speed(pos, crowd.radius, direction, contacts, p, n), out=want)
    target = direction * want[:, None]
    target += _separation(pos, crowd.radius, direction, contacts, p, n)

    vel = crowd.vel
    dv = (target - vel) * min(1.0, dt_s / p.relax_s)
    dv_len = np.sqrt(np.einsum("ij,ij->i", dv, dv))
    limit = p.max_accel_mps2 * dt_s
    dv *= np.minimum(1.0, limit / np.maximum(dv_len, 1e-12))[:, None]
    vel = vel + dv
    _cap_length(vel, crowd.max_speed)

    new = pos + vel * dt_s
    _project_overlaps(new, crowd.radius, contacts, p.projection_passes)
    disp = new - pos
    _cap_length(disp, crowd.max_speed * dt_s)
    new = pos + disp
    pinned = env.obstacles.push_out(new, crowd.radius, rows)
    if env.fences is not None:
        fenced = env.fences.push_out(new, crowd.radius, rows[~crowd.vip[rows]])
        pinned = np.union1d(pinned, fenced) if fenced.size else pinned
    if pinned.size:
        nudged = _yield_to_pinned(new, crowd.radius, contacts, pinned, n)
        env.obstacles.push_out(new, crowd.radius, nudged)

    sel = slice(None) if rows.size == n else rows  # plain slices are far cheaper than fancy indexing
    disp = new[sel] - pos[sel]
    step_len = np.sqrt(np.einsum("ij,ij->i", disp, disp))
    crowd.vel[sel] = disp * (1.0 / dt_s)
    crowd.pos[sel] = new[sel]
    crowd.phase[sel] = (crowd.phase[sel] + step_len * (1.0 / p.stride_m)) % 1.0
    heading = crowd.heading[sel]
    crowd.heading[sel] = np.where(step_len > 0.1 * dt_s, np.arctan2(-disp[:, 0], disp[:, 1]), heading)
    left = crowd.goal[sel] - crowd.pos[sel]
    crowd.arrived[sel] = np.einsum("ij,ij->i", left, left) < p.arrived_m**2


def _cap_length(v: FloatArray, cap: FloatArray) -> None:
    """Scale rows of ``v`` (in place) so that no row is longer than ``cap``."""
    length = np.sqrt(np.einsum("ij,ij->i", v, v))
    over = length > cap
    if over.any():
        v[over] *= (cap[over] / length[over])[:, None]


def _contacts(crowd: Crowd, env: Environment, moving: NDArray[np.bool_], rows: IntArray) -> Contacts:
    """Pairs within interaction range; mascots (immovable, large) are looked up separately."""
    p = env.params
    pos, radius = crowd.pos, crowd.radius
    everyone_moves = rows.size == crowd.n
    sub = pos if everyone_moves else pos[rows]
    index = CellIndex.build(env.grid, sub, env.hint)
    i, j = index.pairs()
    if not everyone_moves:
        i, j = rows[i], rows[j]
        kin = np.flatnonzero(~moving)
        reach = int(np.ceil((radius[kin].max(initial=0.0) + p.visitor_radius_m + p.personal_m) / env.grid.cell_m))
        q, k = index.around(pos[kin], reach)
        i = np.concatenate([i, rows[k]])
        j = np.concatenate([j, kin[q]])
    d = pos[i] - pos[j]
    reach_m = radius[i] + radius[j] + p.personal_m
    near = np.einsum("ij,ij->i", d, d) < reach_m * reach_m
    i, j = i[near], j[near]
    mi = moving[i].astype(np.float64)
    mj = moving[j].astype(np.float64)
    total = np.maximum(mi + mj, 1.0)
    return Contacts(i, j, mi, mj, mi / total, mj / total)


def _headway_speed(
    pos: FloatArray, radius: FloatArray, direction: FloatArray, c: Contacts, p: StepParams, n: int
) -> FloatArray:
    """Speed each agent may walk at without running into the nearest body ahead of it.

    As in collision-free speed models: the free gap to the closest neighbour in one's
    walking corridor, divided by a time gap. People stop behind others instead of pushing.
    """
    limit = np.full(n, np.inf)
    if c.i.size == 0:
        return limit
    d = pos[c.j] - pos[c.i]
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    width = radius[c.i] + radius[c.j]
    gap = np.maximum(dist - width, 0.0) * (1.0 / p.time_gap_s)
    for me, dir_sign in ((c.i, 1.0), (c.j, -1.0)):
        along = np.einsum("ij,ij->i", direction[me], d) * dir_sign
        across = np.abs(direction[me, 0] * d[:, 1] - direction[me, 1] * d[:, 0])
        ahead = (along > 0) & (across < width)
        np.minimum.at(limit, me[ahead], gap[ahead])
    return limit


def _separation(
    pos: FloatArray, radius: FloatArray, direction: FloatArray, c: Contacts, p: StepParams, n: int
) -> FloatArray:
    """Velocity (n, 2) pushing agents out of each other's personal space."""
    out = np.zeros((n, 2))
    if c.i.size == 0:
        return out
    d = pos[c.i] - pos[c.j]
    dist = np.sqrt(np.einsum("ij,ij->i", d, d))
    unit = d / np.maximum(dist, 1e-9)[:, None]
    same = dist < 1e-9
    if same.any():  # exactly on top of each other: split along a fixed, index-dependent axis
        angle = (c.i[same] * 2.399963) % (2 * np.pi)
        unit[same] = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    depth = (radius[c.i] + radius[c.j] + p.personal_m - dist) * (1.0 / p.personal_m)
    strength = p.separation_mps * np.minimum(depth, 2.0)
    push = unit * strength[:, None]
    # Keep right: when the other agent is ahead, also step to one's own right.
    ahead_i = np.maximum(-np.einsum("ij,ij->i", direction[c.i], unit), 0.0)
    ahead_j = np.maximum(np.einsum("ij,ij->i", direction[c.j], unit), 0.0)
    side_i = np.stack([direction[c.i, 1], -direction[c.i, 0]], axis=1) * (p.keep_right * strength * ahead_i)[:, None]
    side_j = np.stack([direction[c.j, 1], -direction[c.j, 0]], axis=1) * (p.keep_right * strength * ahead_j)[:, None]
    fi = (push + side_i) * c.mi[:, None]
    fj = (side_j - push) * c.mj[:, None]
    for axis in (0, 1):
        out[:, axis] = np.bincount(c.i, fi[:, axis], n) + np.bincount(c.j, fj[:, axis], n)
    return out


def _yield_to_pinned(pos: FloatArray, radius: FloatArray, c: Contacts, pinned: IntArray, n: int) -> IntArray:
    """After walls pushed some agents back, their neighbours give way (walls win over bodies).

    Returns the rows that may have moved.
    """
    mask = np.zeros(n, bool)
    mask[pinned] = True
    near = mask[c.i] | mask[c.j]
    if not near.any():
        return np.zeros(0, np.int64)
    i, j = c.i[near], c.j[near]
    free_i = c.mi[near] * ~mask[i]
    free_j = c.mj[near] * ~mask[j]
    total = free_i + free_j
    ok = total > 0
    sub = Contacts(i[ok], j[ok], c.mi[near][ok], c.mj[near][ok], free_i[ok] / total[ok], free_j[ok] / total[ok])
    _project_overlaps(pos, radius, sub, 1)
    return np.unique(np.concatenate([sub.i, sub.j]))


def _project_overlaps(pos: FloatArray, radius: FloatArray, c: Contacts, passes: int) -> None:
    """Move overlapping bodies apart (in place), each by its share of the overlap."""
    if c.i.size == 0:
        return
    n = pos.shape[0]
    touch = radius[c.i] + radius[c.j]
    for _ in range(passes):
        d = pos[c.i] - pos[c.j]
        dist = np.sqrt(np.einsum("ij,ij->i", d, d))
        overlap = touch - dist
        hit = np.flatnonzero(overlap > 0)
        if hit.size == 0:
            return
        unit = d[hit] / np.maximum(dist[hit], 1e-9)[:, None]
        shift = unit * overlap[hit, None]
        ci, cj = c.i[hit], c.j[hit]
        si = shift * c.wi[hit, None]
        sj = shift * c.wj[hit, None]
        for axis in (0, 1):
            pos[:, axis] += np.bincount(ci, si[:, axis], n) - np.bincount(cj, sj[:, axis], n)
