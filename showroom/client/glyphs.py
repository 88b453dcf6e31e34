"""Procedural images drawn with NumPy: the reaction glyph atlas and simple icons.

Reactions in wire order: applause, heart, wow, laugh, fire, camera. Each glyph is a white
bubble with a coloured sign, 64 x 64 pixels, side by side in one RGBA texture.
"""

from __future__ import annotations

import numpy as np
from panda3d.core import Texture

SIZE = 64


def _grid() -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    return (x + 0.5) / SIZE * 2 - 1, 1 - (y + 0.5) / SIZE * 2  # -1..1, y up


def _paint(img: np.ndarray, mask: np.ndarray, color: tuple[float, float, float]) -> None:
    img[mask, :3] = color
    img[mask, 3] = 1.0


def _face(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    _paint(img, x * x + y * y < 0.62 ** 2, (1.0, 0.82, 0.2))
    _paint(img, ((x - 0.22) ** 2 + (y - 0.18) ** 2 < 0.08 ** 2) | ((x + 0.22) ** 2 + (y - 0.18) ** 2 < 0.08 ** 2),
           (0.2, 0.12, 0.05))


def glyph(index: int) -> np.ndarray:
    """The RGBA float image (64, 64, 4) of reaction ``index``, top row first."""
    x, y = _grid()
    img = np.zeros((SIZE, SIZE, 4), np.float32)
    _paint(img, x * x + y * y < 0.95 ** 2, (1, 1, 1))
    _paint(img, (x * x + y * y > 0.86 ** 2) & (x * x + y * y < 0.95 ** 2), (0.2, 0.2, 0.25))
    if index == 0:  # applause: a burst of rays
        ang = np.arctan2(y, x)
        r = np.hypot(x, y)
        _paint(img, (r < 0.7) & ((np.cos(ang * 8) > 0.55) | (r < 0.28)), (0.95, 0.65, 0.1))
    elif index == 1:  # heart
        hx, hy = x / 0.62, (y + 0.1) / 0.62
        _paint(img, (hx * hx + hy * hy - 1) ** 3 - hx * hx * hy ** 3 < 0, (0.9, 0.1, 0.25))
    elif index == 2:  # wow: face with a round mouth
        _face(img, x, y)
        _paint(img, x * x + (y + 0.25) ** 2 < 0.15 ** 2, (0.35, 0.1, 0.05))
    elif index == 3:  # laugh: face with a wide smile
        _face(img, x, y)
        _paint(img, (x * x + (y + 0.05) ** 2 < 0.38 ** 2) & (y < -0.12), (0.45, 0.1, 0.08))
    elif index == 4:  # fire: a flame
        fy = (y + 0.55) / 1.2
        width = 0.45 * np.sqrt(np.clip(fy, 0, 1)) * np.clip(1.1 - fy, 0, 1) * 1.6
        _paint(img, (np.abs(x) < width) & (fy > 0), (1.0, 0.45, 0.05))
        _paint(img, (np.abs(x) < width * 0.5) & (fy > 0) & (fy < 0.6), (1.0, 0.85, 0.2))
    else:  # camera: body and lens
        _paint(img, (np.abs(x) < 0.6) & (np.abs(y + 0.05) < 0.38), (0.25, 0.25, 0.3))
        _paint(img, (np.abs(x + 0.25) < 0.15) & (np.abs(y - 0.4) < 0.1), (0.25, 0.25, 0.3))
        _paint(img, x * x + (y + 0.05) ** 2 < 0.26 ** 2, (0.6, 0.8, 1.0))
    return img


def to_texture(img: np.ndarray, name: str) -> Texture:
    """An RGBA float image (top row first) as a Panda3D texture."""
    h, w = img.shape[:2]
    data = (np.clip(img, 0, 1) * 255).astype(np.uint8)[::-1, :, [2, 1, 0, 3]]  # BGRA, bottom row first
    tex = Texture(name)
    tex.setup2dTexture(w, h, Texture.T_unsigned_byte, Texture.F_rgba8)
    tex.setRamImage(np.ascontiguousarray(data).tobytes())
    tex.setWrapU(Texture.WM_clamp)
    tex.setWrapV(Texture.WM_clamp)
    return tex


def reaction_atlas() -> Texture:
    """All six reaction glyphs side by side."""
    return to_texture(np.concatenate([glyph(i) for i in range(6)], axis=1), "reactions")


SPRITE_ANGLES = 8
SPRITE_PHASES = 4
SPRITE_W, SPRITE_H = 36, 96
SPRITE_M = (0.72, 1.92)
"""A far avatar's billboard in metres (width, height): 50 pixels per metre in the atlas."""
TINT = (1.0, 1.0, 1.0)
"""Pure white in a sprite marks the outfit: the shader paints it in the avatar's colour."""

# the blocky avatar of crowd_view.avatar_mesh: (centre x, centre y, width, depth, z0, z1, colour, part)
_SKIN, _HAIR, _TROUSERS, _EYES = (0.93, 0.76, 0.62), (0.25, 0.17, 0.12), (0.18, 0.2, 0.26), (0.1, 0.1, 0.1)
_PARTS = [
    (-0.1, 0.0, 0.14, 0.16, 0.0, 0.85, _TROUSERS, "left_leg"),
    (0.1, 0.0, 0.14, 0.16, 0.0, 0.85, _TROUSERS, "right_leg"),
    (0.0, 0.0, 0.42, 0.24, 0.82, 1.42, TINT, "torso"),
    (-0.27, 0.0, 0.11, 0.13, 0.82, 1.38, TINT, "left_arm"),
    (0.27, 0.0, 0.11, 0.13, 0.82, 1.38, TINT, "right_arm"),
    (0.0, 0.0, 0.24, 0.26, 1.44, 1.72, _SKIN, "head"),
    (0.0, -0.02, 0.27, 0.3, 1.70, 1.78, _HAIR, "hair"),
]


def avatar_sprite(angle: float, phase: float) -> np.ndarray:
    """The blocky avatar seen from the side at ``angle`` (radians; 0 = facing the viewer),
    at walk ``phase`` (0-1), as an RGBA float image (96, 32, 4), top row first."""
    img = np.zeros((SPRITE_H, SPRITE_W, 4), np.float32)
    px = SPRITE_W / SPRITE_M[0]
    ca, sa = np.cos(angle), np.sin(angle)
    swing = np.sin(phase * 2 * np.pi) * 0.5
    drawn = []
    for x, y, w, d, z0, z1, color, part in _PARTS:
        forward = 0.0
        if part.endswith("leg"):
            forward = (1 if part == "left_leg" else -1) * np.sin(swing) * 0.35
        elif part.endswith("arm"):
            forward = (-1 if part == "left_arm" else 1) * np.sin(swing) * 0.3
        u = -x * ca + (y + forward) * sa  # screen-right of the viewer, metres
        depth = x * sa + (y + forward) * ca  # towards the viewer
        half = (w * abs(ca) + d * abs(sa)) / 2
        drawn.append((depth, u, half, z0, z1, color, part))
    for depth, u, half, z0, z1, color, part in sorted(drawn, key=lambda p: p[0]):  # far parts first
        c0 = int(round((u - half) * px + SPRITE_W / 2))
        c1 = int(round((u + half) * px + SPRITE_W / 2))
        r0 = int(round(SPRITE_H - z1 * px))
        r1 = int(round(SPRITE_H - z0 * px))
        c0, c1 = max(c0, 0), min(max(c1, c0 + 1), SPRITE_W)
        shade = 1.0 if part in ("head", "hair", "torso") else 0.85
        if part == "head" and ca < -0.3:
            color = _HAIR  # seen from behind: the back of the head is hair
        img[max(r0, 0):r1, c0:c1, :3] = np.asarray(color) * (1.0 if color == TINT else shade)
        img[max(r0, 0):r1, c0:c1, 3] = 1.0
        if part == "head" and ca > 0.4:  # eyes on the face, towards the viewer
            eye_row = int(round(SPRITE_H - 1.6 * px))
            for side in (-0.05, 0.05):
                col = int(round((u - side * ca) * px + SPRITE_W / 2))
                img[eye_row:eye_row + 2, col - 1:col + 1, :3] = _EYES
    return img


def sprite_atlas() -> Texture:
    """Every view angle (columns) and walk phase (rows) of the far avatar in one texture."""
    rows = []
    for r in range(SPRITE_PHASES):
        rows.append(np.concatenate([avatar_sprite(k * 2 * np.pi / SPRITE_ANGLES, r / SPRITE_PHASES)
                                    for k in range(SPRITE_ANGLES)], axis=1))
    tex = to_texture(np.concatenate(rows, axis=0), "avatar-sprites")
    tex.setMinfilter(Texture.FT_nearest)
    tex.setMagfilter(Texture.FT_nearest)
    return tex
