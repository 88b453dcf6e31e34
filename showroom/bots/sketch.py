"""A bot's challenge entry: a small fashion sketch drawn by code in a brand's palette, written as a PNG.

Every bot draws a different dress (silhouette, flare, hem, pattern, petals, colours) from its own
seed, so a wall of bot entries looks like a wall of varied entries rather than noise. Drawn with NumPy
masks, written as PNG by Pillow.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image

WIDTH_PX, HEIGHT_PX = 180, 240
MAX_ENTRY_BYTES = 60_000
"""A bot's entry stays under this size (a few dozen upload parts at most)."""
FALLBACK_PALETTE = ("#1c2340", "#d4af37", "#f6f1e7")
ROSE = "#c8506a"
"""The challenge's rose, mixed into some dresses beside the brand's colours."""

PATTERNS = ("plain", "stripes", "dots", "petals", "chevrons")


def rgb(colour: str) -> np.ndarray:
    """``#rrggbb`` as three uint8 channels."""
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """An RGB uint8 array (height, width, 3) as PNG file bytes."""
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8), "RGB").save(out, "PNG", optimize=False)
    return out.getvalue()


def _outline(mask: np.ndarray, width_px: int = 2) -> np.ndarray:
    """The pixels of ``mask`` within ``width_px`` of its edge."""
    inner = mask.copy()
    for _ in range(width_px):
        inner = (inner & np.roll(inner, 1, 0) & np.roll(inner, -1, 0) & np.roll(inner, 1, 1) & np.roll(inner, -1, 1))
    return mask & ~inner


def _box(x: float, y: float, r: float) -> tuple[slice, slice]:
    """The rows and columns within ``r`` pixels of (x, y), clipped to the picture."""
    return (slice(max(int(y - r), 0), min(int(y + r) + 2, HEIGHT_PX)),
            slice(max(int(x - r), 0), min(int(x + r) + 2, WIDTH_PX)))


def _segment(image: np.ndarray, xx: np.ndarray, yy: np.ndarray, start: tuple[float, float],
             end: tuple[float, float], width_px: float, colour: np.ndarray) -> None:
    """Draw a straight stroke from ``start`` to ``end``, ``width_px`` wide."""
    (sx, sy), (ex, ey) = start, end
    box = (slice(max(int(min(sy, ey) - width_px), 0), min(int(max(sy, ey) + width_px) + 2, HEIGHT_PX)),
           slice(max(int(min(sx, ex) - width_px), 0), min(int(max(sx, ex) + width_px) + 2, WIDTH_PX)))
    x, y = xx[box], yy[box]
    t = np.clip(((x - sx) * (ex - sx) + (y - sy) * (ey - sy)) / max((ex - sx) ** 2 + (ey - sy) ** 2, 1e-6), 0, 1)
    image[box][(x - (sx + t * (ex - sx))) ** 2 + (y - (sy + t * (ey - sy))) ** 2 <= (width_px / 2) ** 2] = colour


def _mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return (a.astype(np.float32) * (1 - t) + b.astype(np.float32) * t).astype(np.uint8)


