"""One crowd step for the whole batch: walk like people, avoid each other, stay out of obstacles.

Order within a step:

1. neighbours: everyone within ``look_m``, from a spatial hash read in cell order;
2. direction: towards the goal along the navigation field (or straight at it), kept right
   of an oncoming crowd seen a few metres ahead, turned away from anyone in one's way who
   is slower or coming towards one;
3. speed: the desired speed, slowing on arrival, limited by the collision-free speed
   model's headway rule (Tordeux, Chraibi and Seyfried 2016); people stopped by someone
   in front look for a freer way (Moussaïd, Helbing and Theraulaz 2011), and people at
   rest step aside for a walker in their way;
4. separation inside personal space, then acceleration and speed limits, integration;
5. hard constraints: remaining body overlaps are projected apart (mascots never move),
   the step is capped at ``max_speed * dt``, then walls, obstacles and the runway edge
   push agents out, and the neighbours of those the walls pinned give way;
6. bookkeeping: velocity from the actual displacement, heading, walk-cycle phase, arrival.

Every stage is a handful of NumPy operations over all agents or all candidate pairs.
``showroom validate crowd`` checks the result against published pedestrian data;
:mod:`showroom.bench.reference` is the same step as a loop over agents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from showroom.sim.crowd import VISITOR_RADIUS_M, Crowd, Role
from showroom.sim.navigation import NavGrid, PointFields
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import CellIndex, Grid, SortHint

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


WAY_ANGLES = np.radians([-30.0, 30.0, -60.0, 60.0])
"""Turns a blocked agent tries, either side of its way (see ``_find_a_way``)."""


@dataclass(frozen=True)
class StepParams:
    """Tuning of the crowd model; lengths in metres, times in seconds.

    The speed rule is the collision-free speed model's (Tordeux, Chraibi and Seyfried
    2016): an agent walks at ``min(v0, gap / time_gap_s)``, the gap being the free space
    to the nearest body in its walking corridor within ``look_m``. Its time gap is
    calibrated so that the mean speed at a density follows Weidmann's fundamental diagram.
    """

    personal_m: float = 0.1
    """Bodies closer than this push each other apart (``separation_mps`` at touch)."""
    separation_mps: float = 0.6
    time_gap_s: float = 0.75
    """The collision-free speed model's time gap: calibrated against Weidmann's diagram and
    the measured flow through bottlenecks (``showroom validate crowd``)."""
    look_m: float = 1.2
    """How far (centre to centre) one looks at others: the neighbour grid's cell."""
    anticipate: float = 2.5
    """How hard one turns away from someone slower or oncoming in one's way."""
    keep_right_m: float = 0.15
    """Someone this close to straight ahead and coming towards one is passed on the right."""
    keep_right: float = 0.5
    """How hard one keeps right of an oncoming crowd seen ``view_m`` ahead."""
    view_m: float = 3.0
    standing_mps: float = 0.1
    """Wanting to walk slower than this (or having arrived) is being at rest: one makes way."""
    blocked_share: float = 0.3
    """Stopped below this share of one's desired speed, one looks for another way."""
    make_way_m: float = 0.3
    make_way_mps: float = 0.6
    """People at rest step aside at up to this speed for a walker within ``make_way_m``."""
    relax_s: float = 0.25
    max_accel_mps2: float = 4.0
    arrive_m: float = 1.0
    arrived_m: float = 0.3
    stride_m: float = 1.4
    visitor_radius_m: float = VISITOR_RADIUS_M
    projection_passes: int = 12


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
    points: PointFields | None = None
    """Fields to points visitors clicked (their ``nav_field`` ids follow the venue's)."""
    view: Grid | None = None
    """Coarse cells in which the crowd's mean flow is seen from afar (keeping right of an oncoming crowd)."""

    @classmethod
    def for_floor(
        cls, obstacles: Obstacles, nav: NavGrid, params: StepParams | None = None
    ) -> Environment:
        """An environment whose neighbour grid matches the agents' look-ahead range."""
        params = params or StepParams()
        grid = Grid.covering((0.0, 0.0), obstacles.floor, params.look_m)
        view = Grid.covering((0.0, 0.0), obstacles.floor, params.view_m * 2 / 3)
        return cls(obstacles, nav, grid, params, view=view)


