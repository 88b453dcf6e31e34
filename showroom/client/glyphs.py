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
