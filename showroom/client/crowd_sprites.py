"""Far-crowd impostors made from the near figure itself, so the two levels of detail match.

The smooth figure (:func:`showroom.client.avatar_figure.avatar_mesh`) is posed for each
hair shape and walk phase, seen from 8 directions and splatted into an atlas with a depth
test, in NumPy, once per process. A texel holds no colour but two bytes: a material code
(0: empty) and the baked light (shade and rim): the sprite shader paints it in the avatar's
own skin, hair and clothes, so one small atlas (under half a megabyte, which matters to a
software renderer's caches) serves every look.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from numpy.typing import NDArray
from panda3d.core import Texture

from showroom.client import meshes as mk
from showroom.client.avatar_figure import avatar_mesh, pose
from showroom.client.crowd_look import STYLE_BALD, STYLE_BUN, STYLE_BUZZ, STYLE_LONG, STYLE_SHORT, STYLES

ANGLES = 8
SHAPES = (STYLE_SHORT, STYLE_LONG, STYLE_BUN, STYLE_BALD)
"""Hairstyles with a row block of their own; a buzz cut is the short shape in its own colour."""
SHAPE_OF_STYLE = tuple(SHAPES.index(STYLE_SHORT if style == STYLE_BUZZ else style) for style in range(STYLES))
FRAMES = (0.0, 0.25, 0.75)
"""Walk phases drawn: legs together (also half a stride on), and the two longest strides."""
CELL_PX = (32, 74)
"""One view of one pose in the atlas (width, height pixels): 40 pixels per metre."""
SHADE_SCALE = 1.5
"""The light byte is the light times 255 divided by this (it runs a little over 1)."""
SPRITE_M = (0.8, 1.85)
"""A far avatar's billboard in metres (width, height), before its height scale: the toes of the longest stride
seen from the side are all it leaves out, for fewer fragments to discard."""
STEP_M = 0.011
"""Largest gap between splatted samples: under a texel (2 cm), so no holes."""


def _samples(mesh: mk.Mesh) -> mk.Mesh:
    """Points spread over every triangle of ``mesh`` (no triangles), with interpolated normals and the tags of
    the triangle's first corner."""
    p = mesh.v[mesh.tri]
    edge = np.max(np.linalg.norm(p - np.roll(p, 1, axis=1), axis=2), axis=1)
    steps = np.clip(np.ceil(edge / STEP_M), 1, 24).astype(int)
    vs, ns, tags = [], [], []
    for k in np.unique(steps):
        i, j = np.meshgrid(np.arange(k + 1), np.arange(k + 1), indexing="ij")
        keep = i + j <= k
        bary = np.column_stack([i[keep], j[keep], k - i[keep] - j[keep]]) / k  # (s, 3)
        tris = mesh.tri[steps == k]
        vs.append(np.einsum("sc,tcd->tsd", bary, mesh.v[tris]).reshape(-1, 3))
        ns.append(np.einsum("sc,tcd->tsd", bary, mesh.n[tris]).reshape(-1, 3))
        tags.append(np.repeat(tris[:, 0], len(bary)))
    first = np.concatenate(tags)
    v = np.concatenate(vs).astype(np.float32)
    n = np.concatenate(ns)
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-9)
    extra = {key: col[first] for key, col in mesh.extra.items()}
    return mk.Mesh(v, n.astype(np.float32), mesh.c[first], np.zeros((0, 3), np.uint32), extra)


def light_rig(angle: float) -> tuple[NDArray[np.float64], ...]:
    """Toward the viewer, the viewer's right, key and fill directions in the figure's frame, for a viewer at
    ``angle`` radians from its front (the shaders' ``rig``)."""
    d = np.array([math.sin(angle), math.cos(angle), 0.0])
    r = np.array([-math.cos(angle), math.sin(angle), 0.0])
    key = 0.55 * d - 0.45 * r + np.array([0, 0, 0.75])
    fill = 0.5 * d + 0.6 * r + np.array([0, 0, 0.1])
    return d, r, key / np.linalg.norm(key), fill / np.linalg.norm(fill)


def shade(n: NDArray[np.floating], key: NDArray[np.floating], fill: NDArray[np.floating],
          z: NDArray[np.floating]) -> NDArray[np.float64]:
    """The shaders' ``shade``: ambient, key and fill on unit normals ``n``, darker toward the floor."""
    ambient = 0.27 + 0.09 * n[:, 2]
    t = np.clip(z / 0.5, 0, 1)
    ao = 0.7 + 0.3 * t * t * (3 - 2 * t)
    return (ambient + 0.66 * np.maximum(n @ key, 0) + 0.26 * np.maximum(n @ fill, 0)) * ao