@dataclass(frozen=True)
class Contacts:
    """Pairs of agents, ``d = pos[j] - pos[i]``, its length, and ``width`` the two radii together.

    ``mi``/``mj`` are 1 where that side moves (0 for a mascot); ``wi``/``wj`` are the
    shares of an overlap each side takes (a half each, or all of it against a mascot).
    """

    i: IntArray
    j: IntArray
    mi: FloatArray
    mj: FloatArray
    wi: FloatArray
    wj: FloatArray
    d: FloatArray
    dist: FloatArray
    width: FloatArray

    def subset(self, keep: NDArray[np.bool_]) -> Contacts:
        """The pairs where ``keep`` holds."""
        at = np.flatnonzero(keep)  # once, not once per column
        return Contacts(self.i[at], self.j[at], self.mi[at], self.mj[at], self.wi[at],
                        self.wj[at], self.d[at], self.dist[at], self.width[at])


def step(crowd: Crowd, env: Environment, dt_s: float) -> None:
    """Advance every non-mascot agent of ``crowd`` by ``dt_s`` seconds, in place."""
    n = crowd.n
    if n == 0:
        return
    p = env.params
    pos = crowd.pos
    moving = crowd.role != Role.MASCOT
    rows = np.flatnonzero(moving)
    seen = _neighbours(crowd, env, moving, rows)
    touching = seen.subset(seen.dist < seen.width + p.personal_m)

    to_goal = crowd.goal - pos
    dist_goal = np.sqrt(np.einsum("ij,ij->i", to_goal, to_goal))
    direction = env.nav.steer(crowd.nav_field, pos, crowd.goal, env.points)
    if env.view is not None:
        _keep_right(direction, pos, crowd.vel, env.view, p)
    want = crowd.max_speed * np.minimum(dist_goal * (1.0 / p.arrive_m), 1.0)
    resting = crowd.arrived | (want < p.standing_mps)
    limit, shove = _steer_and_limit(direction, crowd.vel, want, resting, seen, p, n)
    np.minimum(want, limit, out=want)
    target = direction * want[:, None]
    target += shove
    target += _separation(touching, p, n)

    vel = crowd.vel
    dv = (target - vel) * min(1.0, dt_s / p.relax_s)
    dv_len = np.sqrt(np.einsum("ij,ij->i", dv, dv))
    dv_max = p.max_accel_mps2 * dt_s
    dv *= np.minimum(1.0, dv_max / np.maximum(dv_len, 1e-12))[:, None]
    vel = vel + dv
    _cap_length(vel, crowd.max_speed)

    new = pos + vel * dt_s
    bodies = seen.subset(seen.dist < seen.width + 2.0 * crowd.max_speed[seen.i] * dt_s)
    _project_overlaps(new, bodies, p.projection_passes)
    disp = new - pos
    _cap_length(disp, crowd.max_speed * dt_s)
    new = pos + disp
    pinned = env.obstacles.push_out(new, crowd.radius, rows)
    if env.fences is not None:
        fenced = env.fences.push_out(new, crowd.radius, rows[~crowd.vip[rows]])
        pinned = np.union1d(pinned, fenced) if fenced.size else pinned
    for _ in range(2):  # walls win over bodies: neighbours of the pinned give way, twice settles corners
        if pinned.size == 0:
            break
        nudged = _yield_to_pinned(new, bodies, pinned, n)
        pinned = env.obstacles.push_out(new, crowd.radius, nudged)

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


def _keep_right(direction: FloatArray, pos: FloatArray, vel: FloatArray, view: Grid, p: StepParams) -> None:
    """Turn (in place) to the right of a crowd seen coming the other way, a few metres ahead.

    The mean velocity of everyone in the coarse cell ``view_m`` ahead is what one sees coming:
    the more of it comes towards one, the more one keeps right, long before meeting anyone. A
    cell of people walking one's own way cancels out, so only an oncoming crowd turns one.
    """
    size = view.nx * view.ny
    key = view.keys(pos)
    count = np.bincount(key, minlength=size).astype(np.float64)
    flow_x = np.bincount(key, vel[:, 0], size)
    flow_y = np.bincount(key, vel[:, 1], size)
    ahead = view.keys(pos + direction * p.view_m)
    seen = count[ahead]
    coming = -(flow_x[ahead] * direction[:, 0] + flow_y[ahead] * direction[:, 1]) / np.maximum(seen, 1.0)
    w = p.keep_right * np.clip(coming, 0.0, 1.5) * np.minimum(seen * 0.25, 1.0)
    ex, ey = direction[:, 0].copy(), direction[:, 1].copy()
    direction[:, 0] += ey * w  # to the right of (ex, ey) is (ey, -ex)
    direction[:, 1] -= ex * w
    length = np.sqrt(np.einsum("ij,ij->i", direction, direction))
    direction /= np.maximum(length, 1e-9)[:, None]


