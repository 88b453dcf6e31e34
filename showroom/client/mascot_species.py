"""What animal a mascot is (from its name, else its ears and tail), the tones it is drawn in,
and the small shape helpers its parts are made of (:mod:`showroom.client.mascot_parts`).

Colours are tones of the mascot's fur (lighter for bellies and muzzles, darker for paws and
socks) and its brand accent as fabric (a bow tie, a collar); nothing is near black but pupils
and noses. Pure NumPy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from showroom.client import meshes as mk
from showroom.scene.show import Mascot

Color = tuple[float, float, float, float]

SPECIES = ("bear", "fox", "cat", "rabbit", "dog", "owl", "bird")
"""The animals a mascot is drawn as."""

_WORDS = {
    "bear": "bear", "teddy": "bear", "panda": "bear", "koala": "bear", "fox": "fox", "vixen": "fox",
    "cat": "cat", "kitty": "cat", "kitten": "cat", "lion": "cat", "tiger": "cat", "rabbit": "rabbit",
    "bunny": "rabbit", "hare": "rabbit", "dog": "dog", "puppy": "dog", "pup": "dog", "hound": "dog",
    "owl": "owl", "owlet": "owl", "bird": "bird", "penguin": "bird", "duck": "bird", "chick": "bird",
    "parrot": "bird",
}
_BY_EARS = {"round": "bear", "long": "rabbit", "floppy": "dog", "none": "bird"}
NEAR_BLACK = 0.12
"""Luminance under which a colour reads as a hole in the figure; only pupils and noses go there."""
DARK_PARTS = ("pupils", "nose")
"""The parts allowed to be near black."""


def species_of(mascot: Mascot) -> str:
    """The animal a mascot is: a word of its name or id (``Olive the Owl``, ``teddy``), else its ears and tail."""
    for word in re.findall(r"[a-z]+", f"{mascot.name} {mascot.id}".lower()):
        if word in _WORDS:
            return _WORDS[word]
    b = mascot.body
    if b.ears == "pointed":
        return "fox" if b.tail == "bushy" else "cat"
    return _BY_EARS[b.ears]


# ---- colour -------------------------------------------------------------------------------
def luminance(c: Sequence[float]) -> float:
    """Relative brightness 0-1 of an RGB(A) colour."""
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def mix(a: tuple[float, ...], b: tuple[float, ...], t: float) -> Color:
    """The colour ``t`` of the way from ``a`` to ``b`` (opaque)."""
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t, 1.0)


def _lift(c: tuple[float, ...], least: float) -> Color:
    """``c`` brightened (hue kept) until its luminance is at least ``least``."""
    lum = luminance(c)
    if lum >= least:
        return (c[0], c[1], c[2], 1.0)
    if lum < 1e-3:
        return (least, least, least, 1.0)
    k = least / lum
    out = [min(1.0, ch * k) for ch in c[:3]]
    while luminance(out) < least - 1e-3:  # a channel clipped: mix towards grey for the rest
        out = [min(1.0, ch + 0.02) for ch in out]
    return (out[0], out[1], out[2], 1.0)


CREAM = (1.0, 0.96, 0.88, 1.0)
PINK = (0.96, 0.62, 0.68, 1.0)
WHITE = (1.0, 1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Tones:
    """A mascot's palette: fur and its lighter and darker tones, fabric accent, eyes, nose."""

    fur: Color
    light: Color
    dark: Color
    accent: Color
    accent_is_light: bool
    pupil: Color
    nose: Color
    pink: Color

    @classmethod
    def of(cls, mascot: Mascot) -> Tones:
        """Tones from the mascot's colours: fur never near black, the accent as fabric, pupils as given."""
        fur = _lift(mk.rgba(mascot.colors.body), 0.16)
        accent = mk.rgba(mascot.colors.accent)
        light = mix(fur, CREAM if luminance(fur) < 0.6 else WHITE, 0.45)
        dark = _lift(mix(fur, (0.12, 0.08, 0.06), 0.35), 0.14)
        pink_accent = accent[0] > 0.75 and accent[0] > accent[1] + 0.2 and accent[2] > accent[1] - 0.05
        return cls(fur=fur, light=light, dark=dark, accent=_lift(accent, 0.2),
                   accent_is_light=luminance(accent) > 0.6, pupil=mk.rgba(mascot.colors.eyes),
                   nose=mix(mk.rgba(mascot.colors.eyes), (0.22, 0.13, 0.11), 0.5),
                   pink=_lift(accent, 0.3) if pink_accent else PINK)


# ---- geometry helpers ---------------------------------------------------------------------
def turned(m: mk.Mesh, h: float = 0.0, p: float = 0.0, r: float = 0.0) -> mk.Mesh:
    """``m`` turned about the origin by heading ``h`` (about z), pitch ``p`` (x), roll ``r`` (y), degrees."""
    ch, sh = math.cos(math.radians(h)), math.sin(math.radians(h))
    cp, sp = math.cos(math.radians(p)), math.sin(math.radians(p))
    cr, sr = math.cos(math.radians(r)), math.sin(math.radians(r))
    rz = np.array([[ch, -sh, 0], [sh, ch, 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cr, 0, sr], [0, 1, 0], [-sr, 0, cr]])
    rot = (rz @ rx @ ry).T.astype(np.float32)
    return mk.Mesh((m.v @ rot).astype(np.float32), (m.n @ rot).astype(np.float32), m.c, m.tri, m.extra)


def cone(base: tuple[float, float, float], radius: float, length: float, color: Color, h: float = 0.0,
         p: float = 0.0, r: float = 0.0, flat: float = 1.0, segments: int = 12) -> mk.Mesh:
    """A cone from ``base`` (its base's middle) pointing up, squashed to ``flat`` in y, then turned (degrees)."""
    c = mk.cylinder((0, 0, 0), radius, length, color, segments=segments, top_radius=0.0).scaled((1, flat, 1))
    return turned(c, h, p, r).moved(base)


def blob(center: tuple[float, float, float], radii: tuple[float, float, float], color: Color, h: float = 0.0,
         p: float = 0.0, r: float = 0.0, rings: int = 8, segments: int = 12) -> mk.Mesh:
    """An ellipsoid turned about its own middle (degrees)."""
    return turned(mk.ellipsoid((0, 0, 0), radii, color, rings, segments), h, p, r).moved(center)


def soft(m: mk.Mesh) -> mk.Mesh:
    """Soft shading baked into the vertex colours: a little lighter facing up, darker underneath,
    with a faint deterministic mottle so large fur areas do not read as plastic."""
    if not len(m.v):
        return m
    up = 0.86 + 0.14 * m.n[:, 2]
    mottle = 1.0 + 0.025 * np.sin(m.v[:, 0] * 53.0 + m.v[:, 1] * 37.0) * np.cos(m.v[:, 2] * 41.0)
    c = m.c.copy()
    c[:, :3] = np.clip(c[:, :3] * (up * mottle)[:, None], 0.0, 1.0)
    return mk.Mesh(m.v, m.n, c.astype(np.float32), m.tri, m.extra)
