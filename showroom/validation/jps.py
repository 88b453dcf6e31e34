"""Run a crowd scenario with JuPedSim, measured by the same recorder as our model.

JuPedSim (https://www.jupedsim.org) is an optional extra, ``pip install 'showroom[bench]'``:
it and shapely are imported only when a run asks for them. The scene becomes one JuPedSim
simulation with its collision-free speed model (Tordeux et al. 2016, default parameters,
radius 0.2 m, time gap 1 s):

* the walkable area is the floor minus the walls (buffered by half their thickness, round
  ends), obstacles, booths and the runway, as :func:`showroom.sim.venue.build_venue` sees them;
* each group is placed and given desired speeds exactly as our :class:`~showroom.sim.world.World`
  does (the same generator draws, in the same order, and the same push out of walls);
* each person walks the group's route step by step as ours do: our route table
  (:class:`~showroom.sim.groups.Routes`) says where a loop is joined, when a step is reached
  and which comes next, and JuPedSim walks them to it (see :class:`_Plan`).

Each step the agents' positions, and velocities from the change in position since the
previous step, go to :class:`~showroom.validation.record.Recorder` just as in
:func:`showroom.validation.run.run_ours`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from showroom.scene.model import Scene
from showroom.scene.venue import Booth, Obstacle
from showroom.sim.crowd import VISITOR_RADIUS_M
from showroom.sim.geometry import as_points, polygon_area, segment_closest
from showroom.sim.groups import Routes, desired_speeds, place_apart
from showroom.sim.venue import build_venue
from showroom.sim.world import DT_S
from showroom.validation.record import Record, Recorder

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

INSTALL_HINT = "pip install 'showroom[bench]'"
SUBSTEPS = 5
"""JuPedSim steps per recorded step: 0.01 s, its recommended time step, within our 0.05 s tick."""
_QUAD_SEGS = 3
"""Segments per quarter circle of a wall's round ends and bends: such a polygon lies within
0.7 cm of the round end of a 0.4 m wall. JuPedSim's step time grows with the walkable area's
corners (the default 16 segments make a bottleneck run three times slower)."""
_ADD_TRIES = 4
_CLEAR_M = 0.005
"""Margin kept between a starting agent and the walkable area's edge (JuPedSim refuses agents
closer than their radius to it; our push out leaves them at exactly the radius)."""


def available() -> str | None:
    """JuPedSim's version when it and shapely can be imported, else None."""
    try:
        import jupedsim as jps
        import shapely  # noqa: F401  (jupedsim needs it; checked so a half install reads as missing)
    except ImportError:
        return None
    return str(jps.__version__)


def walkable_area(scene: Scene) -> Any:
    """The floor minus every solid, as one shapely polygon (possibly with holes) holding the groups.

    Walls and a runway split a floor into pieces (a corridor between two walls that reach
    the floor's edges leaves strips outside it; a ring corridor leaves its inside and outside).
    JuPedSim needs one connected walkable area per simulation, so the piece that holds the
    groups' start areas is kept. Should the groups start in several pieces, the largest of
    them is kept and people placed outside it are left out of the run (with a warning): each
    piece would need a simulation of its own.
    """
    import shapely

    venue = scene.venue
    solids = []
    for wall in venue.walls:
        pts = [tuple(p) for p in wall.points]
        if wall.closed and pts[0] != pts[-1]:
            pts.append(pts[0])
        solids.append(shapely.LineString(pts).buffer(wall.thickness / 2, quad_segs=_QUAD_SEGS, cap_style="round"))
    outlines: list[Obstacle | Booth] = [*venue.obstacles, *venue.booths]
    for solid in outlines:
        solids.append(shapely.make_valid(shapely.Polygon(solid.polygon)))
    if venue.runway is not None:
        solids.append(shapely.LineString(venue.runway.centerline).buffer(venue.runway.width / 2, quad_segs=_QUAD_SEGS,
                                                                            cap_style="round"))
    floor = shapely.box(0.0, 0.0, float(venue.size[0]), float(venue.size[1]))
    walk = floor.difference(shapely.unary_union(solids)) if solids else floor
    pieces = [g for g in getattr(walk, "geoms", [walk]) if isinstance(g, shapely.Polygon) and g.area > 0]
    if not pieces:
        raise ValueError(f"scene {scene.event.id!r} has no walkable floor left between its solids")
    starts = [shapely.make_valid(shapely.Polygon(g.area)) for g in scene.crowd.groups]
    used = [p for p in pieces if any(p.intersection(s).area > 1e-6 for s in starts)]
    return max(used or pieces, key=lambda p: p.area)


