"""A world: one venue, its show and its crowd, advanced one fixed tick at a time.

The server runs one world per shard; ``showroom sim`` runs one headless. The show
clock is ``tick * dt`` (an integer count, so seeking and stepping agree exactly).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from showroom.protocol.limits import TICK_HZ
from showroom.scene.model import Scene
from showroom.sim import behaviour
from showroom.sim.crowd import VISITOR_RADIUS_M, Crowd, Role, State
from showroom.sim.geometry import as_points, polygon_area
from showroom.sim.groups import Routes, desired_speeds, place_apart
from showroom.sim.navigation import PointFields
from showroom.sim.step import Environment, StepParams, step
from showroom.sim.timeline import MascotFrame, Show, compile_show
from showroom.sim.venue import VenueIndex, build_venue, sample_in_discs, sample_in_polygon

DT_S = 1.0 / TICK_HZ
"""Length of one tick, seconds."""


class World:
    """The simulated event: static venue, compiled show, crowd state and a seeded generator."""

    def __init__(self, scene: Scene, *, seed: int | None = None, dt_s: float = DT_S,
                 params: StepParams | None = None, venue: VenueIndex | None = None,
                 show: Show | None = None) -> None:
        """A world for ``scene``; ``venue`` and ``show`` (built from the same scene) may be shared
        between worlds, e.g. by every shard of an event: both are immutable, and building the
        venue's navigation fields takes a noticeable fraction of a second."""
        self.scene = scene
        self.dt_s = dt_s
        self.show = show if show is not None else compile_show(scene)
        self.venue = venue if venue is not None else build_venue(scene)
        self.env = Environment.for_floor(self.venue.obstacles, self.venue.nav, params)
        self.env.fences = self.venue.fences
        self.env.points = PointFields(self.venue.nav)
        self.rng = np.random.default_rng(scene.event.seed if seed is None else seed)
        self.tick = 0
        self.show_time = 0.0
        self.crowd = Crowd()
        self.crowd.add(
            self.show.home,
            radius=np.array([m.radius for m in scene.mascots]),
            max_speed=np.array([m.walk_speed for m in scene.mascots]),
            role=Role.MASCOT,
            heading=self.show.home_heading,
        )
        self.mascots = slice(0, len(scene.mascots))
        self.selfie_capacity = np.array([m.selfie_capacity for m in scene.mascots], np.int64)
        self.photo_seconds = np.array([m.photo_seconds for m in scene.mascots], np.float64)
        self.next_photo_at = np.zeros(len(scene.venue.selfie_spots))
        self.selfies_served = 0
        self.frame = self.show.mascots_at(0.0)
        self.routes = Routes.compile(scene, self.venue)
        self.groups_started = np.zeros(len(scene.crowd.groups), bool)
        self.left_by_route = 0
        self.left_at_exit = np.zeros(len(scene.venue.exits), np.int64)

    @property
    def clock(self) -> float:
        """Show time in seconds."""
        return self.tick * self.dt_s

    def seek(self, t_s: float) -> None:
        """Jump the show clock to ``t_s`` and put every mascot where the show has it then."""
        self.tick = int(round(t_s / self.dt_s))
        self.set_show_time(self.clock)

    def set_show_time(self, t_s: float) -> None:
        """Put the mascots where the show has them at ``t_s`` without advancing the crowd."""
        self.show_time = t_s
        self._place_mascots()

    def use_show(self, show: Show) -> None:
        """Run an edited timeline from now on (a hot reload); its scene keeps this world's venue and mascots.

        The venue, obstacles and crowd stay as they are, so visitors keep their places; the
        mascots go where the new show has them at the next step.
        """
        self.scene = show.scene
        self.show = show

    def step(self, show_t: float | None = None) -> None:
        """Advance one tick: mascots from the show, audience intents, then the crowd step.

        ``show_t`` sets the show clock for this tick (a server's event clock, which a host
        may pause or seek); by default the show plays along with the ticks.
        """
        self.tick += 1
        if self.env.points is not None:
            self.env.points.new_tick()
        self.show_time = self.clock if show_t is None else show_t
        self._place_mascots()
        self._start_groups()
        behaviour.update(self, self.frame, self.dt_s)
        through = self.routes.advance(self.crowd)
        if through.size:
            self.left_by_route += int(through.size)
            self.left_at_exit += np.bincount(through, minlength=self.left_at_exit.size)
        gone = self.crowd.state == State.GONE
        if gone.any():
            self.crowd.keep(~gone)
        step(self.crowd, self.env, self.dt_s)

    def _place_mascots(self) -> None:
        frame: MascotFrame = self.show.mascots_at(self.show_time)
        m = self.mascots
        self.crowd.vel[m] = (frame.pos - self.crowd.pos[m]) / self.dt_s
        self.crowd.pos[m] = frame.pos
        self.crowd.heading[m] = frame.heading
        self.crowd.phase[m] = (frame.walked_m / self.env.params.stride_m) % 1.0
        self.crowd.goal[m] = frame.pos
        self.frame = frame

    def spawn(self, count: int, *, role: Role = Role.VISITOR, state: State = State.WATCH,
              vip: bool = False, ids: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        """Add visitors at the spawn points and send them to ``state`` (watch or wander)."""
        venue = self.venue
        if len(venue.spawn_at) == 0:
            raise ValueError(f"scene {self.scene.event.id!r} has no spawns: visitors have no way in")
        which = self.rng.integers(0, len(venue.spawn_at), count)
        pos = sample_in_discs(self.rng, venue.spawn_at, venue.spawn_radius, which)
        return self._add(pos, role, state, vip, ids)

    def populate(self, count: int, *, role: Role = Role.VISITOR, vip: bool = False) -> NDArray[np.int64]:
        """Add visitors already standing in the audience zones, as if they arrived earlier."""
        venue = self.venue
        public = [z for z, kind in zip(venue.zones, venue.zone_kind) if kind != "vip"] or venue.zones
        area = np.array([polygon_area(z) for z in public])
        which = self.rng.choice(len(public), size=count, p=area / area.sum())
        pos = np.vstack([sample_in_polygon(self.rng, public[z], int((which == z).sum())) for z in range(len(public))])
        return self._add(pos, role, State.WATCH, vip)

    def _add(self, pos: np.ndarray, role: Role, state: State, vip: bool,
             ids: NDArray[np.int64] | None = None) -> NDArray[np.int64]:
        radius = np.full(pos.shape[0], VISITOR_RADIUS_M)
        self.venue.obstacles.push_out(pos, radius, np.arange(pos.shape[0]), passes=4)
        wanted = self.scene.crowd.desired_speed
        if role == Role.VISITOR and state == State.CONTROLLED:
            speed: NDArray[np.float64] | float = wanted.mean  # a person at the keys walks at the same speed every visit
        else:
            speed = desired_speeds(self.rng, wanted, pos.shape[0])
        ids = self.crowd.add(pos, radius=VISITOR_RADIUS_M, max_speed=speed, role=role,
                             state=State.IDLE, vip=vip, ids=ids)
        rows = self.crowd.index_of(ids)
        if state == State.WANDER:
            behaviour.go_wander(self, rows)
        elif state == State.WATCH:
            behaviour.go_watch(self, rows)
        else:
            self.crowd.state[rows] = state
        return ids

    def _start_groups(self) -> None:
        """Put the scenario groups whose start time has come on the floor, walking their routes."""
        if self.groups_started.all():
            return
        groups = self.scene.crowd.groups
        due = [k for k, g in enumerate(groups) if not self.groups_started[k] and g.start <= self.clock]
        for k in due:
            group = groups[k]
            area = as_points(group.area)
            count = group.count if group.count is not None else int(round((group.density or 0.0) * polygon_area(area)))
            pos = place_apart(self.rng, area, count, VISITOR_RADIUS_M)
            self.venue.obstacles.push_out(pos, np.full(count, VISITOR_RADIUS_M), np.arange(count), passes=4)
            speed = desired_speeds(self.rng, group.speed or self.scene.crowd.desired_speed, count)
            ids = self.crowd.add(pos, radius=VISITOR_RADIUS_M, max_speed=speed, state=State.CONTROLLED)
            rows = self.crowd.index_of(ids)
            self.routes.send(self.crowd, rows, self.routes.start(k, pos, loop=group.loop))
            first = self.crowd.goal[rows] - pos
            self.crowd.heading[rows] = np.arctan2(-first[:, 0], first[:, 1])
            self.groups_started[k] = True
