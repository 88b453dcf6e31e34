"""Ambient audience behaviour: who wanders, who watches, who queues for a selfie, who leaves.

Each function acts on all agents in one state at once; random choices are vectorised
draws from the world's generator, so a run is deterministic for a given seed. Agents in
state ``CONTROLLED`` (visitors steered by a person or a bot over the network) are left
alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.codes import Activity
from showroom.sim import geometry as geo
from showroom.sim.crowd import NO_FIELD, Crowd, Role, State
from showroom.sim.timeline import MascotFrame, Show
from showroom.sim.venue import VenueIndex, around_booth, sample_in_polygon

IntArray = NDArray[np.int64]


class World(Protocol):
    """What audience behaviour reads and changes: :class:`showroom.sim.world.World` as seen from here."""

    crowd: Crowd
    venue: VenueIndex
    rng: np.random.Generator
    show: Show
    selfie_capacity: NDArray[np.int64]
    """Per mascot: places in its selfie queue."""
    photo_seconds: NDArray[np.float64]
    """Per mascot: how long one selfie takes."""
    next_photo_at: NDArray[np.float64]
    """Per selfie spot: show time of the next ambient photo."""
    selfies_served: int
    left_at_exit: NDArray[np.int64]
    """Per exit: how many people have left through it."""

    @property
    def clock(self) -> float:
        """Show time in seconds."""

WANDER_TO_WATCH = 0.6
"""Share of wanderers who go to watch the show after reaching a booth."""
WATCH_TO_WANDER_PER_S = 1 / 180
"""Rate at which a watcher leaves their spot to visit a booth."""
JOIN_QUEUE_PER_S = 1 / 30
"""Rate at which a watcher joins an open selfie queue that has room."""
JOIN_QUEUE_WITHIN_M = 15.0
"""Only watchers this close to a selfie queue join it (the ones who can see it)."""
LEAVE_PER_S = 1 / 60
"""Rate at which visitors leave once the show is over."""


def update(world: World, frame: MascotFrame, dt_s: float) -> None:
    """Advance every ambient agent's intent by one tick and refresh its goal."""
    crowd = world.crowd
    ambient = (crowd.role != Role.MASCOT) & (crowd.state != State.CONTROLLED)
    rng = world.rng
    t = world.clock

    def chance(rows: IntArray, rate_per_s: float) -> IntArray:
        return rows[rng.random(rows.size) < rate_per_s * dt_s]

    state = crowd.state.copy()  # decide from the state at the start of the tick
    arrived = crowd.arrived & ambient
    wander_done = np.flatnonzero(arrived & (state == State.WANDER))
    settled = np.flatnonzero(arrived & (state == State.WATCH) & (crowd.nav_field != NO_FIELD))
    watching = np.flatnonzero(ambient & (state == State.WATCH))
    left = _through_exits(world, np.flatnonzero(ambient & (state == State.LEAVE)))

    to_watch = wander_done[rng.random(wander_done.size) < WANDER_TO_WATCH]
    go_watch(world, to_watch)
    go_wander(world, np.setdiff1d(wander_done, to_watch, assume_unique=True))
    stand_and_face_runway(world, settled)
    go_wander(world, chance(watching, WATCH_TO_WANDER_PER_S))

    _selfie_queues(world, frame, ambient, chance, t)

    if t > world.show.duration_s:
        staying = np.flatnonzero(ambient & (crowd.state != State.LEAVE) & (crowd.state != State.GONE))
        go_leave(world, chance(staying, LEAVE_PER_S))
    crowd.state[left] = State.GONE


def _through_exits(world: World, leaving: IntArray) -> IntArray:
    """Those of ``leaving`` who stepped into an exit's circle: they are out, counted per exit."""
    venue = world.venue
    if leaving.size == 0 or venue.exit_at.shape[0] == 0:
        return leaving[:0]
    gap = np.linalg.norm(world.crowd.pos[leaving, None, :] - venue.exit_at[None], axis=-1) - venue.exit_radius[None]
    out = gap.min(axis=1) < 0.0
    world.left_at_exit += np.bincount(gap[out].argmin(axis=1), minlength=venue.exit_at.shape[0])
    return leaving[out]


def go_watch(world: World, rows: IntArray) -> None:
    """Send agents to a random spot in an audience zone they may enter (VIP zones for VIPs)."""
    if rows.size == 0 or not world.venue.zones:
        return
    crowd, venue, rng = world.crowd, world.venue, world.rng
    kinds = np.array(venue.zone_kind)
    public = np.flatnonzero(kinds != "vip")
    vip_ok = np.arange(len(kinds))
    choice = np.where(
        crowd.vip[rows],
        vip_ok[rng.integers(0, vip_ok.size, rows.size)],
        public[rng.integers(0, max(public.size, 1), rows.size)] if public.size else -1,
    )
    keep = choice >= 0
    _send(world, rows[keep], choice[keep], State.WATCH, venue.dest.zone,
          lambda zone, count: sample_in_polygon(rng, venue.zones[zone], count))


