"""The visitor's figure: smooth tapered shapes with material, limb and hairstyle tags per vertex.

One mesh serves every visitor: the crowd's vertex shader colours it by the ``mat`` column
(skin, hair, top, bottom...), swings the limbs tagged in ``part`` about the hip and
shoulder, and collapses the hair pieces in ``hairstyle`` the avatar's style does not use.
:func:`pose` is the same deformation in NumPy, for the far impostors drawn from this mesh.
The figure faces +y, stands on z = 0 and is 1.76 m tall before its height scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from showroom.client import meshes as mk
from showroom.client.crowd_look import (
    BUZZ_SHRINK,
    HAIR_BUN,
    HAIR_CAP,
    HAIR_LONG,
    MAT_BOTTOM,
    MAT_FIXED,
    MAT_FOREARM,
    MAT_HAIR,
    MAT_SHIN,
    MAT_SHOES,
    MAT_SKIN,
    MAT_TOP,
    STYLE_BUZZ,
    STYLE_MASK,
)

HIP_Z = 0.86
"""Height of the hip joint the legs swing about (metres)."""
SHOULDER_Z = 1.37
"""Height of the shoulder joint the arms swing about."""
HEAD_C = (0.0, 0.005, 1.625)
"""Centre of the head: a buzz cut's cap is pulled towards it, unused hair collapses onto it."""
HEAD_R = (0.09, 0.106, 0.12)
LEG_SWING = 0.45
ARM_SWING = 0.42
"""Largest swing of a leg and of an arm from the vertical while walking (radians)."""
BOB_M = 0.04
"""How far the body rises twice per stride."""
NECK_BLEND = (1.42, 1.52)
"""Below the first height the body takes the avatar's width; above the second (the head) it does not."""
EYES = (0.08, 0.06, 0.05, 1.0)

_WHITE = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Detail:
    """How finely the figure is cut: segments around each tube, rings down the head, whether to keep the rings
    marked fine (knees, wrists, ankles shaping) and the eyes."""

    body: int
    limbs: int
    head: tuple[int, int]
    cap: tuple[int, int]
    hair: int
    bun: tuple[int, int]
    shoe: int
    fine: bool


NEAR = Detail(body=10, limbs=7, head=(5, 10), cap=(4, 10), hair=8, bun=(3, 6), shoe=8, fine=True)
"""The close figure, about 550 vertices."""
MID = Detail(body=6, limbs=4, head=(3, 6), cap=(2, 6), hair=5, bun=(1, 4), shoe=3, fine=False)
"""The same figure beyond a few metres, about 220 vertices: on a software renderer triangles are the cost."""


def _tag(mesh: mk.Mesh, mat: int, part: int = 0, hairstyle: int = 0) -> mk.Mesh:
    return mesh.tagged("mat", mat).tagged("part", part).tagged("hairstyle", hairstyle)


def _ellipsoid(center: tuple[float, float, float], radii: tuple[float, float, float], rings: int,
               segments: int) -> mk.Mesh:
    """A smooth ellipsoid as a lathe: ``rings`` latitude rings between two poles."""
    cx, cy, cz = center
    rx, ry, rz = radii
    prof = [(cz - rz, 0.0, 0.0, cx, cy)]
    for t in np.linspace(0, math.pi, rings + 2)[1:-1][::-1]:
        s = math.sin(t)
        prof.append((cz + rz * math.cos(t), rx * s, ry * s, cx, cy))
    prof.append((cz + rz, 0.0, 0.0, cx, cy))
    return mk.lathe(prof, _WHITE, segments)


def _split(rings: list[tuple[float, float, float, float, float]], mats: list[int], segments: int,
           part: int = 0) -> mk.Mesh:
    """A lathe whose rings change material where a ring repeats (``mats``: one per run of rings): the tube
    is smoothed as a whole, then cut at the repeated rings so each piece keeps one material."""
    whole = mk.lathe(rings, _WHITE, segments)
    counts = [1 if r[1] <= 0 and r[2] <= 0 else segments for r in rings]
    ring_of_vertex = np.repeat(np.arange(len(rings)), counts)
    cuts = [i for i in range(1, len(rings)) if rings[i][0] == rings[i - 1][0]]
    run = np.searchsorted(np.asarray(cuts), ring_of_vertex, side="right")
    same = run[whole.tri].min(axis=1) == run[whole.tri].max(axis=1)  # the rest join repeated rings: no area
    mat = np.asarray(mats, np.float32)[run]
    mesh = mk.Mesh(whole.v, whole.n, whole.c, whole.tri[same], {"mat": mat})
    return mesh.tagged("part", part).tagged("hairstyle", 0)