def run_jupedsim(scene: Scene, seconds: float, *, seed: int = 1, dt_s: float = DT_S,
                 substeps: int = SUBSTEPS) -> Record:
    """Run the scene's crowd scenario with JuPedSim for at most ``seconds`` (until everyone has left).

    The run is recorded every ``dt_s`` (our tick) and JuPedSim steps ``substeps`` times in
    between. Its collision-free speed model needs the short step: at 0.05 s a body in a
    crowd pressing on a wall moves up to 11 cm into it (3 cm at 0.01 s) and the flow through
    a pressed 0.8 m door comes out a third lower (0.63 instead of 0.98 persons/s), while
    steps of 0.025 s or shorter agree within a few per cent.
    """
    try:
        import jupedsim as jps
        import shapely
    except ImportError as err:
        raise RuntimeError(f"JuPedSim is not installed: {INSTALL_HINT}") from err
    if substeps < 1:
        raise ValueError(f"substeps must be at least 1, got {substeps}")

    venue = build_venue(scene)  # the same obstacles our World pushes people out of and the recorder measures
    routes = Routes.compile(scene, venue)  # our route table: where each step is, its reach, the step after
    walk = walkable_area(scene)
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=walk, dt=dt_s / substeps)
    plan = _Plan.build(jps, shapely, sim, routes, walk)

    # The same generator as World(scene, seed=seed). In a scenario (groups, no visitors) only
    # the groups draw from it, at their start and in the same order, so every group starts
    # at the very positions and with the very desired speeds it does in our run.
    rng = np.random.default_rng(seed)
    rec = Recorder(scene, venue.obstacles, dt_s)
    groups = scene.crowd.groups
    started = np.zeros(len(groups), bool)
    track = _Track()
    left_out = 0
    ids: IntArray = np.zeros(0, np.int64)
    pos: FloatArray = np.zeros((0, 2))
    for tick in range(1, round(seconds / dt_s) + 1):
        clock = tick * dt_s
        for k, group in enumerate(groups):
            if started[k] or group.start > clock:
                continue
            area = as_points(group.area)
            count = group.count if group.count is not None else round((group.density or 0.0) * polygon_area(area))
            start = place_apart(rng, area, count, VISITOR_RADIUS_M)
            venue.obstacles.push_out(start, np.full(count, VISITOR_RADIUS_M), np.arange(count), passes=4)
            speed = desired_speeds(rng, group.speed or scene.crowd.desired_speed, count)
            first = routes.start(k, start, loop=group.loop)
            start, inside = _clear_of_edge(shapely, walk, start)
            added = np.full(count, -1, np.int64)
            for i in np.flatnonzero(inside):
                params = jps.CollisionFreeSpeedModelAgentParameters(
                    desired_speed=float(speed[i]), radius=VISITOR_RADIUS_M,
                    journey_id=plan.journey[first[i]], stage_id=plan.stage[first[i]])
                start[i], added[i] = _add_agent(sim, params, start[i])
            new, placed = added[inside], start[inside]
            new, placed, steps = new[new >= 0], placed[new >= 0], first[inside][new >= 0]
            track.add(new, placed, steps)
            plan.advance(sim, routes, track, new, placed, [sim.agent(int(i)) for i in new])
            left_out += count - new.size
            started[k] = True
        sim.iterate(substeps)
        agents = list(sim.agents())  # the one pass over JuPedSim's agents: ~1 µs per attribute read
        table = np.array([(a.id, *a.position) for a in agents], np.float64).reshape(-1, 3)
        ids, pos = table[:, 0].astype(np.int64), table[:, 1:]
        vel = (pos - track.pos[ids]) / dt_s
        track.pos[ids] = pos
        rec(clock, ids, pos, vel)
        if started.all() and ids.size == 0:
            break
        # Who reached their step walks on to the next, before the next tick moves them (as
        # World.step: routes advance on the positions the last tick left).
        plan.advance(sim, routes, track, ids, pos, agents)
    if left_out:
        warnings.warn(f"{left_out} people of {scene.event.id!r} start outside JuPedSim's walkable area (or where "
                      "it would not take them) and were left out of its run", stacklevel=2)
    return rec.finish(ids, pos)


