"""Who is in a selfie: avatars inside the camera's view cone and not hidden behind a wall."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.scene.model import Scene
from showroom.sim.venue import Solids

FloatArray = NDArray[np.float64]

ARM_M = 1.0
"""The visitor holds the camera this far out, on the far side from the mascot."""
HALF_FOV_RAD = np.radians(35.0)
RANGE_M = 12.0
OCCLUDING_HEIGHT_M = 1.5
"""Walls, obstacles and booths at least this tall hide whoever stands behind them."""


@dataclass(frozen=True)
class Occluders:
    """Segments of everything tall enough to hide a person from a camera."""

    a: FloatArray
    b: FloatArray

    @classmethod
    def from_scene(cls, scene: Scene) -> Occluders:
        """Walls, obstacle and booth outlines at least ``OCCLUDING_HEIGHT_M`` tall."""
        solids = Solids.of(scene)
        tall = solids.height >= OCCLUDING_HEIGHT_M
        return cls(solids.a[tall], solids.b[tall])


def selfie_camera(visitor: FloatArray, mascot: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Camera position and unit look direction for a selfie of ``visitor`` with ``mascot``."""
    away = np.asarray(visitor, float) - np.asarray(mascot, float)
    length = float(np.hypot(*away))
    unit = away / length if length > 1e-9 else np.array([0.0, -1.0])
    return visitor + unit * ARM_M, -unit


def visible_in_photo(camera: FloatArray, look: FloatArray, points: FloatArray, occluders: Occluders) -> NDArray[np.bool_]:
    """Which ``points`` (n, 2) the camera sees: in range, inside the cone, with a clear line."""
    points = np.asarray(points, float).reshape(-1, 2)
    rel = points - camera
    dist = np.linalg.norm(rel, axis=1)
    cos = (rel @ look) / np.maximum(dist, 1e-9)
    seen = (dist <= RANGE_M) & (cos >= np.cos(HALF_FOV_RAD))
    idx = np.flatnonzero(seen)
    if idx.size and occluders.a.shape[0]:
        blocked = _crosses(np.broadcast_to(camera, (idx.size, 2)), points[idx], occluders.a, occluders.b)
        seen[idx[blocked]] = False
    return seen


def _crosses(p0: FloatArray, p1: FloatArray, a: FloatArray, b: FloatArray) -> NDArray[np.bool_]:
    """Whether each sight line p0->p1 properly crosses any segment a->b."""
    def side(p: FloatArray, q: FloatArray, r: FloatArray) -> FloatArray:
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])

    P0, P1, A, B = p0[:, None], p1[:, None], a[None], b[None]
    d1, d2 = side(P0, P1, A), side(P0, P1, B)
    d3, d4 = side(A, B, P0), side(A, B, P1)
    return np.any((d1 * d2 < 0) & (d3 * d4 < 0), axis=1, keepdims=False).reshape(-1)