def _cap_length(v: FloatArray, cap: FloatArray) -> None:
    """Scale rows of ``v`` (in place) so that no row is longer than ``cap``."""
    length = np.sqrt(np.einsum("ij,ij->i", v, v))
    over = length > cap
    if over.any():
        v[over] *= (cap[over] / length[over])[:, None]


def _neighbours(crowd: Crowd, env: Environment, moving: NDArray[np.bool_], rows: IntArray) -> Contacts:
    """Pairs within look-ahead range; mascots (immovable, large) are looked up separately."""
    p = env.params
    pos, radius = crowd.pos, crowd.radius
    everyone_moves = rows.size == crowd.n
    sub = pos if everyone_moves else pos[rows]
    index = CellIndex.build(env.grid, sub, env.hint)
    ri, rj = index.ranked_pairs()
    ordered = sub[index.order]  # in cell order, so that neighbours are read from nearby memory
    ox, oy = ordered[:, 0].copy(), ordered[:, 1].copy()  # flat columns gather faster than rows
    dx = ox[rj] - ox[ri]
    dy = oy[rj] - oy[ri]
    dist2 = dx * dx + dy * dy
    near = np.flatnonzero(dist2 < p.look_m * p.look_m)
    d = np.stack([dx[near], dy[near]], axis=1)
    i, j, dist2 = index.order[ri[near]], index.order[rj[near]], dist2[near]
    if not everyone_moves:
        i, j = rows[i], rows[j]
        kin = np.flatnonzero(~moving)
        reach = int(np.ceil((radius[kin].max(initial=0.0) + p.visitor_radius_m + p.look_m) / env.grid.cell_m))
        q, k = index.around(pos[kin], reach)
        dk = pos[kin[q]] - pos[rows[k]]
        dist2k = np.einsum("ij,ij->i", dk, dk)
        reach_m = radius[kin[q]] + p.visitor_radius_m + p.look_m  # a mascot is seen from further away, by its size
        seen = dist2k < reach_m * reach_m
        i = np.concatenate([i, rows[k[seen]]])
        j = np.concatenate([j, kin[q[seen]]])
        d = np.concatenate([d, dk[seen]])
        dist2 = np.concatenate([dist2, dist2k[seen]])
    width = radius[i] + radius[j]
    if everyone_moves:  # no mascots: every pair moves both ways and shares overlaps equally
        ones, half = np.ones(i.size), np.full(i.size, 0.5)
        return Contacts(i, j, ones, ones, half, half, d, np.sqrt(dist2), width)
    mi = moving[i].astype(np.float64)
    mj = moving[j].astype(np.float64)
    total = np.maximum(mi + mj, 1.0)
    return Contacts(i, j, mi, mj, mi / total, mj / total, d, np.sqrt(dist2), width)


def _sides(c: Contacts) -> tuple[tuple[IntArray, IntArray, FloatArray, FloatArray], ...]:
    """Each pair seen from both ends: (me, other, other - me, weight of me moving)."""
    return (c.i, c.j, c.d, c.mi), (c.j, c.i, -c.d, c.mj)


