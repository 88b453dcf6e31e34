"""Where things stand: every point of a scene on the floor, mascots on the runway, visitors off it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np

from showroom.scene.base import Point
from showroom.scene.model import Scene
from showroom.scene.problems import Problem
from showroom.sim import geometry as geo

TOLERANCE_M = 0.05
"""A point this close outside the floor or the runway still counts as on it."""
_MANY_OFF_FLOOR = 3
"""More places than this off the floor are one mistake, most likely ``venue.size`` itself."""


class Outline(Protocol):
    """A named polygon on the floor: a zone, a booth or an obstacle."""

    @property
    def name(self) -> str: ...

    @property
    def polygon(self) -> Sequence[Point]: ...


def on_floor(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Which points (n, 2) lie on the floor, ``[0, w] x [0, d]`` give or take the tolerance."""
    width, depth = scene.venue.size
    return (
        (points[:, 0] >= -TOLERANCE_M) & (points[:, 0] <= width + TOLERANCE_M)
        & (points[:, 1] >= -TOLERANCE_M) & (points[:, 1] <= depth + TOLERANCE_M)
    )


def on_runway(scene: Scene, points: np.ndarray) -> np.ndarray:
    """Which floor points lie on the runway (within half its width of the centreline)."""
    runway = scene.venue.runway
    if runway is None:
        return np.zeros(len(points), bool)
    dist = geo.distance_to_polyline(geo.as_points(points), geo.as_points(runway.centerline))
    return dist <= runway.width / 2 + TOLERANCE_M


def fmt(point: np.ndarray) -> str:
    """A floor point as ``(x, y)`` with centimetres."""
    return f"({point[0]:.2f}, {point[1]:.2f})"


def _point(point: Point) -> np.ndarray:
    return geo.as_points([point])


def _outlines(scene: Scene) -> Iterator[tuple[str, Outline]]:
    venue = scene.venue
    sections: tuple[tuple[str, Sequence[Outline]], ...] = (
        ("zones", venue.zones), ("booths", venue.booths), ("obstacles", venue.obstacles),
    )
    for section, items in sections:
        for index, item in enumerate(items):
            yield f"venue.{section}[{index}].polygon", item


def _runway_edge(scene: Scene) -> np.ndarray:
    """The runway's centreline every 0.25 m and the corners of its segments, half its width to each side."""
    runway = scene.venue.runway
    if runway is None:
        return np.zeros((0, 2))
    centerline = geo.as_points(runway.centerline)
    a, b = geo.polyline_segments(centerline)
    direction = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1, keepdims=True), 1e-9)
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) * runway.width / 2
    return np.vstack([geo.sample_polyline(centerline, 0.25), a + normal, a - normal, b + normal, b - normal])


def _placed(scene: Scene) -> Iterator[tuple[str, str, np.ndarray]]:
    """Every place the scene puts on the floor: key path, what to say when it is off (``{at}``, ``{floor}``), points."""
    venue = scene.venue
    outside = "{at} is outside the {floor}"
    if venue.runway is not None:
        yield "venue.runway", "runway reaches outside the {floor} at {at}", _runway_edge(scene)
    for index, wall in enumerate(venue.walls):
        yield f"venue.walls[{index}].points", outside, geo.as_points(wall.points)
    for path, item in _outlines(scene):
        yield path, f"{item.name!r} reaches outside the floor at {{at}}", geo.sample_polygon(geo.as_points(item.polygon), 0.5)
    for index, route in enumerate(venue.paths):
        yield (f"venue.paths[{index}].points", f"path {route.name!r} leaves the {{floor}} at {{at}}",
               geo.sample_polyline(geo.as_points(route.points), 0.25))
    for section, spots in (("spawns", venue.spawns), ("exits", venue.exits)):
        for index, spot in enumerate(spots):
            yield f"venue.{section}[{index}].at", outside, _point(spot.at)
    for index, selfie_spot in enumerate(venue.selfie_spots):
        yield f"venue.selfie_spots[{index}].at", outside, _point(selfie_spot.at)
        yield f"venue.selfie_spots[{index}].queue", outside, _point(selfie_spot.queue)
    for index, mascot in enumerate(scene.mascots):
        yield f"mascots[{index}].home", outside, _point(mascot.home)
    if venue.featured_wall is not None:
        yield "venue.featured_wall", "the featured wall reaches outside the {floor} at {at}", _featured_wall(scene)


