"""Procedural meshes as NumPy arrays, and their upload into Panda3D geometry in one copy per column.

A :class:`Mesh` is plain arrays (vertices, normals, colours, triangles, and optional extra
float columns such as an avatar's body part); shapes are built by small functions and
added together. :func:`geom_node` turns one into a ``GeomNode``, writing each column through
the buffer protocol instead of a ``GeomVertexWriter`` loop.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from panda3d.core import (
    Geom,
    GeomEnums,
    GeomNode,
    GeomTriangles,
    GeomVertexArrayFormat,
    GeomVertexData,
    GeomVertexFormat,
    InternalName,
    Triangulator,
)

F32 = NDArray[np.float32]


@dataclass
class Mesh:
    """Triangles with per-vertex position, normal, RGBA colour and extra float columns."""

    v: F32
    n: F32
    c: F32
    tri: NDArray[np.uint32]
    extra: dict[str, F32] = field(default_factory=dict)

    def __add__(self, other: Mesh) -> Mesh:
        keys = set(self.extra) | set(other.extra)
        extra = {k: np.concatenate([self.extra.get(k, np.zeros(len(self.v), np.float32)),
                                    other.extra.get(k, np.zeros(len(other.v), np.float32))]) for k in keys}
        return Mesh(np.concatenate([self.v, other.v]), np.concatenate([self.n, other.n]),
                    np.concatenate([self.c, other.c]),
                    np.concatenate([self.tri, other.tri + np.uint32(len(self.v))]), extra)

    def tagged(self, name: str, value: float) -> Mesh:
        """The same mesh with the extra column ``name`` set to ``value`` on every vertex."""
        extra = dict(self.extra)
        extra[name] = np.full(len(self.v), value, np.float32)
        return Mesh(self.v, self.n, self.c, self.tri, extra)

    def moved(self, offset: tuple[float, float, float]) -> Mesh:
        """The same mesh translated by ``offset`` metres."""
        return Mesh(self.v + np.asarray(offset, np.float32), self.n, self.c, self.tri, self.extra)

    def scaled(self, s: tuple[float, float, float]) -> Mesh:
        """The same mesh scaled per axis (normals corrected)."""
        k = np.asarray(s, np.float32)
        n = self.n / k
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
        return Mesh(self.v * k, n.astype(np.float32), self.c, self.tri, self.extra)

    def smoothed(self) -> Mesh:
        """The same mesh with smooth normals: each vertex gets the area-weighted mean of the faces around its
        position, so vertices that coincide (a seam, a colour border) share one normal."""
        key = np.round(self.v / 1e-5).astype(np.int64)
        _, group = np.unique(key, axis=0, return_inverse=True)
        group = group.ravel()
        p = self.v[self.tri]
        face = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])  # length is twice the area
        acc = np.zeros((group.max() + 1 if len(group) else 0, 3), np.float64)
        for k in range(3):
            np.add.at(acc, group[self.tri[:, k]], face)
        n = acc[group]
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        return Mesh(self.v, n.astype(np.float32), self.c, self.tri, self.extra)

    def rotated_x(self, angle: float) -> Mesh:
        """The same mesh turned about the x axis by ``angle`` radians."""
        c, s = math.cos(angle), math.sin(angle)
        r = np.array([[1, 0, 0], [0, c, s], [0, -s, c]], np.float32)
        return Mesh(self.v @ r, self.n @ r, self.c, self.tri, self.extra)


def empty() -> Mesh:
    """A mesh with nothing in it."""
    z3 = np.zeros((0, 3), np.float32)
    return Mesh(z3, z3, np.zeros((0, 4), np.float32), np.zeros((0, 3), np.uint32))


def combine(parts: list[Mesh]) -> Mesh:
    """All ``parts`` as one mesh."""
    out = empty()
    for part in parts:
        out = out + part
    return out


def rgba(color: str | tuple[float, ...], alpha: float = 1.0) -> tuple[float, float, float, float]:
    """``#rrggbb`` (or an RGB tuple) as an RGBA tuple of floats."""
    if isinstance(color, str):
        h = color.lstrip("#")
        return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255, alpha)
    return (float(color[0]), float(color[1]), float(color[2]), alpha if len(color) < 4 else float(color[3]))


def _paint(count: int, color: tuple[float, float, float, float]) -> F32:
    return np.tile(np.asarray(color, np.float32), (count, 1))


_BOX_FACES = {  # corner indices counter-clockwise seen from outside, and the face normal
    "bottom": ((0, 2, 3, 1), (0, 0, -1)), "top": ((4, 5, 7, 6), (0, 0, 1)), "front": ((2, 6, 7, 3), (0, 1, 0)),
    "back": ((0, 1, 5, 4), (0, -1, 0)), "left": ((0, 4, 6, 2), (-1, 0, 0)), "right": ((1, 3, 7, 5), (1, 0, 0)),
}