def _splat(cell: NDArray[np.uint8], p: NDArray[np.float64], n: NDArray[np.float64], mat: NDArray[np.float32],
           rest_z: NDArray[np.float32], angle: float) -> None:
    """Draw the points into one atlas cell (material code + 1, light) as seen from ``angle``."""
    d, r, key, fill = light_rig(angle)
    seen = n @ d > -0.15  # the far side is hidden anyway
    p, n, mat, rest_z = p[seen], n[seen], mat[seen], rest_z[seen]
    w, h = CELL_PX
    col = np.floor((p @ r / SPRITE_M[0] + 0.5) * w).astype(np.int64)
    row = np.floor((1 - p[:, 2] / SPRITE_M[1]) * h).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    at = np.flatnonzero(inside)
    pid = (row * w + col)[at]
    near = np.clip((2.0 - p[at] @ d) * 8000, 0, 65535).astype(np.int64)  # 0.1 mm steps, nearest first
    order = np.argsort(pid * 65536 + near)
    pid = pid[order]
    first = np.flatnonzero(np.concatenate([[True], pid[1:] != pid[:-1]]))
    win = at[order[first]]
    view = np.array([d[0], d[1], 0.25]) / math.hypot(1.0, 0.25)
    rim = (1 - np.clip(n[win] @ view, 0, 1)) ** 3 * 0.35
    light = (shade(n[win], key, fill, rest_z[win]) + rim) / SHADE_SCALE
    flat = cell.reshape(-1, 2)
    flat[pid[first]] = np.column_stack([mat[win] + 1, np.clip(np.round(light * 255), 0, 255)])


def _fill_holes(cell: NDArray[np.uint8]) -> None:
    """Cover a texel the splats missed when the texels on both sides of it (across or down) are covered."""
    for axis in (1, 0):
        before, after = np.roll(cell, 1, axis=axis), np.roll(cell, -1, axis=axis)
        hole = (cell[..., 0] == 0) & (before[..., 0] > 0) & (after[..., 0] > 0)
        cell[hole] = before[hole]


@cache
def impostor_image() -> NDArray[np.uint8]:
    """The atlas, top row first, two bytes a texel (material code + 1, light): columns are view angles (0: the
    viewer in front), rows are :data:`SHAPES` times :data:`FRAMES`."""
    w, h = CELL_PX
    img = np.zeros((len(SHAPES) * len(FRAMES) * h, ANGLES * w, 2), np.uint8)
    points = _samples(avatar_mesh())
    for s, style in enumerate(SHAPES):
        for f, phase in enumerate(FRAMES):
            row = s * len(FRAMES) + f
            p, n, keep = pose(points, style, phase)
            p, n, mat, rest_z = p[keep], n[keep], points.extra["mat"][keep], points.v[keep, 2]
            for k in range(ANGLES):
                cell = np.zeros((h, w, 2), np.uint8)
                _splat(cell, p, n, mat, rest_z, k * 2 * math.pi / ANGLES)
                _fill_holes(cell)
                img[row * h:(row + 1) * h, k * w:(k + 1) * w] = cell
    return img


@cache
def cell_spans() -> NDArray[np.float32]:
    """Per atlas cell (row-major: shape row, then view angle), the horizontal span its figure covers, as
    fractions of the cell width (from, to): the card is cut to it, since a software renderer pays for every
    fragment (a figure seen from the front is half as wide as one striding past)."""
    img = impostor_image()
    w, h = CELL_PX
    cells = img[..., 0].reshape(img.shape[0] // h, h, ANGLES, w).transpose(0, 2, 1, 3).reshape(-1, h, w)
    used = np.any(cells > 0, axis=1)  # (cells, w)
    anywhere = np.any(used, axis=1)
    first = np.where(anywhere, np.argmax(used, axis=1), w // 2)
    last = np.where(anywhere, w - np.argmax(used[:, ::-1], axis=1), w // 2)
    return (np.column_stack([first, last]) / w).astype(np.float32)


def impostor_atlas() -> Texture:
    """The impostor atlas as a two-channel texture sampled without filtering (texels are codes, not colours)."""
    img = impostor_image()
    tex = Texture("avatar-impostors")
    tex.setup2dTexture(img.shape[1], img.shape[0], Texture.T_unsigned_byte, Texture.F_rg)
    tex.setRamImage(np.ascontiguousarray(img[::-1]).tobytes())  # bottom row first
    tex.setMinfilter(Texture.FT_nearest)
    tex.setMagfilter(Texture.FT_nearest)
    tex.setWrapU(Texture.WM_clamp)
    tex.setWrapV(Texture.WM_clamp)
    return tex