def _hair_cap(rings: int, segments: int) -> mk.Mesh:
    """A shell just over the skull: down to the brow at the front, the ears at the sides, the nape behind."""
    phi = np.arange(segments) * (2 * math.pi / segments)
    reach = np.radians(90.0 - 28.0 * np.sin(phi))  # polar angle of the hairline: 62 deg in front, 118 behind
    t = np.linspace(0, 1, rings + 1)[1:, None] * reach[None, :]
    unit = np.stack([np.sin(t) * np.cos(phi), np.sin(t) * np.sin(phi), np.cos(t)], axis=-1).reshape(-1, 3)
    unit = np.concatenate([[[0.0, 0.0, 1.0]], unit])
    r = np.asarray(HEAD_R) * 1.07
    v = unit * r + np.asarray(HEAD_C)
    n = unit / r
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    j = np.arange(segments)
    k = (j + 1) % segments
    tris = [np.column_stack([np.zeros(segments, int), 1 + j, 1 + k])]
    for ring in range(rings - 1):
        a, b = 1 + ring * segments, 1 + (ring + 1) * segments
        tris += [np.column_stack([a + j, b + j, b + k]), np.column_stack([a + j, b + k, a + k])]
    mesh = mk.Mesh(v.astype(np.float32), n.astype(np.float32), np.ones((len(v), 4), np.float32),
                   np.concatenate(tris).astype(np.uint32))
    return _tag(mesh, MAT_HAIR, hairstyle=HAIR_CAP)


def _eye(x: float) -> mk.Mesh:
    w, h, y, z = 0.009, 0.011, 0.107, 1.64
    v = np.array([[x - w, y, z - h], [x + w, y, z - h], [x + w, y, z + h], [x - w, y, z + h]], np.float32)
    n = np.tile(np.array([0, 1, 0], np.float32), (4, 1))
    mesh = mk.Mesh(v, n, np.tile(np.asarray(EYES, np.float32), (4, 1)), np.array([[0, 2, 1], [0, 3, 2]], np.uint32))
    return _tag(mesh, MAT_FIXED)


def _rings(rings: list[tuple[float, float, float, float, float, bool]],
           fine: bool) -> list[tuple[float, float, float, float, float]]:
    """The rings of a profile, without those marked fine unless ``fine``."""
    return [(z, rx, ry, cx, cy) for z, rx, ry, cx, cy, thin in rings if fine or not thin]


def _leg(side: int, d: Detail) -> mk.Mesh:
    """A leg (part 1 left, 2 right), trousers to the knee, shin below (bare in shorts), with its shoe."""
    x = 0.08 * side
    rings = _rings([(0.05, 0.0, 0.0, x * 0.95, 0.0, False), (0.07, 0.038, 0.04, x * 0.95, 0.0, False),
                    (0.14, 0.042, 0.046, x * 0.95, 0.0, True), (0.36, 0.056, 0.06, x * 0.97, 0.005, False),
                    (0.50, 0.055, 0.057, x, 0.0, False), (0.50, 0.055, 0.057, x, 0.0, False),
                    (0.68, 0.076, 0.079, x * 1.02, 0.0, True), (0.80, 0.08, 0.082, x * 1.02, 0.0, False),
                    (0.90, 0.058, 0.058, x * 1.02, 0.0, False)], d.fine)
    part = 1 if side < 0 else 2
    leg = _split(rings, [MAT_SHIN, MAT_BOTTOM], d.limbs, part)
    shoe = mk.lathe(_rings([(0.0, 0.0, 0.0, x, 0.035, False), (0.0, 0.045, 0.105, x, 0.035, False),
                            (0.05, 0.05, 0.115, x, 0.035, False), (0.09, 0.036, 0.07, x, 0.01, True),
                            (0.105, 0.0, 0.0, x, -0.005, False)], d.fine), _WHITE, d.shoe)
    return leg + _tag(shoe, MAT_SHOES, part)


def _arm(side: int, d: Detail) -> mk.Mesh:
    """An arm (part 3 left, 4 right): sleeve to the elbow, forearm (bare in short sleeves), hand."""
    x = 0.198 * side
    out = 0.03 * side
    rings = _rings([(0.745, 0.0, 0.0, x + out, 0.02, False), (0.76, 0.024, 0.028, x + out, 0.02, True),
                    (0.80, 0.034, 0.038, x + out, 0.02, False), (0.88, 0.03, 0.034, x + out * 0.95, 0.015, False),
                    (0.88, 0.03, 0.034, x + out * 0.95, 0.015, False), (1.08, 0.038, 0.04, x + out * 0.6, 0.005, False),
                    (1.08, 0.038, 0.04, x + out * 0.6, 0.005, False), (1.24, 0.046, 0.048, x + out * 0.25, 0.0, True),
                    (1.35, 0.05, 0.052, x, 0.0, False), (1.39, 0.038, 0.042, x - 0.01 * side, 0.0, False),
                    (1.41, 0.0, 0.0, x - 0.02 * side, 0.0, False)], d.fine)
    return _split(rings, [MAT_SKIN, MAT_FOREARM, MAT_TOP], d.limbs, 3 if side < 0 else 4)