def draw_sketch(seed: int | str, palette: tuple[str, ...] = FALLBACK_PALETTE) -> np.ndarray:
    """A dress on paper, different for every ``seed``: an RGB uint8 array of HEIGHT_PX x WIDTH_PX."""
    rng = random.Random(seed)
    colours = [rgb(c) for c in (palette or FALLBACK_PALETTE)]
    by_light = sorted(colours, key=lambda c: int(c.astype(int).sum()))
    ink, paper = by_light[0], _mix(by_light[-1], np.array([255, 255, 255], np.uint8), 0.3)
    rose = rgb(ROSE)
    fill = rng.choice([*(colours[1:-1] or colours), rose, _mix(rng.choice(colours), rose, rng.uniform(0.3, 0.7))])
    accent = rng.choice([c for c in (*colours, rose) if not np.array_equal(c, fill)] or [ink])
    image = np.empty((HEIGHT_PX, WIDTH_PX, 3), np.uint8)
    image[:] = _mix(paper, fill, rng.uniform(0.0, 0.12))
    yy, xx = np.mgrid[0:HEIGHT_PX, 0:WIDTH_PX].astype(np.float32)
    cx = WIDTH_PX / 2 + rng.uniform(-12, 12)
    head_y, waist_y, hem_y = 38 + rng.uniform(-4, 4), 98 + rng.uniform(-10, 10), 214 + rng.uniform(-14, 6)
    shoulder, waist = rng.uniform(17, 26), rng.uniform(9, 14)
    hem, flare = rng.uniform(34, 80), rng.choice((0.6, 1.0, 1.6, 2.6))
    # bodice: shoulders to waist, narrowing; skirt: waist to hem, flaring by a power of the depth
    t_bod = np.clip((yy - (head_y + 20)) / max(waist_y - head_y - 20, 1), 0, 1)
    bodice = (yy >= head_y + 20) & (yy <= waist_y) & (np.abs(xx - cx) <= shoulder + (waist - shoulder) * t_bod)
    scallops, depth = rng.choice((0, 4, 6, 9)), rng.uniform(3, 9)
    hem_line = hem_y - (depth * np.abs(np.sin((xx - cx) * np.pi * scallops / (2 * hem))) if scallops else 0.0)
    t_sk = np.clip((yy - waist_y) / max(hem_y - waist_y, 1), 0, 1)
    skirt = (yy > waist_y) & (yy <= hem_line) & (np.abs(xx - cx) <= waist + (hem - waist) * t_sk ** flare)
    dress = bodice | skirt
    image[dress] = fill
    pattern = rng.choice(PATTERNS)
    if pattern == "stripes":
        period, angle = rng.uniform(7, 14), rng.uniform(-0.8, 0.8)
        image[skirt & (((xx * np.cos(angle) + yy * np.sin(angle)) % period) < period * 0.35)] = accent
    elif pattern == "dots":
        step, r = rng.uniform(9, 15), rng.uniform(1.6, 3.2)
        image[skirt & (((xx - cx) % step - step / 2) ** 2 + ((yy % step) - step / 2) ** 2 < r * r)] = accent
    elif pattern == "chevrons":
        period = rng.uniform(9, 16)
        image[skirt & (((yy + np.abs(xx - cx) * 0.7) % period) < period * 0.3)] = accent
    elif pattern == "petals":
        for _ in range(rng.randint(5, 14)):
            py = rng.uniform(waist_y + 8, hem_y - 6)
            px = cx + rng.uniform(-1, 1) * (waist + (hem - waist) * ((py - waist_y) / (hem_y - waist_y)) ** flare) * 0.8
            a, b, turn = rng.uniform(4, 9), rng.uniform(2, 4), rng.uniform(0, np.pi)
            box = _box(px, py, a)  # only the pixels around the petal
            dx, dy = xx[box] - px, yy[box] - py
            u, v = dx * np.cos(turn) + dy * np.sin(turn), -dx * np.sin(turn) + dy * np.cos(turn)
            image[box][((u / a) ** 2 + (v / b) ** 2 <= 1) & dress[box]] = accent
    sash = (yy >= waist_y - 3) & (yy <= waist_y + 3) & dress
    if rng.random() < 0.6:
        image[sash] = accent
    head = (xx - cx) ** 2 + (yy - head_y) ** 2 <= 11.0 ** 2
    neck = (np.abs(xx - cx) <= 2) & (yy > head_y + 10) & (yy < head_y + 21)
    image[_outline(dress) | _outline(head, 1) | neck] = ink
    for side in (-1, 1):  # a straight arm from the shoulder, at its own angle
        sx, sy = cx + side * (shoulder - 2), head_y + 22
        _segment(image, xx, yy, (sx, sy), (sx + side * rng.uniform(6, 22), sy + rng.uniform(40, 60)), 3.2, ink)
    _signature(image, xx, yy, rng, ink)
    return image


def _signature(image: np.ndarray, xx: np.ndarray, yy: np.ndarray, rng: random.Random, ink: np.ndarray) -> None:
    """A small scribble in the corner, the bot's own hand."""
    x, y = WIDTH_PX - rng.uniform(38, 48), HEIGHT_PX - rng.uniform(10, 16)
    for _ in range(rng.randint(10, 16)):
        nx, ny = x + rng.uniform(1.5, 3.5), y + rng.uniform(-3.5, 3.5)
        ny = min(max(ny, HEIGHT_PX - 20), HEIGHT_PX - 4)
        _segment(image, xx, yy, (x, y), (nx, ny), 1.8, ink)
        x, y = nx, ny


def sketch_png(seed: int | str, palette: tuple[str, ...] = FALLBACK_PALETTE) -> bytes:
    """:func:`draw_sketch` as PNG file bytes, at most :data:`MAX_ENTRY_BYTES`."""
    data = png_bytes(draw_sketch(seed, palette))
    if len(data) > MAX_ENTRY_BYTES:  # not seen with these shapes; a flat dress keeps the promise if ever
        data = png_bytes(np.full((HEIGHT_PX, WIDTH_PX, 3), rgb((palette or FALLBACK_PALETTE)[0]), np.uint8))
    return data