class _Track:
    """Per JuPedSim agent id: the last recorded position and the route step walked to (-1: none)."""

    def __init__(self) -> None:
        self.pos: FloatArray = np.zeros((0, 2))
        self.step: NDArray[np.int32] = np.zeros(0, np.int32)

    def add(self, ids: IntArray, pos: FloatArray, step: NDArray[np.int32]) -> None:
        top = int(ids.max(initial=-1)) + 1
        if top > self.step.size:
            size = max(top, 2 * self.step.size)
            self.pos = np.vstack([self.pos, np.full((size - self.pos.shape[0], 2), np.nan)])
            self.step = np.concatenate([self.step, np.full(size - self.step.size, -1, np.int32)])
        self.pos[ids] = pos
        self.step[ids] = step


@dataclass(frozen=True)
class _Plan:
    """JuPedSim's side of our route table: per step (row of :class:`Routes`), the journey and
    stage an agent walking to it follows, and for a gate the part of it agents aim at.

    Our routes decide, as in our runs, when a person has reached a step and what comes next
    (a spot within its radius, a gate within its radius of the line, the step after, round a
    loop); JuPedSim walks them there. A spot is a waypoint stage and an exit an exit stage,
    each in a journey of its own, so JuPedSim's routing finds the way round walls; people
    are switched to the next journey when ours says they are there, and an exit stage takes
    them out of the simulation (a disc of the exit's reach, the same test as ours). JuPedSim
    has no gates: people walking to one are steered directly (a direct steering stage) to
    the nearest point of its walkable part, as ours aim at it. People at the end of a route
    that does not leave stand where they are, steered to their own position.
    """

    journey: list[int]
    stage: list[int]
    gate: NDArray[np.bool_]
    aim_a: FloatArray
    aim_b: FloatArray
    """The part of each gate that people aim at (off the walls by a body's radius)."""
    steer_journey: int
    steer_stage: int

    @classmethod
    def build(cls, jps: Any, shapely: Any, sim: Any, routes: Routes, walk: Any) -> _Plan:
        steer_stage = sim.add_direct_steering_stage()
        steer_journey = sim.add_journey(jps.JourneyDescription([steer_stage]))
        rows = routes.a.shape[0]
        journey, stage = [steer_journey] * rows, [steer_stage] * rows
        gate = np.zeros(rows, bool)
        aim_a, aim_b = routes.a.copy(), routes.b.copy()
        clear = walk.buffer(-(VISITOR_RADIUS_M + _CLEAR_M))
        for r in range(rows):
            a, b, reach = routes.a[r], routes.b[r], float(routes.reach[r])
            if routes.leaves[r]:
                disc = _piece_near(shapely, shapely.Point(a).buffer(reach).intersection(walk), a)
                stage[r] = sim.add_exit_stage(disc)
            elif np.array_equal(a, b):
                stage[r] = sim.add_waypoint_stage((float(a[0]), float(a[1])), reach)
            else:
                part = _piece_near(shapely, shapely.LineString([a, b]).intersection(clear), (a + b) / 2)
                aim_a[r], aim_b[r] = np.asarray(part.coords, np.float64)[[0, -1]]
                gate[r] = True
                continue
            journey[r] = sim.add_journey(jps.JourneyDescription([stage[r]]))
        return cls(journey, stage, gate, aim_a, aim_b, steer_journey, steer_stage)

    def advance(self, sim: Any, routes: Routes, track: _Track, ids: IntArray, pos: FloatArray,
                agents: list[Any]) -> None:
        """Move the agents ``ids`` (at ``pos``; ``agents``, their JuPedSim handles) that reached their
        step on to the next, stop those at the end of their route, and aim those walking to a gate."""
        step = track.step[ids]
        walking = np.flatnonzero(step >= 0)
        if walking.size == 0:
            return
        rows = step[walking]
        off = pos[walking] - routes.goal(pos[walking], rows)
        there = (np.einsum("ij,ij->i", off, off) < routes.reach[rows] ** 2) & ~routes.leaves[rows]
        for i, row in zip(walking[there].tolist(), rows[there].tolist()):
            agent, nxt = int(ids[i]), int(routes.next[row])
            track.step[agent] = nxt
            if nxt >= 0:
                sim.switch_agent_journey(agent, self.journey[nxt], self.stage[nxt])
            else:  # the end of a route that does not leave: stand here
                sim.switch_agent_journey(agent, self.steer_journey, self.steer_stage)
                agents[i].target = (float(pos[i, 0]), float(pos[i, 1]))
        now = track.step[ids[walking]]
        aiming = walking[(now >= 0) & self.gate[np.maximum(now, 0)]]
        if aiming.size:
            rows = track.step[ids[aiming]]
            aim, _ = segment_closest(pos[aiming], self.aim_a[rows], self.aim_b[rows])
            for i, (x, y) in zip(aiming.tolist(), aim.tolist()):
                agents[i].target = (x, y)