def go_wander(world: World, rows: IntArray) -> None:
    """Send agents to look at a random booth (or, with no booths, to another zone)."""
    if rows.size == 0:
        return
    venue, rng = world.venue, world.rng
    if not venue.booths:
        go_watch(world, rows)
        return
    def near_booth(booth: int, count: int) -> np.ndarray:
        goal = around_booth(rng, venue.booths[booth], count)
        venue.obstacles.push_out(goal, np.full(count, 0.25), np.arange(count))
        return goal

    _send(world, rows, rng.integers(0, len(venue.booths), rows.size), State.WANDER, venue.dest.booth, near_booth)


def _send(world: World, rows: IntArray, choice: IntArray, state: State, fields: NDArray[np.int16],
          goals: Callable[[int, int], np.ndarray]) -> None:
    """Give ``rows`` the intent ``state`` towards destination ``choice[k]``, one batch per destination."""
    crowd = world.crowd
    for dest in np.unique(choice):  # a handful of zones or booths, never one pass per agent
        take = rows[choice == dest]
        crowd.goal[take] = goals(int(dest), take.size)
        crowd.nav_field[take] = fields[dest]
    crowd.state[rows] = state
    crowd.arrived[rows] = False
    crowd.since[rows] = world.clock


def go_leave(world: World, rows: IntArray) -> None:
    """Send agents to the nearest exit."""
    if rows.size == 0:
        return
    crowd, venue = world.crowd, world.venue
    dist = np.linalg.norm(crowd.pos[rows, None, :] - venue.exit_at[None], axis=-1)
    nearest = dist.argmin(axis=1)
    crowd.goal[rows] = venue.exit_at[nearest]
    crowd.nav_field[rows] = venue.dest.exit[nearest]
    crowd.state[rows] = State.LEAVE
    crowd.arrived[rows] = False


def stand_and_face_runway(world: World, rows: IntArray) -> None:
    """Agents that reached their watching spot stay there, facing the nearest runway point."""
    if rows.size == 0:
        return
    crowd = world.crowd
    crowd.goal[rows] = crowd.pos[rows]
    crowd.nav_field[rows] = NO_FIELD
    if world.venue.runway.shape[0] < 2:
        return
    a, b = geo.polyline_segments(world.venue.runway)
    p = crowd.pos[rows]
    closest, _ = geo.segment_closest(p[:, None, :], a[None], b[None])
    dist = np.linalg.norm(p[:, None, :] - closest, axis=-1)
    near = closest[np.arange(rows.size), dist.argmin(axis=1)]
    look = near - p
    crowd.heading[rows] = np.arctan2(-look[:, 0], look[:, 1])


def _selfie_queues(world: World, frame: MascotFrame, ambient: np.ndarray, chance, t: float) -> None:
    """Watchers join open selfie queues; heads are served one photo at a time; queues close."""
    crowd, venue = world.crowd, world.venue
    open_spot = np.full(len(venue.queue_head), -1, np.int64)
    serving = np.flatnonzero(frame.activity == Activity.SELFIE)
    open_spot[frame.spot[serving]] = serving
    queued = np.flatnonzero(ambient & (crowd.state == State.QUEUE))
    closed = queued[open_spot[crowd.target[queued]] < 0]
    go_watch(world, closed)
    if serving.size == 0:
        return
    watchers = np.flatnonzero(ambient & (crowd.state == State.WATCH))
    joining = chance(watchers, JOIN_QUEUE_PER_S)
    if joining.size:
        spots = frame.spot[serving]
        pick = spots[world.rng.integers(0, spots.size, joining.size)]
        near = np.linalg.norm(crowd.pos[joining] - venue.queue_head[pick], axis=1) < JOIN_QUEUE_WITHIN_M
        joining, pick = joining[near], pick[near]
        crowd.target[joining] = pick
        crowd.state[joining] = State.QUEUE
        crowd.since[joining] = t
        crowd.arrived[joining] = False
    queued = np.flatnonzero(ambient & (crowd.state == State.QUEUE))
    spot = crowd.target[queued].astype(np.int64)
    # People in the line keep their order along it; people still walking over line up behind.
    head = venue.queue_head[spot]
    rel, qdir = crowd.pos[queued] - head, venue.queue_dir[spot]
    along = np.einsum("ij,ij->i", rel, qdir)
    across = np.abs(qdir[:, 0] * rel[:, 1] - qdir[:, 1] * rel[:, 0])
    walking_over = (across > 0.5) | (along < -1.0)
    place = np.where(walking_over, 1e6 + crowd.since[queued], along)  # in line: by where they stand
    order = np.lexsort((crowd.ids[queued], place, spot))
    queued, spot = queued[order], spot[order]
    first = np.searchsorted(spot, spot, side="left")
    rank = np.arange(queued.size) - first
    mascot = open_spot[spot]
    capacity = world.selfie_capacity[mascot]
    over = rank >= capacity
    go_watch(world, queued[over])
    queued, spot, rank, mascot = queued[~over], spot[~over], rank[~over], mascot[~over]
    crowd.goal[queued] = venue.queue_slots(spot, rank)
    crowd.nav_field[queued] = venue.dest.queue[spot]
    heads = queued[(rank == 0) & crowd.arrived[queued]]
    head_spot = crowd.target[heads]
    ready = heads[world.next_photo_at[head_spot] <= t]
    if ready.size:
        served_spot = crowd.target[ready]
        world.next_photo_at[served_spot] = t + world.photo_seconds[open_spot[served_spot]]
        world.selfies_served += int(ready.size)
        go_wander(world, ready)
