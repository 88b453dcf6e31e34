"""How each visitor looks, drawn from a hash of its id: skin, hair, hairstyle, build and outfit.

The same id gives the same person on every frame and every client. The crowd's vertex and
sprite shaders compute these fields from the id themselves (``crowd_shaders`` builds its
GLSL from the tables and bit fields here); :func:`avatar_looks` is the NumPy twin, for the
no-shader fallback, the NodePath bench and tests. No panda3d here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]

OUTFITS = np.array([
    (0.85, 0.25, 0.30), (0.20, 0.45, 0.80), (0.95, 0.75, 0.20), (0.25, 0.65, 0.45), (0.60, 0.35, 0.75),
    (0.95, 0.55, 0.25), (0.30, 0.75, 0.80), (0.90, 0.90, 0.92), (0.15, 0.15, 0.18), (0.75, 0.45, 0.55),
    (0.45, 0.55, 0.25), (0.35, 0.30, 0.65), (0.95, 0.45, 0.60), (0.55, 0.75, 0.95), (0.70, 0.20, 0.15),
    (0.40, 0.85, 0.55),
], np.float32)
"""The default clothing colours (tops, and half the bottoms); an event's brand colours join them."""
PALETTE_MAX = 32
"""At most this many clothing colours (the shader's uniform array): the defaults and up to 16 brand colours."""
SKIN = np.array([
    (0.97, 0.85, 0.76), (0.93, 0.77, 0.65), (0.87, 0.68, 0.54), (0.78, 0.59, 0.44),
    (0.67, 0.47, 0.33), (0.55, 0.37, 0.25), (0.42, 0.27, 0.18), (0.30, 0.19, 0.13),
], np.float32)
"""Skin tones from very fair to deep."""
HAIR = np.array([
    (0.05, 0.045, 0.045), (0.11, 0.08, 0.06), (0.21, 0.13, 0.08), (0.36, 0.22, 0.13),
    (0.50, 0.21, 0.11), (0.80, 0.64, 0.36), (0.62, 0.61, 0.60), (0.54, 0.39, 0.24),
], np.float32)
"""Hair colours: black, soft black, dark brown, brown, auburn, blonde, grey, light brown."""
BOTTOMS = np.array([
    (0.22, 0.32, 0.50), (0.13, 0.17, 0.29), (0.08, 0.08, 0.09), (0.25, 0.25, 0.27),
    (0.48, 0.48, 0.50), (0.64, 0.56, 0.41), (0.12, 0.14, 0.27), (0.84, 0.80, 0.72),
], np.float32)
"""Everyday trousers and skirts (denim, dark denim, black, charcoal, grey, khaki, navy, cream); the
other half of the bottoms come from the clothing palette."""
SHOES = np.array([(0.07, 0.07, 0.08), (0.26, 0.16, 0.10), (0.88, 0.88, 0.86), (0.35, 0.35, 0.38)], np.float32)
"""Black, brown, white and grey shoes."""
ME_COLOR = (1.0, 0.85, 0.1)
"""The visitor's own avatar wears gold, top and bottom, so it is unmistakable."""
ME_BOTTOM = (0.62, 0.47, 0.05)
"""The darker gold of the visitor's own trousers."""

STYLE_SHORT, STYLE_LONG, STYLE_BUN, STYLE_BUZZ, STYLE_BALD = range(5)
STYLES = 5
STYLE_TABLE = np.array([STYLE_SHORT, STYLE_LONG, STYLE_LONG, STYLE_BUN, STYLE_SHORT, STYLE_BUZZ, STYLE_LONG,
                        STYLE_BALD], np.int64)
"""Three hash bits pick a hairstyle through this table (long hair is the most common)."""
HAIR_CAP, HAIR_LONG, HAIR_BUN = 1, 2, 4
"""Bits of a hair vertex's ``hairstyle`` tag: the cap on the skull, hair down the back, a bun."""
STYLE_MASK = np.array([HAIR_CAP, HAIR_CAP | HAIR_LONG, HAIR_CAP | HAIR_BUN, HAIR_CAP, 0], np.int64)
"""Which hair pieces each style keeps (the rest collapse to a point); a buzz cut keeps the cap pulled tight."""
BUZZ_SHRINK = 0.98
"""A buzz cut's cap is the short cap scaled by this about the head's centre: just over the scalp."""
BUZZ_MIX = 0.45
"""A buzz cut's colour is this much skin showing through the hair colour."""

MAT_FIXED, MAT_SKIN, MAT_HAIR, MAT_TOP, MAT_BOTTOM, MAT_SHIN, MAT_FOREARM, MAT_SHOES = range(8)
"""Per-vertex material codes: vertex colour, skin, hair, top, bottom, lower leg (skin in shorts), forearm
(skin in short sleeves), shoes."""

HEIGHT_RANGE = (0.92, 1.08)
WIDTH_RANGE = (0.88, 1.12)

# bit fields of the first hash: (shift, bits)
F_SKIN, F_HAIR, F_STYLE, F_HEIGHT, F_WIDTH, F_SLEEVES, F_SHORTS, F_SHOES = (
    (0, 3), (3, 3), (6, 3), (9, 8), (17, 8), (25, 2), (27, 2), (29, 2))
