"""Vectorised plane geometry on floor coordinates (metres): segments, polylines, polygons."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def as_points(points: Sequence[Sequence[float]] | FloatArray) -> FloatArray:
    """Return points as a float64 array of shape (n, 2)."""
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return array


def polyline_segments(points: FloatArray, closed: bool = False) -> tuple[FloatArray, FloatArray]:
    """Return the start and end points (each (s, 2)) of a polyline's segments."""
    pts = as_points(points)
    if closed and len(pts) > 2 and not np.array_equal(pts[0], pts[-1]):
        pts = np.vstack([pts, pts[:1]])
    return pts[:-1], pts[1:]


def segment_closest(
    p: FloatArray, a: FloatArray, b: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Closest points on segments to points, broadcasting ``p`` against ``a``/``b``.

    Returns the closest points and the segment parameters in [0, 1]; shapes follow
    NumPy broadcasting of ``p[..., :]`` with ``a[..., :]``.
    """
    ab = b - a
    denom = np.einsum("...i,...i->...", ab, ab)
    t = np.einsum("...i,...i->...", p - a, ab) / np.where(denom > 0, denom, 1.0)
    t = np.clip(t, 0.0, 1.0)
    return a + t[..., None] * ab, t


def distance_to_segments(p: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    """Distances (n, s) from each of n points to each of s segments."""
    closest, _ = segment_closest(p[:, None, :], a[None, :, :], b[None, :, :])
    return np.linalg.norm(p[:, None, :] - closest, axis=-1)


def distance_to_polyline(p: FloatArray, points: FloatArray) -> FloatArray:
    """Distance (n,) from each point to an open polyline."""
    a, b = polyline_segments(points)
    return distance_to_segments(as_points(p), a, b).min(axis=1)


def points_in_polygon(p: FloatArray, polygon: FloatArray) -> NDArray[np.bool_]:
    """Even-odd test of which points lie inside a simple polygon."""
    pts = as_points(p)
    a, b = polyline_segments(as_points(polygon), closed=True)
    x, y = pts[:, 0:1], pts[:, 1:2]
    ay, by = a[None, :, 1], b[None, :, 1]
    crosses = (ay > y) != (by > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = a[None, :, 0] + (y - ay) * (b[None, :, 0] - a[None, :, 0]) / (by - ay)
    inside = np.count_nonzero(crosses & (x < x_at), axis=1) % 2 == 1
    return inside


def polygon_area(polygon: FloatArray) -> float:
    """Unsigned area of a simple polygon in square metres."""
    pts = as_points(polygon)
    x, y = pts[:, 0], pts[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2.0)


def polyline_lengths(points: FloatArray) -> FloatArray:
    """Cumulative arc length at each vertex of a polyline (first entry 0)."""
    pts = as_points(points)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def sample_polyline(points: FloatArray, step_m: float) -> FloatArray:
    """Points along a polyline no further than ``step_m`` apart, vertices included."""
    pts = as_points(points)
    out = [pts[:1]]
    for start, end in zip(pts[:-1], pts[1:]):
        count = max(1, int(np.ceil(np.linalg.norm(end - start) / step_m)))
        t = np.arange(1, count + 1)[:, None] / count
        out.append(start + t * (end - start))
    return np.vstack(out)


def sample_polygon(polygon: FloatArray, step_m: float) -> FloatArray:
    """Points on a polygon's boundary and a grid over its interior, ``step_m`` apart."""
    pts = as_points(polygon)
    ring = np.vstack([pts, pts[:1]])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    xs = np.arange(lo[0], hi[0] + step_m, step_m)
    ys = np.arange(lo[1], hi[1] + step_m, step_m)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    grid = grid[points_in_polygon(grid, pts)]
    return np.vstack([sample_polyline(ring, step_m), grid])


def segment_distance(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distance between segments ``a-b`` and ``c-d`` (0 where they cross), broadcasting, and a point
    midway across the narrowest place."""
    a, b, c, d = np.broadcast_arrays(a, b, c, d)
    best = np.full(a.shape[:-1], np.inf)
    mid = np.zeros(a.shape)
    for p, s0, s1 in ((a, c, d), (b, c, d), (c, a, b), (d, a, b)):
        closest, _ = segment_closest(p, s0, s1)
        dist = np.linalg.norm(p - closest, axis=-1)
        better = dist < best
        best = np.where(better, dist, best)
        mid = np.where(better[..., None], (p + closest) / 2, mid)
    r, s = b - a, d - c
    denom = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    qp = c - a
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * s[..., 1] - qp[..., 1] * s[..., 0]) / denom
        u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / denom
    cross = (np.abs(denom) > 1e-12) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    return np.where(cross, 0.0, best), mid
