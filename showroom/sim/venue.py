"""The venue of a scene as the simulation needs it: capsules, routes, zones and spots."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.scene.model import Scene
from showroom.scene.venue import Booth, Obstacle
from showroom.sim import geometry as geo
from showroom.sim.navigation import NAV_CELL_M, NavGrid, build_navigation, cell_centres
from showroom.sim.obstacles import Obstacles
from showroom.sim.spatial_hash import Grid

FloatArray = NDArray[np.float64]
_BOOTH_APPROACH_M = 0.7
_QUEUE_WIDTH_M = 0.6
_FENCE_HALF_M = 0.05  # a VIP zone's rope: only pass holders step over it


@dataclass(frozen=True)
class Destinations:
    """Navigation field id of each zone, booth, exit, selfie queue and scenario waypoint (scene order)."""

    zone: NDArray[np.int16]
    booth: NDArray[np.int16]
    exit: NDArray[np.int16]
    queue: NDArray[np.int16]
    waypoint: NDArray[np.int16]


@dataclass(frozen=True)
class VenueIndex:
    """Static geometry of one venue, built once per world."""

    size: tuple[float, float]
    obstacles: Obstacles
    fences: Obstacles | None
    nav: NavGrid
    dest: Destinations
    zones: list[FloatArray]
    zone_kind: list[str]
    booths: list[FloatArray]
    spawn_at: FloatArray
    spawn_radius: FloatArray
    exit_at: FloatArray
    exit_radius: FloatArray
    runway: FloatArray
    """The runway's centreline (no points: a crowd scenario without a runway)."""
    waypoint_a: FloatArray
    """Scenario waypoints as segments ``a``-``b`` (a spot has ``a == b``)."""
    waypoint_b: FloatArray
    waypoint_radius: FloatArray
    queue_head: FloatArray
    queue_dir: FloatArray
    queue_spacing: FloatArray

    def queue_slots(self, spot: NDArray[np.int64], rank: NDArray[np.int64]) -> FloatArray:
        """Floor position of place ``rank`` (0 = head) in the queue of selfie spot ``spot``."""
        return self.queue_head[spot] + (rank * self.queue_spacing[spot])[:, None] * self.queue_dir[spot]


@dataclass(frozen=True)
class Solids:
    """Every wall, obstacle and booth outline as segments ``a -> b``, each with the half
    thickness and the height (metres) of what it bounds."""

    a: FloatArray
    b: FloatArray
    half: FloatArray
    height: FloatArray

    @classmethod
    def of(cls, scene: Scene) -> Solids:
        """The solids of a scene's venue."""
        venue = scene.venue
        parts: list[tuple[FloatArray, FloatArray, float, float]] = []
        for wall in venue.walls:
            sa, sb = geo.polyline_segments(geo.as_points(wall.points), closed=wall.closed)
            parts.append((sa, sb, wall.thickness / 2, wall.height))
        solids: list[Obstacle | Booth] = [*venue.obstacles, *venue.booths]
        for solid in solids:
            sa, sb = geo.polyline_segments(geo.as_points(solid.polygon), closed=True)
            parts.append((sa, sb, 0.0, solid.height))
        return cls(np.vstack([np.zeros((0, 2))] + [p[0] for p in parts]),
                   np.vstack([np.zeros((0, 2))] + [p[1] for p in parts]),
                   np.concatenate([np.zeros(0)] + [np.full(len(p[0]), p[2]) for p in parts]),
                   np.concatenate([np.zeros(0)] + [np.full(len(p[0]), p[3]) for p in parts]))