def _featured_wall(scene: Scene) -> np.ndarray:
    """The featured wall's foot every 0.25 m."""
    assert scene.venue.featured_wall is not None
    return geo.sample_polyline(geo.as_points(list(scene.venue.featured_wall.ends())), 0.25)


def check_floor(scene: Scene) -> Iterator[Problem]:
    """Every point of the scene lies on the floor; many places off it are reported as one mistake."""
    width, depth = scene.venue.size
    floor = f"{width:g} x {depth:g} m floor"
    off = [(path, say, points[~on_floor(scene, points)]) for path, say, points in _placed(scene)]
    off = [(path, say, points) for path, say, points in off if len(points)]
    if len(off) <= _MANY_OFF_FLOOR:
        for path, say, points in off:
            yield path, say.format(at=fmt(points[0]), floor=floor)
        return
    points = np.vstack([points for _, _, points in off])
    beyond = np.linalg.norm(np.maximum(np.maximum(-points, points - (width, depth)), 0), axis=1)
    furthest = fmt(points[int(np.argmax(beyond))])
    for path, _, _ in off:
        yield path, f"outside the {floor} (the furthest point is {furthest}); is venue.size right?"


def check_runway(scene: Scene) -> Iterator[Problem]:
    """Mascots' places lie on the runway, visitors' places and solid outlines off it; outlines have an area.

    Places off the floor are left to :func:`check_floor`: one mistake, one line.
    """
    venue = scene.venue
    if venue.runway is not None and not venue.spawns:
        yield "venue.spawns", "visitors come in at a spawn: add at least one [[venue.spawns]]"
    if venue.runway is not None and not venue.exits:
        yield "venue.exits", "visitors leave through an exit: add at least one [[venue.exits]]"
    if venue.runway is None and (venue.paths or scene.mascots):
        yield "venue.runway", "mascots walk on the runway: add [venue.runway], or leave out the mascots and paths"
        return
    for index, route in enumerate(venue.paths):
        points = geo.sample_polyline(geo.as_points(route.points), 0.25)
        off = ~on_runway(scene, points)
        if on_floor(scene, points).all() and off.any():
            yield f"venue.paths[{index}].points", (
                f"path {route.name!r} leaves the runway at {fmt(points[off][0])}; mascots walk only on the runway"
            )
    for section, spots in (("spawns", venue.spawns), ("exits", venue.exits)):
        for index, spot in enumerate(spots):
            if _floor_and_runway(scene, spot.at) == (True, True):
                yield f"venue.{section}[{index}].at", f"{fmt(_point(spot.at)[0])} is on the runway; visitors stay off it"
    for index, selfie_spot in enumerate(venue.selfie_spots):
        yield from _stands_on_runway(scene, f"venue.selfie_spots[{index}].at", selfie_spot.at)
        if _floor_and_runway(scene, selfie_spot.queue) == (True, True):
            yield f"venue.selfie_spots[{index}].queue", (
                f"{fmt(_point(selfie_spot.queue)[0])} must be on the floor beside the runway, not on it"
            )
    for path, item in _outlines(scene):
        polygon = geo.as_points(item.polygon)
        points = geo.sample_polygon(polygon, 0.5)
        if on_floor(scene, points).all() and on_runway(scene, points).any():
            yield path, f"{item.name!r} overlaps the runway"
        if geo.polygon_area(polygon) < 0.01:
            yield path, f"{item.name!r} has no area"
    for index, mascot in enumerate(scene.mascots):
        yield from _stands_on_runway(scene, f"mascots[{index}].home", mascot.home)
    if venue.featured_wall is not None:
        points = _featured_wall(scene)
        if on_floor(scene, points).all() and on_runway(scene, points).any():
            yield "venue.featured_wall", f"the featured wall stands on the runway at {fmt(points[on_runway(scene, points)][0])}"


def _floor_and_runway(scene: Scene, point: Point) -> tuple[bool, bool]:
    at = _point(point)
    return bool(on_floor(scene, at)[0]), bool(on_runway(scene, at)[0])