def _steer_and_limit(direction: FloatArray, vel: FloatArray, want: FloatArray, resting: NDArray[np.bool_],
                     c: Contacts, p: StepParams, n: int) -> tuple[FloatArray, FloatArray]:
    """Anticipate (turn ``direction`` in place); return the speed each agent may walk at, and the
    velocity with which people standing in someone's way step aside.

    Turning: away from people ahead who are in one's way and slower than one wants to walk,
    or coming towards one. The turn grows as the other comes closer, with the difference
    between the speed one wants and the other's speed along one's way, and as the other is
    more squarely in one's path. Who passes on which side is settled by where the other is:
    one steps away from the side the other is on, and from someone coming towards one to the
    right unless the other is clearly (``keep_right_m``) on one's right already, so two people
    meeting head-on pick opposite sides. Walkers behind a person at the same speed do not
    turn, so lanes, once formed, hold.

    Making way: a person at rest (arrived, or wanting less than ``standing_mps``) right in front of
    someone walking (within ``make_way_m``) steps aside, away from the walker's path, so a
    walker is not stuck behind a group that has arrived. They return to their spot after.

    Speed: the collision-free speed model's rule along the turned direction, the free gap
    to the closest neighbour in one's walking corridor divided by the time gap. People stop
    behind others instead of pushing.
    """
    limit = np.full(n, np.inf)
    shove = np.zeros((n, 2))
    if c.i.size == 0:
        return limit, shove
    width = c.width
    free = c.dist - width
    turn_x = np.zeros(n)
    turn_y = np.zeros(n)
    seen = []
    for me, other, d, moves in _sides(c):
        e = direction[me]
        along = e[:, 0] * d[:, 0] + e[:, 1] * d[:, 1]
        cross = e[:, 0] * d[:, 1] - e[:, 1] * d[:, 0]
        look = np.flatnonzero((along > 0) & (np.abs(cross) < width + 2 * p.keep_right_m) & (moves > 0))
        me_l, other_l, e_l, cross_l = me[look], other[look], e[look], cross[look]
        theirs = vel[other_l, 0] * e_l[:, 0] + vel[other_l, 1] * e_l[:, 1]
        closing = np.clip(want[me_l] - theirs, 0.0, 3.0)
        in_way = 1.0 - np.abs(cross_l) / (width[look] + 2 * p.keep_right_m)
        near = np.maximum(1.0 - free[look] * (1.0 / p.look_m), 0.0)
        # Oncoming: keep right unless the other is already clearly on one's right. Slower
        # ahead in one's own direction: pass on the side with more room (no bias, or a
        # whole group would drift to one side).
        tie = np.where(theirs < 0.0, -p.keep_right_m, 0.0)
        side = np.where(cross_l > tie, p.anticipate, -p.anticipate) * closing * in_way * near
        turn_x += np.bincount(me_l, e_l[:, 1] * side, n)
        turn_y -= np.bincount(me_l, e_l[:, 0] * side, n)
        # Someone standing right in one's way steps aside, away from one's path.
        aside = np.where(resting[other_l], np.maximum(1.0 - free[look] * (1.0 / p.make_way_m), 0.0), 0.0)
        aside *= np.where(cross_l > 0.0, p.make_way_mps, -p.make_way_mps) * in_way  # + : to my left
        shove[:, 0] -= np.bincount(other_l, e_l[:, 1] * aside, n)
        shove[:, 1] += np.bincount(other_l, e_l[:, 0] * aside, n)
        seen.append((look, me_l, d[look]))
    direction[:, 0] += turn_x
    direction[:, 1] += turn_y
    length = np.sqrt(np.einsum("ij,ij->i", direction, direction))
    direction /= np.maximum(length, 1e-9)[:, None]
    gap = np.maximum(free, 0.0) * (1.0 / p.time_gap_s)
    _headway(limit, direction, seen, c.dist, width, gap, p)
    blocked = np.flatnonzero((limit < p.blocked_share * want) & (want > p.standing_mps))
    if blocked.size:
        _find_a_way(direction, limit, want, blocked, c, gap, n)
    return limit, shove


def _headway(limit: FloatArray, direction: FloatArray, seen: list[tuple[IntArray, IntArray, FloatArray]],
             dist: FloatArray, width: FloatArray, gap: FloatArray, p: StepParams) -> None:
    """Lower ``limit`` (in place) to the gap to the nearest body in front, over the time gap."""
    for look, me_l, d_l in seen:
        e = direction[me_l]
        along = e[:, 0] * d_l[:, 0] + e[:, 1] * d_l[:, 1]
        across = np.abs(e[:, 0] * d_l[:, 1] - e[:, 1] * d_l[:, 0])
        # In front: in one's corridor, and within 60° of one's way (someone at one's shoulder,
        # met while turning past them, does not stop one).
        ahead = (along > 0.5 * dist[look]) & (across < width[look])
        np.minimum.at(limit, me_l[ahead], gap[look][ahead])


def _find_a_way(direction: FloatArray, limit: FloatArray, want: FloatArray, blocked: IntArray, c: Contacts,
                gap: FloatArray, n: int) -> None:
    """For agents stopped by someone in front, look for a freer way among ``WAY_ANGLES`` (in place).

    As in Moussaïd, Helbing and Theraulaz's (2011) heuristic: each blocked agent tries a few
    directions either side of its way and takes the one that gets it furthest towards its
    goal in the next moment, the free speed along it times the cosine of the turn. Only the
    blocked few are looked at, so the rest of the crowd pays nothing.
    """
    mine = np.zeros(n, bool)
    mine[blocked] = True
    best = limit[blocked].copy()
    best_dir = direction[blocked].copy()
    slot = np.full(n, -1, np.int64)
    slot[blocked] = np.arange(blocked.size)
    base = direction[blocked]
    # Every neighbour of each blocked agent, from both ends of the pairs, with where it lies
    # along and across the agent's way: a turn by an angle only mixes these two.
    around = []
    for me, _, d, moves in _sides(c):
        take = np.flatnonzero(mine[me] & (moves > 0))
        k = slot[me[take]]
        e, dk = base[k], d[take]
        along = e[:, 0] * dk[:, 0] + e[:, 1] * dk[:, 1]
        cross = e[:, 0] * dk[:, 1] - e[:, 1] * dk[:, 0]
        around.append((k, along, cross, c.width[take], gap[take]))
    for angle in WAY_ANGLES:
        cos, sin = np.cos(angle), np.sin(angle)
        turned = np.stack([base[:, 0] * cos - base[:, 1] * sin, base[:, 0] * sin + base[:, 1] * cos], axis=1)
        free_speed = np.full(blocked.size, np.inf)
        for k, along, cross, w, g in around:
            ahead = (cos * along + sin * cross > 0.0) & (np.abs(cos * cross - sin * along) < w)  # anyone in front
            np.minimum.at(free_speed, k[ahead], g[ahead])
        progress = np.minimum(free_speed, want[blocked]) * cos
        better = progress > best
        best = np.where(better, progress, best)
        best_dir[better] = turned[better]
        limit[blocked[better]] = free_speed[better]
    direction[blocked] = best_dir