SECOND_SALT = 0x9E3779B9
"""The second hash (clothing colours) is the first one mixed again after xor with this."""


def mix32(x: NDArray[np.uint32]) -> NDArray[np.uint32]:
    """A 32-bit integer mix (lowbias32): every input bit flips about half the output bits."""
    x = x.astype(np.uint32, copy=True)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def field(h: NDArray[np.uint32], spec: tuple[int, int]) -> NDArray[np.int64]:
    """The bit field ``spec`` (shift, bits) of hashes ``h``."""
    shift, bits = spec
    return ((h >> np.uint32(shift)) & np.uint32((1 << bits) - 1)).astype(np.int64)


GOLD_CLEARANCE = 0.3
"""Clothing colours nearer than this (RGB distance) to :data:`ME_COLOR` are left out, so only the visitor wears
gold (the default palette's yellow and, say, a brand's gold)."""


def clothing_palette(brand: Sequence[tuple[float, float, float]] | None = None) -> F32:
    """The default clothing colours with the event's brand colours (RGB 0-1) added, at most 32 in all, none of
    them the visitor's gold."""
    colors = OUTFITS
    if brand:
        extra = np.clip(np.asarray(brand, np.float32).reshape(-1, 3), 0.0, 1.0)
        _, first = np.unique(np.round(extra * 255).astype(np.int64), axis=0, return_index=True)
        colors = np.concatenate([OUTFITS, extra[np.sort(first)]])
    clear = np.linalg.norm(colors - np.asarray(ME_COLOR, np.float32), axis=1) >= GOLD_CLEARANCE
    return colors[clear][:PALETTE_MAX].astype(np.float32)


def brand_colors(hexes: Iterable[str]) -> list[tuple[float, float, float]]:
    """``#rrggbb`` colours (a scene's brand palettes) as RGB tuples 0-1, for ``CrowdView(palette=...)``."""
    out = []
    for text in hexes:
        h = text.lstrip("#")
        out.append((int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255))
    return out


@dataclass(frozen=True)
class Looks:
    """Per-avatar appearance, one row per id (colours RGB 0-1, scales about 1)."""

    skin: F32
    hair: F32
    style: NDArray[np.int64]
    height: F32
    width: F32
    top: F32
    bottom: F32
    shoes: F32
    short_sleeves: NDArray[np.bool_]
    shorts: NDArray[np.bool_]


def clothing_indices(ids: NDArray[np.int64], palette_size: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Top index into the palette, and bottom index: ``< 8`` into :data:`BOTTOMS`, else ``8 +`` a palette index
    other than the top's."""
    g = mix32(mix32(ids.astype(np.uint32)) ^ np.uint32(SECOND_SALT))
    n = np.uint32(palette_size)
    top = (g % n).astype(np.int64)
    other = ((top.astype(np.uint32) + np.uint32(1) + (g >> np.uint32(9)) % (n - np.uint32(1))) % n).astype(np.int64)
    plain = ((g >> np.uint32(24)) & np.uint32(1)) == 0
    bottom = np.where(plain, field(g, (25, 3)), len(BOTTOMS) + other)
    return top, bottom


def avatar_looks(ids: NDArray[np.int64], me: int = -1, palette: F32 | None = None) -> Looks:
    """How each avatar looks, from its id alone (the visitor's own avatar ``me`` dressed in gold); ``palette``
    from :func:`clothing_palette` (its default without one)."""
    pal = DEFAULT_PALETTE if palette is None else palette
    h = mix32(ids.astype(np.uint32))
    top_i, bottom_i = clothing_indices(ids, len(pal))
    top = pal[top_i].astype(np.float32)
    bottom = np.concatenate([BOTTOMS, pal])[bottom_i].astype(np.float32)
    mine = ids == me
    if me >= 0 and mine.any():
        top[mine] = ME_COLOR
        bottom[mine] = ME_BOTTOM
    return Looks(
        skin=SKIN[field(h, F_SKIN)],
        hair=HAIR[field(h, F_HAIR)],
        style=STYLE_TABLE[field(h, F_STYLE)],
        height=(HEIGHT_RANGE[0] + (HEIGHT_RANGE[1] - HEIGHT_RANGE[0]) * field(h, F_HEIGHT) / 255).astype(np.float32),
        width=(WIDTH_RANGE[0] + (WIDTH_RANGE[1] - WIDTH_RANGE[0]) * field(h, F_WIDTH) / 255).astype(np.float32),
        top=top,
        bottom=bottom,
        shoes=SHOES[field(h, F_SHOES)],
        short_sleeves=field(h, F_SLEEVES) == 0,
        shorts=field(h, F_SHORTS) == 0,
    )


DEFAULT_PALETTE = clothing_palette()


def outfit_colors(ids: NDArray[np.int64], me: int = -1, palette: F32 | None = None) -> F32:
    """The top (shirt, dress) colour per avatar id, the visitor's own avatar in gold."""
    return avatar_looks(ids, me, palette).top