def _stands_on_runway(scene: Scene, path: str, point: Point) -> Iterator[Problem]:
    if _floor_and_runway(scene, point) == (True, False):
        yield path, f"{fmt(_point(point)[0])} is not on the runway"


BODY_M = 0.4
"""A visitor's width (twice the simulation's body radius)."""
ROUTED_M = 0.6
"""The narrowest passage that routes always use (see ``showroom.sim.navigation.CLEAR_M``)."""
_SEGMENT_CHUNK = 256


def narrow_passages(scene: Scene) -> list[str]:
    """Warnings for gaps between walls, obstacles and booths that are narrower than routes use.

    A gap narrower than a body lets nobody through; one narrower than ``ROUTED_M`` lets a
    person squeeze through but is not routed. Touching or crossing solids (joined walls)
    are not gaps. One line per pair of solids, at the narrowest point.
    """
    venue = scene.venue
    owners: list[tuple[str, np.ndarray, np.ndarray, float, bool]] = []
    for index, wall in enumerate(venue.walls):
        a, b = geo.polyline_segments(geo.as_points(wall.points), closed=wall.closed)
        owners.append((f"venue.walls[{index}]", a, b, wall.thickness / 2, True))
    solids: list[tuple[str, Sequence[Outline]]] = [("obstacles", venue.obstacles), ("booths", venue.booths)]
    for section, items in solids:
        for index, item in enumerate(items):
            a, b = geo.polyline_segments(geo.as_points(item.polygon), closed=True)
            owners.append((f"venue.{section}[{index}] {item.name!r}", a, b, 0.0, False))
    if not owners:
        return []
    a = np.vstack([o[1] for o in owners])
    b = np.vstack([o[2] for o in owners])
    half = np.concatenate([np.full(len(o[1]), o[3]) for o in owners])
    owner = np.concatenate([np.full(len(o[1]), k) for k, o in enumerate(owners)])
    hollow = np.array([o[4] for o in owners])  # a wall's sides have floor between them; a solid's do not
    lo, hi = np.minimum(a, b) - half[:, None], np.maximum(a, b) + half[:, None]
    narrowest: dict[tuple[int, int], tuple[float, np.ndarray]] = {}
    for start in range(0, len(a), _SEGMENT_CHUNK):
        rows = np.arange(start, min(start + _SEGMENT_CHUNK, len(a)))
        near = ((lo[rows, None] <= hi[None] + ROUTED_M) & (lo[None] <= hi[rows, None] + ROUTED_M)).all(axis=-1)
        near &= np.arange(len(a))[None] > rows[:, None]
        i, j = np.nonzero(near)
        i = rows[i]
        if i.size == 0:
            continue
        gap, at = geo.segment_distance(a[i], b[i], a[j], b[j])
        gap -= half[i] + half[j]
        # Neighbouring segments of one outline share an end: a corner, not a passage.
        joined = (owner[i] == owner[j]) & (np.isclose(a[i], b[j]).all(1) | np.isclose(b[i], a[j]).all(1)
                                           | np.isclose(a[i], a[j]).all(1) | np.isclose(b[i], b[j]).all(1))
        inside = (owner[i] == owner[j]) & ~hollow[owner[i]]
        keep = np.flatnonzero((gap > 0.01) & (gap < ROUTED_M - 0.005) & ~joined & ~inside)
        for k in keep:
            key = (int(owner[i[k]]), int(owner[j[k]]))
            if key not in narrowest or gap[k] < narrowest[key][0]:
                narrowest[key] = (float(gap[k]), at[k])
    lines = []
    for (p, q), (width, where) in sorted(narrowest.items()):
        between = f"{owners[p][0]} and {owners[q][0]}" if p != q else f"two sides of {owners[p][0]}"
        why = (f"narrower than a visitor ({BODY_M:.2f} m): nobody passes" if width < BODY_M else
               f"a visitor squeezes through, but routes only use passages of {ROUTED_M:.2f} m or more")
        lines.append(f"the gap between {between} near {fmt(where)} is {width:.2f} m wide: {why}")
    return lines