def _separation(c: Contacts, p: StepParams, n: int) -> FloatArray:
    """Velocity (n, 2) pushing agents out of each other's personal space."""
    out = np.zeros((n, 2))
    if c.i.size == 0:
        return out
    unit = -c.d / np.maximum(c.dist, 1e-9)[:, None]  # from j towards i
    same = c.dist < 1e-9
    if same.any():  # exactly on top of each other: split along a fixed, index-dependent axis
        angle = (c.i[same] * 2.399963) % (2 * np.pi)
        unit[same] = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    depth = (c.width + p.personal_m - c.dist) * (1.0 / p.personal_m)
    push = unit * (p.separation_mps * np.minimum(depth, 2.0))[:, None]
    fi = push * c.mi[:, None]
    fj = push * -c.mj[:, None]
    for axis in (0, 1):
        out[:, axis] = np.bincount(c.i, fi[:, axis], n) + np.bincount(c.j, fj[:, axis], n)
    return out


def _yield_to_pinned(pos: FloatArray, c: Contacts, pinned: IntArray, n: int) -> IntArray:
    """After walls pushed some agents back, their neighbours give way (walls win over bodies).

    Returns the rows that may have moved.
    """
    mask = np.zeros(n, bool)
    mask[pinned] = True
    near = mask[c.i] | mask[c.j]
    if not near.any():
        return np.zeros(0, np.int64)
    c = c.subset(near)
    free_i = c.mi * ~mask[c.i]
    free_j = c.mj * ~mask[c.j]
    both = (free_i + free_j == 0) & (c.mi + c.mj > 0)  # two bodies at a wall: they share, along it
    free_i = np.where(both, c.mi, free_i)
    free_j = np.where(both, c.mj, free_j)
    total = free_i + free_j
    ok = total > 0
    c = c.subset(ok)
    sub = Contacts(c.i, c.j, c.mi, c.mj, free_i[ok] / total[ok], free_j[ok] / total[ok], c.d, c.dist, c.width)
    _project_overlaps(pos, sub, 4)
    return np.unique(np.concatenate([sub.i, sub.j]))


def _project_overlaps(pos: FloatArray, c: Contacts, passes: int) -> None:
    """Move overlapping bodies apart (in place), each by its share of the overlap.

    After the first pass only pairs within a few centimetres of touching are looked at: a
    pass moves a body by at most about its largest overlap, so pairs further apart than
    that cannot come to overlap, and a dense crowd settles in a few cheap passes.
    """
    if c.i.size == 0:
        return
    n = pos.shape[0]
    i, j, wi, wj, touch = c.i, c.j, c.wi, c.wj, c.width
    for k in range(passes):
        d = pos[i] - pos[j]
        dist = np.sqrt(np.einsum("ij,ij->i", d, d))
        overlap = touch - dist
        hit = overlap > 0.002
        if not hit.any():  # a few millimetres are left for the next step: not worth a pass
            return
        if k == 0:
            close = overlap > -0.05
            i, j, wi, wj, touch, d, dist, overlap, hit = (a[close] for a in (i, j, wi, wj, touch, d, dist, overlap, hit))
        unit = d / np.maximum(dist, 1e-9)[:, None]
        shift = unit * np.where(hit, overlap, 0.0)[:, None]
        si = shift * wi[:, None]
        sj = shift * wj[:, None]
        for axis in (0, 1):
            pos[:, axis] += np.bincount(i, si[:, axis], n) - np.bincount(j, sj[:, axis], n)