def _add_agent(sim: Any, params: Any, at: FloatArray) -> tuple[FloatArray, int]:
    """Add an agent at ``at`` (or nearby), returning where and its id (-1 if JuPedSim would not take it).

    JuPedSim refuses a body that overlaps another. Ours may start a few centimetres inside a
    neighbour (two groups' areas that touch, or a place's wiggle), which our model resolves
    in its first steps; here such a person steps back from the nearest one before being added.
    """
    at = at.copy()
    for _ in range(_ADD_TRIES):
        params.position = (float(at[0]), float(at[1]))
        try:
            return at, int(sim.add_agent(params))
        except RuntimeError:
            near = sim.agents_in_range(params.position, 2 * VISITOR_RADIUS_M + _CLEAR_M)
            if not near:
                break  # refused for the walls, not for a neighbour
            other = np.array([sim.agent(j).position for j in near], np.float64)
            gap = at - other
            dist = np.linalg.norm(gap, axis=1)
            j = int(dist.argmin())
            at = other[j] + gap[j] / max(float(dist[j]), 1e-9) * (2 * VISITOR_RADIUS_M + 2 * _CLEAR_M)
    return at, -1


def _piece_near(shapely: Any, shape: Any, near: Any) -> Any:
    """The part of ``shape`` (a polygon or line, maybe in pieces) nearest the point ``near``."""
    pieces = [g for g in getattr(shape, "geoms", [shape]) if not g.is_empty and g.geom_type in ("Polygon", "LineString")]
    if not pieces:
        raise ValueError(f"a route step at {tuple(np.round(near, 2))} lies outside JuPedSim's walkable area")
    point = shapely.Point(near)
    return min(pieces, key=lambda g: (g.distance(point), -g.length))


def _clear_of_edge(shapely: Any, walk: Any, pos: FloatArray) -> tuple[FloatArray, NDArray[np.bool_]]:
    """``pos`` nudged to at least a radius and a margin from the walkable area's edge, and which lie inside it.

    Our push out leaves people touching a wall at exactly their radius from it, which JuPedSim
    refuses; the nudge is a few millimetres at most.
    """
    pos = pos.copy()
    edge = walk.boundary
    points = shapely.points(pos)
    inside = np.asarray(shapely.contains(walk, points), bool)
    need = VISITOR_RADIUS_M + _CLEAR_M
    gap = np.asarray(shapely.distance(points, edge), np.float64)
    close = np.flatnonzero(inside & (gap < need))
    if close.size:
        near = shapely.get_coordinates(shapely.shortest_line(edge, points[close]))[0::2]  # each line: edge -> point
        away = pos[close] - near
        norm = np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
        pos[close] = near + away / norm * need
    return pos, inside