def box(center: tuple[float, float, float], size: tuple[float, float, float], color: tuple[float, ...],
        skip: tuple[str, ...] = ()) -> Mesh:
    """An axis-aligned box; ``center`` is its middle, ``size`` its full extents (metres).

    ``skip`` leaves out faces nobody sees (``"bottom"``, ``"top"``, ...): fewer triangles
    matter when thousands of avatars are drawn by a software renderer.
    """
    corners = np.array([[x, y, z] for z in (-0.5, 0.5) for y in (-0.5, 0.5) for x in (-0.5, 0.5)], np.float32)
    faces = [face for name, face in _BOX_FACES.items() if name not in skip]
    v = np.concatenate([corners[list(f)] for f, _ in faces]) * np.asarray(size, np.float32) + np.asarray(center, np.float32)
    n = np.repeat(np.array([nn for _, nn in faces], np.float32), 4, axis=0)
    base = np.arange(len(faces), dtype=np.uint32)[:, None] * 4
    tri = np.concatenate([base + np.array([0, 1, 2], np.uint32), base + np.array([0, 2, 3], np.uint32)])
    return Mesh(v.astype(np.float32), n, _paint(len(v), rgba(color)), tri)


def block(center: tuple[float, float, float], size: tuple[float, float, float], color: tuple[float, ...]) -> Mesh:
    """A box of 8 shared corners and 10 triangles (no bottom), normals pointing out of the corners.

    A third of :func:`box`'s vertices: for meshes drawn thousands of times far away, where
    the vertex stage of a software renderer is the cost and smooth corners do not show.
    """
    corners = np.array([[x, y, z] for z in (-0.5, 0.5) for y in (-0.5, 0.5) for x in (-0.5, 0.5)], np.float32)
    n = corners / np.linalg.norm(corners, axis=1, keepdims=True)
    quads = [_BOX_FACES[name][0] for name in ("top", "front", "back", "left", "right")]
    tri = np.array([[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads], np.uint32)
    v = corners * np.asarray(size, np.float32) + np.asarray(center, np.float32)
    return Mesh(v.astype(np.float32), n.astype(np.float32), _paint(8, rgba(color)), tri)


def segment_box(a: tuple[float, float], b: tuple[float, float], width: float, z0: float, z1: float,
                color: tuple[float, ...]) -> Mesh:
    """A box along the floor segment a-b, ``width`` wide, from height ``z0`` to ``z1``."""
    (ax, ay), (bx, by) = a, b
    length = math.hypot(bx - ax, by - ay)
    m = box((0.0, 0.0, 0.0), (width, max(length, 1e-3), z1 - z0), color)
    ang = math.atan2(-(bx - ax), by - ay)
    c, s = math.cos(ang), math.sin(ang)
    r = np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]], np.float32)
    v = m.v @ r + np.array([(ax + bx) / 2, (ay + by) / 2, (z0 + z1) / 2], np.float32)
    return Mesh(v.astype(np.float32), (m.n @ r).astype(np.float32), m.c, m.tri)


def wall_face(a: tuple[float, float], b: tuple[float, float], z0: float, z1: float, toward: tuple[float, float],
              color: tuple[float, ...]) -> Mesh:
    """One single-sided vertical quad over the floor segment a-b, facing the side ``toward`` lies on (seen from
    the other side it is culled: a camera outside the hall looks through its outer walls)."""
    (ax, ay), (bx, by) = a, b
    nx, ny = -(by - ay), bx - ax
    length = math.hypot(nx, ny) or 1.0
    nx, ny = nx / length, ny / length
    mx, my = (ax + bx) / 2, (ay + by) / 2
    if (toward[0] - mx) * nx + (toward[1] - my) * ny < 0:
        nx, ny = -nx, -ny
    v = np.array([[ax, ay, z0], [bx, by, z0], [bx, by, z1], [ax, ay, z1]], np.float32)
    # counter-clockwise seen from the side the normal points to
    edge, up = v[1] - v[0], v[3] - v[0]
    facing = float(np.cross(edge, up) @ np.array([nx, ny, 0.0], np.float32))
    tri = np.array([[0, 1, 2], [0, 2, 3]] if facing > 0 else [[0, 2, 1], [0, 3, 2]], np.uint32)
    n = np.tile(np.array([nx, ny, 0.0], np.float32), (4, 1))
    return Mesh(v, n, _paint(4, rgba(color)), tri)