def _capsules(scene: Scene) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Walls, obstacle and booth outlines, and the runway as (a, b, half) capsule arrays."""
    solids = Solids.of(scene)
    runway = scene.venue.runway
    if runway is None:
        return solids.a, solids.b, solids.half
    ra, rb = geo.polyline_segments(geo.as_points(runway.centerline))
    return (np.vstack([solids.a, ra]), np.vstack([solids.b, rb]),
            np.concatenate([solids.half, np.full(len(ra), runway.width / 2)]))


def build_venue(scene: Scene) -> VenueIndex:
    """Index a validated scene's venue for the simulation."""
    venue = scene.venue
    size = (float(venue.size[0]), float(venue.size[1]))
    obstacles = Obstacles.build(*_capsules(scene), size)
    grid = Grid.covering((0.0, 0.0), size, NAV_CELL_M)
    centres = cell_centres(grid)
    zones = [geo.as_points(z.polygon) for z in venue.zones]
    booths = [geo.as_points(bo.polygon) for bo in venue.booths]
    sources: list[NDArray[np.bool_]] = []
    sources += [geo.points_in_polygon(centres, z) for z in zones]
    for booth in booths:
        ring = geo.distance_to_polyline(centres, np.vstack([booth, booth[:1]]))
        sources.append((ring < _BOOTH_APPROACH_M + NAV_CELL_M) & ~geo.points_in_polygon(centres, booth))
    exit_at = np.array([e.at for e in venue.exits], np.float64).reshape(-1, 2)
    exit_radius = np.array([e.radius for e in venue.exits], np.float64)
    sources += [np.linalg.norm(centres - at, axis=1) < max(r, NAV_CELL_M) for at, r in zip(exit_at, exit_radius)]
    spots = venue.selfie_spots
    head = np.array([s.queue for s in spots], np.float64).reshape(-1, 2)
    away = head - np.array([s.at for s in spots], np.float64).reshape(-1, 2)
    qdir = away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)
    spacing = np.array([s.spacing for s in spots], np.float64)
    longest = max((m.selfie_capacity for m in scene.mascots), default=1)
    tail = head + qdir * (spacing * longest)[:, None]
    in_line = geo.distance_to_segments(centres, head, tail) < _QUEUE_WIDTH_M
    sources += list(in_line.T)
    waypoints = scene.crowd.waypoints
    waypoint_a = np.array([w.ends[0] for w in waypoints], np.float64).reshape(-1, 2)
    waypoint_b = np.array([w.ends[1] for w in waypoints], np.float64).reshape(-1, 2)
    waypoint_radius = np.array([w.radius for w in waypoints], np.float64)
    sources += [geo.distance_to_segments(centres, a[None], b[None])[:, 0] < max(r, NAV_CELL_M)
                for a, b, r in zip(waypoint_a, waypoint_b, waypoint_radius)]
    nav = build_navigation(obstacles, sources, grid)
    vip = [geo.polyline_segments(z, closed=True) for z, kind in zip(zones, [z.kind for z in venue.zones]) if kind == "vip"]
    fences = None
    if vip:
        fences = Obstacles.build(np.vstack([a for a, _ in vip]), np.vstack([b for _, b in vip]),
                                 np.full(sum(len(a) for a, _ in vip), _FENCE_HALF_M), size)
    counts = np.cumsum([0, len(zones), len(booths), len(exit_at), len(spots), len(waypoints)])
    ids = [np.arange(counts[i], counts[i + 1], dtype=np.int16) for i in range(5)]
    return VenueIndex(
        size=size,
        obstacles=obstacles,
        fences=fences,
        nav=nav,
        dest=Destinations(*ids),
        zones=zones,
        zone_kind=[z.kind for z in venue.zones],
        booths=booths,
        spawn_at=np.array([s.at for s in venue.spawns], np.float64).reshape(-1, 2),
        spawn_radius=np.array([s.radius for s in venue.spawns], np.float64),
        exit_at=exit_at,
        exit_radius=exit_radius,
        runway=geo.as_points(venue.runway.centerline) if venue.runway else np.zeros((0, 2)),
        waypoint_a=waypoint_a,
        waypoint_b=waypoint_b,
        waypoint_radius=waypoint_radius,
        queue_head=head,
        queue_dir=qdir,
        queue_spacing=spacing,
    )


def sample_in_polygon(rng: np.random.Generator, polygon: FloatArray, count: int) -> FloatArray:
    """``count`` uniform random points inside a polygon (batched rejection sampling)."""
    lo, hi = polygon.min(axis=0), polygon.max(axis=0)
    out = np.empty((0, 2))
    for _ in range(64):  # bounded: each round keeps a fixed share of candidates
        if out.shape[0] >= count:
            break
        need = count - out.shape[0]
        cand = rng.uniform(lo, hi, size=(max(2 * need, 16), 2))
        out = np.vstack([out, cand[geo.points_in_polygon(cand, polygon)]])
    if out.shape[0] < count:
        raise ValueError("polygon too thin to sample")
    return out[:count]


def sample_in_discs(rng: np.random.Generator, at: FloatArray, radius: FloatArray, which: NDArray[np.int64]) -> FloatArray:
    """One uniform random point in disc ``which[k]`` for each k."""
    angle = rng.uniform(0, 2 * np.pi, which.size)
    r = radius[which] * np.sqrt(rng.uniform(0, 1, which.size))
    return at[which] + np.stack([np.cos(angle), np.sin(angle)], axis=1) * r[:, None]


def around_booth(rng: np.random.Generator, booth: FloatArray, count: int) -> FloatArray:
    """Points just outside a booth's outline, where a visitor would stand to look at it."""
    a, b = geo.polyline_segments(booth, closed=True)
    length = np.linalg.norm(b - a, axis=1)
    edge = rng.choice(len(a), size=count, p=length / length.sum())
    t = rng.uniform(0.1, 0.9, count)[:, None]
    point = a[edge] + (b[edge] - a[edge]) * t
    d = b[edge] - a[edge]
    normal = np.stack([d[:, 1], -d[:, 0]], axis=1) / np.maximum(length[edge], 1e-9)[:, None]
    centre = booth.mean(axis=0)
    flip = np.einsum("ij,ij->i", normal, point - centre) < 0
    normal[flip] *= -1
    return point + normal * _BOOTH_APPROACH_M
