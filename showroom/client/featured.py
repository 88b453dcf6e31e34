"""The featured wall's layout as plain geometry: where each featured picture hangs on the board,
its label beneath, and where a visitor stands to look at it. No panda3d.

Face coordinates are metres on the board's face: ``x`` to the right of someone looking at it,
from ``-width / 2`` to ``width / 2``, ``z`` up from the floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from showroom.scene import Scene
from showroom.scene.venue import FeaturedWall
from showroom.sim import geometry as geo

MAX_SHOWN = 6
"""Pictures on one wall (a challenge features five in the example communities)."""
MARGIN_M = 0.3
TITLE_BAND_M = 0.75
"""The band across the top for the wall's title and the challenge's."""
LABEL_BAND_M = 0.75
"""Below each picture: rank and title, then the author."""
FLOOR_GAP_M = 0.7
"""The labels start this high, above the heads of a crowd's legs (the board's foot is plain)."""
LOOK_FROM_M = 6.0
"""A visitor looks at the wall from this far in front of its middle."""


@dataclass(frozen=True)
class Slot:
    """One picture's box on the face (metres), fitted to the picture's aspect, and its label's baseline."""

    x0: float
    x1: float
    z0: float
    z1: float
    label_z: float
    width_m: float
    """The width the label may use."""

    @property
    def centre(self) -> tuple[float, float]:
        """The picture's middle (x, z) on the face."""
        return ((self.x0 + self.x1) / 2, (self.z0 + self.z1) / 2)


def layout(width_m: float, height_m: float, aspects: list[float]) -> list[Slot]:
    """Boxes for pictures of these aspects (width / height), left to right in rank order, at most :data:`MAX_SHOWN`."""
    shown = aspects[:MAX_SHOWN]
    if not shown:
        return []
    n = len(shown)
    cell_w = (width_m - MARGIN_M * (n + 1)) / n
    z_low = FLOOR_GAP_M + LABEL_BAND_M
    z_high = height_m - TITLE_BAND_M
    cell_h = max(z_high - z_low, 0.3)
    slots = []
    for k, aspect in enumerate(shown):
        cx = -width_m / 2 + MARGIN_M + cell_w / 2 + k * (cell_w + MARGIN_M)
        aspect = min(max(aspect, 0.2), 5.0)
        w, h = (cell_w, cell_w / aspect) if cell_w / aspect <= cell_h else (cell_h * aspect, cell_h)
        slots.append(Slot(cx - w / 2, cx + w / 2, z_low, z_low + h, z_low - 0.12, cell_w))  # labels in one row
    return slots


def _frame(wall: FeaturedWall) -> tuple[tuple[float, float], tuple[float, float]]:
    """The face's right-hand direction and its normal (the way it looks), as floor unit vectors."""
    h = math.radians(wall.heading)
    return (-math.cos(h), -math.sin(h)), (-math.sin(h), math.cos(h))


def face_to_world(wall: FeaturedWall, x: float, z: float, out_m: float = 0.0) -> tuple[float, float, float]:
    """A face point (``x``, ``z``), ``out_m`` in front of the face, in venue coordinates (metres)."""
    right, normal = _frame(wall)
    ax, ay = wall.at
    return (ax + right[0] * x + normal[0] * out_m, ay + right[1] * x + normal[1] * out_m, z)


def viewing_spot(wall: FeaturedWall, scene_size: tuple[float, float], distance_m: float = LOOK_FROM_M) -> tuple[float, float]:
    """Where a visitor stands to see the whole wall: in front of its middle, kept on the floor."""
    x, y, _ = face_to_world(wall, 0.0, 0.0, distance_m)
    return (min(max(x, 0.8), scene_size[0] - 0.8), min(max(y, 0.8), scene_size[1] - 0.8))


def camera_yaw_deg(wall: FeaturedWall) -> float:
    """The orbit camera's yaw (:class:`showroom.client.camera.OrbitCamera`) that looks straight at the face."""
    return (wall.heading + 180.0) % 360.0


def short(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters with an ellipsis."""
    return text if len(text) <= chars else text[:max(chars - 3, 1)].rstrip() + "..."


RUNWAY_CLEAR_M = 1.0
"""A route keeps this far from the runway's edge."""
WALL_CLEAR_M = 0.2
"""A leg of a route that passes this close to a wall (a queue's rope) would run into it."""
AROUND_M = 0.9
"""Waypoints stand this far beyond the end of the runway or of a wall."""


def _ends(points: np.ndarray, margin_m: float) -> list[tuple[float, float]]:
    """Points beyond both ends of a polyline: straight on, and to either side."""
    out = []
    for end, inner in ((points[0], points[1]), (points[-1], points[-2])):
        ahead = (end - inner) / max(float(np.linalg.norm(end - inner)), 1e-9)
        side = np.array([-ahead[1], ahead[0]])
        out += [tuple(end + ahead * margin_m + side * s * margin_m) for s in (-1.0, 0.0, 1.0)]
    return [(float(x), float(y)) for x, y in out]


def route(scene: Scene, start: tuple[float, float], goal: tuple[float, float]) -> list[tuple[float, float]]:
    """Waypoints from ``start`` to ``goal`` (the last) that go round the runway and the walls rather than into them.

    The server steers a visitor sent to a point straight at it, and the runway or a queue's rope stops
    it; so when the straight line is blocked, the route passes one or two points beyond the end of the
    runway or of a wall (the shortest such route; just the goal when there is none).
    """
    rw = scene.venue.runway
    line = geo.as_points(rw.centerline)
    clear = rw.width / 2 + RUNWAY_CLEAR_M
    w, d = scene.venue.size
    walls = [geo.as_points(list(wall.points) + ([wall.points[0]] if wall.closed else []))
             for wall in scene.venue.walls]

    def blocked(a: tuple[float, float], b: tuple[float, float]) -> bool:
        pts = geo.sample_polyline(geo.as_points([a, b]), 0.3)
        if (geo.distance_to_polyline(pts, line) < clear - 0.3).any():
            return True
        return any((geo.distance_to_polyline(pts, wall) < WALL_CLEAR_M).any() for wall in walls)

    if not blocked(start, goal):
        return [goal]
    nodes = [start, goal] + [p for p in _ends(line, clear + 0.5) + [
        p for wall, spec in zip(walls, scene.venue.walls) if not spec.closed for p in _ends(wall, AROUND_M)]
        if 0.8 <= p[0] <= w - 0.8 and 0.8 <= p[1] <= d - 0.8]
    return _shortest(nodes, blocked) or [goal]


def _shortest(nodes: list[tuple[float, float]], blocked: Callable[[tuple[float, float], tuple[float, float]], bool],
              ) -> list[tuple[float, float]] | None:
    """Dijkstra from ``nodes[0]`` to ``nodes[1]`` over the legs that are not blocked (a few dozen nodes, once)."""
    n = len(nodes)
    dist = [math.inf] * n
    prev = [-1] * n
    done = [False] * n
    dist[0] = 0.0
    for _ in range(n):
        k = min((i for i in range(n) if not done[i]), key=lambda i: dist[i], default=-1)
        if k < 0 or dist[k] == math.inf:
            return None
        if k == 1:
            break
        done[k] = True
        for j in range(n):
            if not done[j] and dist[k] + math.dist(nodes[k], nodes[j]) < dist[j] and not blocked(nodes[k], nodes[j]):
                dist[j], prev[j] = dist[k] + math.dist(nodes[k], nodes[j]), k
    path, k = [], 1
    while k > 0:
        path.append(nodes[k])
        k = prev[k]
    return path[::-1] if k == 0 else None