def polygon_cap(points: list[tuple[float, float]] | NDArray[np.float64], z: float, color: tuple[float, ...],
                up: bool = True) -> Mesh:
    """A flat polygon at height ``z`` (triangulated by Panda3D's Triangulator, so concave is fine)."""
    pts = np.asarray(points, np.float64)
    tri = Triangulator()
    for x, y in pts:
        tri.addPolygonVertex(tri.addVertex(float(x), float(y)))
    tri.triangulate()
    idx = np.array([[tri.getTriangleV0(i), tri.getTriangleV1(i), tri.getTriangleV2(i)]
                    for i in range(tri.getNumTriangles())], np.uint32).reshape(-1, 3)
    # Triangulator keeps the winding of the input; make every triangle face the requested way
    p = pts[idx]
    cross = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 1, 1] - p[:, 0, 1]) * (p[:, 2, 0] - p[:, 0, 0])
    flip = (cross < 0) if up else (cross > 0)
    idx[flip] = idx[flip][:, ::-1]
    v = np.column_stack([pts, np.full(len(pts), z)]).astype(np.float32)
    n = np.tile(np.array([0, 0, 1 if up else -1], np.float32), (len(pts), 1))
    return Mesh(v, n, _paint(len(pts), rgba(color)), idx)


def prism(points: list[tuple[float, float]] | NDArray[np.float64], z0: float, z1: float, color: tuple[float, ...],
          side_color: tuple[float, ...] | None = None) -> Mesh:
    """A polygon extruded from height ``z0`` to ``z1``: top cap and walls."""
    pts = np.asarray(points, np.float64)
    a = pts
    b = np.roll(pts, -1, axis=0)
    k = len(pts)
    quad = np.stack([np.column_stack([a, np.full(k, z0)]), np.column_stack([b, np.full(k, z0)]),
                     np.column_stack([b, np.full(k, z1)]), np.column_stack([a, np.full(k, z1)])], axis=1)
    edge = b - a
    normal = np.column_stack([edge[:, 1], -edge[:, 0], np.zeros(k)])
    area = np.sum(a[:, 0] * b[:, 1] - b[:, 0] * a[:, 1])
    if area < 0:  # clockwise outline: outward normals point the other way
        normal = -normal
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-9)
    v = quad.reshape(-1, 3).astype(np.float32)
    n = np.repeat(normal, 4, axis=0).astype(np.float32)
    base = np.arange(k, dtype=np.uint32)[:, None] * 4
    tri = np.concatenate([base + np.array([0, 1, 2], np.uint32), base + np.array([0, 2, 3], np.uint32)])
    if area < 0:
        tri = tri[:, ::-1].copy()
    walls = Mesh(v, n, _paint(len(v), rgba(side_color or color)), tri)
    return walls + polygon_cap(pts, z1, color)


def ellipsoid(center: tuple[float, float, float], radii: tuple[float, float, float], color: tuple[float, ...],
              rings: int = 10, segments: int = 14) -> Mesh:
    """A UV ellipsoid."""
    th = np.linspace(0, math.pi, rings + 1)
    ph = np.linspace(0, 2 * math.pi, segments + 1)
    t, p = np.meshgrid(th, ph, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1).reshape(-1, 3)
    r = np.asarray(radii, np.float32)
    v = unit * r + np.asarray(center, np.float32)
    n = unit / r
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    i, j = np.meshgrid(np.arange(rings), np.arange(segments), indexing="ij")
    a = (i * (segments + 1) + j).ravel()
    b = a + segments + 1
    tri = np.concatenate([np.column_stack([a, b, a + 1]), np.column_stack([a + 1, b, b + 1])]).astype(np.uint32)
    return Mesh(v.astype(np.float32), n.astype(np.float32), _paint(len(v), rgba(color)), tri)