def avatar_mesh(detail: str = "near") -> mk.Mesh:
    """The smooth visitor facing +y with ``mat``, ``part`` and ``hairstyle`` columns: ``near`` (about 550
    vertices) for the closest, ``mid`` (about 220) for the rest of the nearby crowd; further off the crowd is
    impostors cut from the near one (:mod:`showroom.client.crowd_sprites`)."""
    d = MID if detail in ("mid", "far") else NEAR
    torso = [(0.95, 0.138, 0.092, 0.0, 0.0, False), (1.06, 0.15, 0.1, 0.0, 0.006, True),
             (1.18, 0.163, 0.11, 0.0, 0.014, False), (1.30, 0.176, 0.106, 0.0, 0.006, False),
             (1.38, 0.174, 0.095, 0.0, -0.004, False), (1.43, 0.13, 0.078, 0.0, -0.006, False),
             (1.47, 0.062, 0.06, 0.0, -0.005, False)]
    hips = [(0.785, 0.0, 0.0, 0.0, 0.0, False), (0.795, 0.095, 0.065, 0.0, 0.0, True),
            (0.83, 0.15, 0.09, 0.0, -0.002, False), (0.87, 0.16, 0.098, 0.0, -0.004, False),
            (0.95, 0.138, 0.092, 0.0, 0.0, False)]
    body = _split(_rings(hips + torso, d.fine), [MAT_BOTTOM, MAT_TOP], d.body)
    neck = _tag(mk.lathe([(1.43, 0.054, 0.052, 0.0, -0.006), (1.56, 0.047, 0.048, 0.0, -0.004)], _WHITE,
                         max(d.limbs, 4)), MAT_SKIN)
    head = _tag(_ellipsoid(HEAD_C, HEAD_R, *d.head), MAT_SKIN)
    long_hair = mk.lathe(_rings([(1.29, 0.0, 0.0, 0.0, -0.12, False), (1.34, 0.1, 0.032, 0.0, -0.118, True),
                                 (1.47, 0.112, 0.05, 0.0, -0.095, False), (1.6, 0.106, 0.082, 0.0, -0.05, False),
                                 (1.7, 0.086, 0.078, 0.0, -0.025, True), (1.745, 0.0, 0.0, 0.0, -0.02, False)],
                                d.fine), _WHITE, d.hair)
    bun = _ellipsoid((0.0, -0.078, 1.72), (0.052, 0.046, 0.048), *d.bun)
    parts = [body, neck, head, _hair_cap(*d.cap), _tag(long_hair, MAT_HAIR, hairstyle=HAIR_LONG),
             _tag(bun, MAT_HAIR, hairstyle=HAIR_BUN), _leg(-1, d), _leg(1, d), _arm(-1, d), _arm(1, d)]
    if d.fine:
        parts += [_eye(-0.032), _eye(0.032)]
    mesh = mk.combine(parts)
    for key in ("mat", "part", "hairstyle"):
        mesh.extra.setdefault(key, np.zeros(len(mesh.v), np.float32))
    return mesh


def swing(part: NDArray[np.float32], phase: float, walking: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Swing angle (radians, about x) and pivot height (m) per vertex at walk ``phase`` 0-1."""
    cycle = math.sin(phase * 2 * math.pi) * walking
    forward = np.where((part < 1.5) | (part > 3.5), 1.0, -1.0)
    arm = part > 2.5
    ang = np.where(part > 0.5, cycle * forward * np.where(arm, ARM_SWING, LEG_SWING), 0.0)
    return ang, np.where(arm, SHOULDER_Z, HIP_Z)


def pose(mesh: mk.Mesh, style: int, phase: float, walking: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Vertices and normals of ``mesh`` as the vertex shader places them for hairstyle ``style`` at ``phase``
    (before the body scale, turn and bob), and which vertices are kept (unused hair is dropped)."""
    tag = mesh.extra["hairstyle"].astype(np.int64)
    keep = (tag == 0) | ((tag & int(STYLE_MASK[style])) != 0)
    p = mesh.v.astype(np.float64).copy()
    n = mesh.n.astype(np.float64).copy()
    if style == STYLE_BUZZ:
        cap = tag == HAIR_CAP
        p[cap] = np.asarray(HEAD_C) + (p[cap] - np.asarray(HEAD_C)) * BUZZ_SHRINK
    ang, pivot = swing(mesh.extra["part"], phase, walking)
    c, s = np.cos(ang), np.sin(ang)
    dz = p[:, 2] - pivot
    p[:, 1], p[:, 2] = p[:, 1] * c - dz * s, p[:, 1] * s + dz * c + pivot
    n[:, 1], n[:, 2] = n[:, 1] * c - n[:, 2] * s, n[:, 1] * s + n[:, 2] * c
    return p, n, keep