def lathe(rings: list[tuple[float, float, float, float, float]], color: tuple[float, ...],
          segments: int = 10) -> Mesh:
    """A smooth tube along z through elliptical rings ``(z, rx, ry, cx, cy)`` (metres), first ring at the bottom.

    A ring with ``rx`` and ``ry`` zero is a pole: one vertex that closes the tube there. Two rings at the
    same place split the colour without a crease (normals come from :meth:`Mesh.smoothed`). No seam
    vertices: a closed capsule of ``r`` rings costs ``r * segments`` vertices at most.
    """
    ang = np.arange(segments) * (2 * math.pi / segments)
    ring_xy = np.column_stack([np.cos(ang), np.sin(ang)])
    verts: list[np.ndarray] = []
    starts: list[tuple[int, int]] = []  # (first vertex, vertex count) per ring
    for z, rx, ry, cx, cy in rings:
        if rx <= 0 and ry <= 0:
            pts = np.array([[cx, cy, z]], np.float64)
        else:
            pts = np.column_stack([ring_xy[:, 0] * rx + cx, ring_xy[:, 1] * ry + cy, np.full(segments, z)])
        starts.append((sum(len(p) for p in verts), len(pts)))
        verts.append(pts)
    tris: list[np.ndarray] = []
    j = np.arange(segments)
    k = (j + 1) % segments
    for (a0, an), (b0, bn) in itertools.pairwise(starts):
        if an == 1 and bn == 1:
            continue
        if an == 1:
            tris.append(np.column_stack([np.full(segments, a0), b0 + k, b0 + j]))
        elif bn == 1:
            tris.append(np.column_stack([a0 + j, a0 + k, np.full(segments, b0)]))
        else:
            tris.append(np.column_stack([a0 + j, a0 + k, b0 + k]))
            tris.append(np.column_stack([a0 + j, b0 + k, b0 + j]))
    v = np.concatenate(verts).astype(np.float32)
    tri = np.concatenate(tris).astype(np.uint32) if tris else np.zeros((0, 3), np.uint32)
    mesh = Mesh(v, np.zeros_like(v), _paint(len(v), rgba(color)), tri)
    return mesh.smoothed()


def cylinder(center: tuple[float, float, float], radius: float, height: float, color: tuple[float, ...],
             segments: int = 12, top_radius: float | None = None) -> Mesh:
    """A vertical cylinder (or cone, with ``top_radius``) standing on ``center`` (its bottom middle)."""
    top = radius if top_radius is None else top_radius
    ang = np.linspace(0, 2 * math.pi, segments + 1)
    ring = np.column_stack([np.cos(ang), np.sin(ang)])
    bottom = np.column_stack([ring * radius, np.zeros(len(ang))])
    upper = np.column_stack([ring * top, np.full(len(ang), height)])
    v = np.concatenate([bottom, upper]) + np.asarray(center, np.float64)
    slope = (radius - top) / max(height, 1e-6)
    n = np.column_stack([ring, np.full(len(ang), slope)])
    n = np.concatenate([n, n])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    k = segments + 1
    a = np.arange(segments)
    tri = np.concatenate([np.column_stack([a, a + 1, a + k]), np.column_stack([a + 1, a + k + 1, a + k])]).astype(np.uint32)
    side = Mesh(v.astype(np.float32), n.astype(np.float32), _paint(len(v), rgba(color)), tri)
    cx, cy, cz = center
    cap = polygon_cap(ring[:-1] * top + (cx, cy), cz + height, color) if top > 1e-3 else empty()
    return side + cap


_FORMATS: dict[tuple[str, ...], GeomVertexFormat] = {}


def _format(extra: tuple[str, ...]) -> GeomVertexFormat:
    if extra not in _FORMATS:
        fmt = GeomVertexFormat()
        for name, count, contents in (("vertex", 3, Geom.C_point), ("normal", 3, Geom.C_normal),
                                      ("color", 4, Geom.C_color)):
            arr = GeomVertexArrayFormat()
            arr.addColumn(InternalName.make(name), count, Geom.NT_float32, contents)
            fmt.addArray(arr)
        for name in extra:
            arr = GeomVertexArrayFormat()
            arr.addColumn(InternalName.make(name), 1, Geom.NT_float32, Geom.C_other)
            fmt.addArray(arr)
        _FORMATS[extra] = GeomVertexFormat.registerFormat(fmt)
    return _FORMATS[extra]


def geom_node(name: str, mesh: Mesh, usage: int = GeomEnums.UH_static) -> GeomNode:
    """A ``GeomNode`` holding ``mesh``, every column written with one buffer copy."""
    extra = tuple(sorted(mesh.extra))
    vdata = GeomVertexData(name, _format(extra), usage)
    vdata.uncleanSetNumRows(len(mesh.v))
    columns = [mesh.v, mesh.n, mesh.c] + [mesh.extra[k][:, None] for k in extra]
    for i, col in enumerate(columns):
        view = memoryview(vdata.modifyArray(i)).cast("B")
        view[:] = np.ascontiguousarray(col, np.float32).tobytes()
    prim = GeomTriangles(usage)
    prim.setIndexType(Geom.NT_uint32)
    handle = prim.modifyVertices()
    handle.uncleanSetNumRows(mesh.tri.size)
    memoryview(handle).cast("B")[:] = np.ascontiguousarray(mesh.tri, np.uint32).tobytes()
    geom = Geom(vdata)
    geom.addPrimitive(prim)
    node = GeomNode(name)
    node.addGeom(geom)
    return node
