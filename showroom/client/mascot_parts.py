"""The named meshes that make a mascot recognisable, per joint of its figure: a bear's round
ears, light muzzle and belly patch; a fox's pointed snout, cream bib and brush; a rabbit's long
ears and cotton tail; an owl's facial disc, ringed eyes, beak, ear tufts and folded wings; a
cat's whiskers, a dog's floppy ears... for every ear and tail kind the scene format allows.

Pure NumPy (:mod:`showroom.client.meshes` shapes): :func:`build` returns the parts in each
joint's frame; :mod:`showroom.client.mascot_view` attaches and animates them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from showroom.client import meshes as mk
from showroom.client.mascot_species import CREAM, PINK, WHITE, Color, Tones, blob, cone, mix, soft, species_of, turned
from showroom.scene.show import Mascot


@dataclass
class Build:
    """A mascot's proportions (metres) and its named parts per joint, each in that joint's frame.

    Joints: ``upper`` (pivots at the hips), ``neck`` (top of the torso), ``tail``, ``arm`` and
    ``leg`` (one set per side, built for ``side`` -1 and 1: ``arm[-1]``...).
    """

    species: str
    leg_h: float
    torso_h: float
    head_r: float
    head_z: float
    shoulder: tuple[float, float]
    """x (each side) and z of the shoulders in the ``upper`` frame."""
    tail_at: tuple[float, float]
    """y and z of the tail root in the ``upper`` frame."""
    upper: dict[str, mk.Mesh] = field(default_factory=dict)
    neck: dict[str, mk.Mesh] = field(default_factory=dict)
    tail: dict[str, mk.Mesh] = field(default_factory=dict)
    arm: dict[int, dict[str, mk.Mesh]] = field(default_factory=dict)
    leg: dict[int, dict[str, mk.Mesh]] = field(default_factory=dict)

    @property
    def top_z(self) -> float:
        """Height of the top of the head above the feet (ears not counted)."""
        return self.leg_h + self.torso_h + self.head_z + self.head_r

    def parts(self) -> dict[str, mk.Mesh]:
        """Every part, by name, arms and legs once per side (``arm-left``, ``leg-right``...)."""
        out = {**self.upper, **self.neck, **self.tail}
        for joint, sides in (("arm", self.arm), ("leg", self.leg)):
            for side, parts in sides.items():
                for name, mesh in parts.items():
                    out[f"{name}-{'left' if side < 0 else 'right'}"] = mesh
        return out


def build(mascot: Mascot) -> Build:
    """The mascot's figure: proportions from its body, parts from its species, ears and tail."""
    kind = species_of(mascot)
    b = mascot.body
    h, bw, r = b.height, b.body_width, b.head_size / 2
    tones = Tones.of(mascot)
    bird = kind in ("owl", "bird")
    leg_h = (0.13 if bird else 0.27) * h
    torso_h = max(0.5 * h, bw) if bird else max(0.4 * h, bw * 0.9)
    head_z = 0.5 * r if bird else 0.9 * r
    fig = Build(kind, leg_h, torso_h, r, head_z, (bw * (0.5 if bird else 0.47), torso_h * (0.78 if bird else 0.82)),
                (-bw * 0.42, torso_h * 0.2))
    _torso(fig, mascot, tones)
    _head(fig, mascot, tones)
    _ears(fig, mascot, tones)
    for side in (-1, 1):
        fig.arm[side] = _wing(fig, side, bw, tones) if bird else _arm(fig, side, mascot, tones)
        fig.leg[side] = _leg(fig, side, mascot, tones)
    fig.tail = _tail(fig, mascot, tones)
    for group in (fig.upper, fig.neck, fig.tail, *fig.arm.values(), *fig.leg.values()):
        for name in list(group):
            group[name] = soft(group[name])
    return fig


def _torso(fig: Build, mascot: Mascot, t: Tones) -> None:
    bw, th, kind = mascot.body.body_width, fig.torso_h, fig.species
    ry = bw * 0.42
    if kind in ("owl", "bird"):
        fig.upper["torso"] = mk.ellipsoid((0, 0, th * 0.48), (bw / 2, bw * 0.46, th / 2 + 0.04), t.fur, 14, 18)
        belly = mk.ellipsoid((0, bw * 0.2, th * 0.42), (bw * 0.34, bw * 0.3, th * 0.36), t.light, 10, 14)
        if kind == "owl":  # the barred chest of an owl: rows of small darker chevrons on the light belly
            marks = []
            for row, z in enumerate(np.linspace(th * 0.18, th * 0.62, 4)):
                for x in np.linspace(-bw * 0.18, bw * 0.18, 3 + row % 2):
                    y = bw * 0.2 + _front(bw * 0.34, bw * 0.3, th * 0.36, x, z - th * 0.42)
                    for s in (-1, 1):
                        marks.append(blob((x + s * 0.018, y - 0.006, z), (0.026, 0.01, 0.008),
                                          mix(t.light, t.dark, 0.55), r=s * 30, rings=4, segments=6))
            belly = belly + mk.combine(marks)
        fig.upper["belly"] = belly
        return
    fig.upper["torso"] = mk.ellipsoid((0, 0, th / 2), (bw / 2, ry, th / 2 + 0.05), t.fur, 14, 18)
    if kind == "fox":  # a cream bib from the chin down the chest
        bib = t.accent if t.accent_is_light else t.light
        fig.upper["belly"] = mk.ellipsoid((0, ry * 0.55, th * 0.6), (bw * 0.24, ry * 0.5, th * 0.36), bib, 10, 14)
    else:
        fig.upper["belly"] = mk.ellipsoid((0, ry * 0.42, th * 0.42), (bw * 0.32, ry * 0.66, th * 0.36), t.light, 10, 14)
    collar_z = th * 0.93
    if kind == "bear":  # a bow tie in the brand's accent
        y = ry * 0.62
        knot = mk.ellipsoid((0, y + 0.04, collar_z), (0.045, 0.035, 0.04), t.accent, 6, 8)
        wings = [blob((s * 0.1, y + 0.02, collar_z), (0.1, 0.03, 0.065), t.accent, h=-s * 12) for s in (-1, 1)]
        fig.upper["bow-tie"] = knot + mk.combine(wings)
    elif kind in ("dog", "cat", "rabbit"):  # a collar (rabbits: a ribbon) in the brand's accent
        ring = mk.ellipsoid((0, 0, collar_z), (bw * 0.3, ry * 0.72, 0.05), t.accent, 6, 18)
        tag = mk.ellipsoid((0, bw * 0.28, collar_z - 0.06), (0.035, 0.015, 0.035), (0.95, 0.8, 0.35, 1), 6, 8)
        fig.upper["collar"] = ring + tag


def _front(rx: float, ry: float, rz: float, x: float, dz: float) -> float:
    """How far in front of its middle an ellipsoid's surface (radii rx, ry, rz) is at x, dz from the middle."""
    return ry * math.sqrt(max(1 - (x / rx) ** 2 - (dz / rz) ** 2, 0.0))


def _on_head(fig: Build, yaw: float, pitch: float, out: float = 0.0) -> tuple[float, float, float]:
    """A point on the head's surface (``yaw`` degrees from the front, ``pitch`` up), ``out`` metres beyond it."""
    r = fig.head_r
    a, e = math.radians(yaw), math.radians(pitch)
    d = (math.sin(a) * math.cos(e), math.cos(a) * math.cos(e), math.sin(e))
    return (d[0] * (r + out), d[1] * (r * 0.95 + out), fig.head_z + d[2] * (r + out))


def _eyes(fig: Build, t: Tones, yaw: float, pitch: float, size: float, wide: float = 1.0,
          iris: Color | None = None, out: float = 0.0) -> None:
    """Two eyes on the face: pupils (``size`` m) with a highlight, over an iris of ``iris`` if given
    (``out``: how far the eyes stand out of the head's surface)."""
    pupils, shine, irises = [], [], []
    for s in (-1, 1):
        x, y, z = _on_head(fig, s * yaw, pitch, out - size * 0.35)
        if iris is not None:
            irises.append(blob((x, y, z), (size * 1.7 * wide, size * 0.7, size * 1.7), iris, h=-s * yaw))
            y += size * 0.4
        pupils.append(blob((x, y, z), (size * wide, size * 0.8, size), t.pupil, h=-s * yaw))
        hx, hy, hz = _on_head(fig, s * yaw - 4, pitch + 5, out + size * (0.9 if iris else 0.55))
        shine.append(mk.ellipsoid((hx, hy, hz), (size * 0.3, size * 0.2, size * 0.3), WHITE, 4, 6))
    fig.neck["pupils"] = mk.combine(pupils)
    fig.neck["eye-shine"] = mk.combine(shine)
    if irises:
        fig.neck["irises"] = mk.combine(irises)


def _head(fig: Build, mascot: Mascot, t: Tones) -> None:
    r, kind, snout = fig.head_r, fig.species, mascot.body.snout
    fig.neck["head"] = mk.ellipsoid((0, 0, fig.head_z), (r, r * 0.95, r), t.fur, 14, 18)
    if kind in ("owl", "bird"):
        _bird_face(fig, t, owl=kind == "owl")
        return
    if kind == "fox":
        length = max(snout, r * 0.5)
        base = _on_head(fig, 0, -16, -r * 0.1)
        down = math.radians(12)

        def along(d: float, dz: float = 0.0) -> tuple[float, float, float]:  # d metres out along the snout
            return (0.0, base[1] + d * math.cos(down), base[2] - d * math.sin(down) + dz)

        pale = t.accent if t.accent_is_light else t.light
        top = blob(along(length * 0.28), (r * 0.5, length * 0.6, r * 0.38), t.fur, p=-12) + \
            blob(along(length * 0.66), (r * 0.33, length * 0.45, r * 0.25), t.fur, p=-12)
        jaw = blob(along(length * 0.45, -r * 0.12), (r * 0.32, length * 0.5, r * 0.16), pale, p=-12)
        cheeks = [blob(_on_head(fig, s * 42, -26, -r * 0.12), (r * 0.34, r * 0.26, r * 0.26), pale, h=-s * 40)
                  for s in (-1, 1)]
        fig.neck["muzzle"] = top + jaw + mk.combine(cheeks)
        fig.neck["nose"] = mk.ellipsoid(along(length * 1.08, r * 0.03), (r * 0.1, r * 0.08, r * 0.08), t.nose, 6, 8)
        _eyes(fig, t, 30, 16, r * 0.11, wide=1.5)
        return
    if kind == "rabbit":
        puffs = [blob(_on_head(fig, s * 16, -22, -r * 0.2), (r * 0.26, r * 0.22, r * 0.2), t.light) for s in (-1, 1)]
        fig.neck["muzzle"] = mk.combine(puffs)
        nose_at = _on_head(fig, 0, -8, r * 0.02)
        fig.neck["nose"] = blob(nose_at, (r * 0.1, r * 0.06, r * 0.07), t.pink)
        teeth_at = _on_head(fig, 0, -36, r * 0.02)
        fig.neck["teeth"] = mk.box(teeth_at, (r * 0.14, r * 0.04, r * 0.14), (0.98, 0.97, 0.92, 1))
        _eyes(fig, t, 34, 14, r * 0.14)
        return
    # bear, dog, cat: a rounded muzzle in a lighter tone with the nose on its tip
    s_len = max(snout, r * (0.14 if kind == "cat" else 0.2))
    width = r * (0.32 if kind == "cat" else 0.5)
    mc = _on_head(fig, 0, -22, -s_len * 0.35)
    fig.neck["muzzle"] = mk.ellipsoid(mc, (width, s_len, width * 0.72), mix(t.light, CREAM, 0.25), 10, 14)
    tip = (0.0, mc[1] + s_len * 0.9, mc[2] + width * 0.32)
    nose_r = r * (0.07 if kind == "cat" else 0.13)
    fig.neck["nose"] = mk.ellipsoid(tip, (nose_r * 1.2, nose_r * 0.8, nose_r * 0.8), t.pink if kind == "cat" else t.nose, 6, 8)
    mouth = mk.box((0.0, mc[1] + s_len * 0.93, mc[2] - width * 0.1), (0.012, 0.01, width * 0.4), mix(t.nose, t.light, 0.5))
    fig.neck["mouth"] = mouth
    if kind == "cat":
        whiskers = [turned(mk.box((0, 0, 0), (r * 0.55, 0.006, 0.006), (0.95, 0.93, 0.9, 1)), r=s * tilt).moved(
            (s * (width + r * 0.22), mc[1] + s_len * 0.5, mc[2] + dz)) for s in (-1, 1)
            for tilt, dz in ((8, 0.01), (-6, -0.015))]
        fig.neck["whiskers"] = mk.combine(whiskers)
    if kind == "dog":
        fig.neck["tongue"] = blob((0.0, mc[1] + s_len * 0.75, mc[2] - width * 0.55), (width * 0.22, 0.02, width * 0.28),
                                  PINK, p=-20)
    _eyes(fig, t, 26 if kind != "cat" else 30, 14, r * (0.1 if kind == "bear" else 0.12), wide=1.3 if kind == "cat" else 1.0,
          iris=(0.55, 0.8, 0.35, 1) if kind == "cat" else None)


def _bird_face(fig: Build, t: Tones, owl: bool) -> None:
    r = fig.head_r
    if owl:  # the heart-shaped facial disc: a darker rim around two pale dishes
        rim, disc = [], []
        for s in (-1, 1):
            at = _on_head(fig, s * 25, 6, -r * 0.3)
            rim.append(blob(at, (r * 0.44, r * 0.3, r * 0.46), t.dark, h=-s * 25))
            inner = _on_head(fig, s * 25, 6, -r * 0.24)
            disc.append(blob(inner, (r * 0.38, r * 0.3, r * 0.4), t.light, h=-s * 25))
        fig.neck["eye-rings"] = mk.combine(rim)
        fig.neck["facial-disc"] = mk.combine(disc)
        _eyes(fig, t, 25, 6, r * 0.15, iris=t.accent if t.accent_is_light else (0.98, 0.78, 0.25, 1), out=r * 0.09)
        brow = [blob(_on_head(fig, s * 12, 32, -r * 0.02), (r * 0.22, r * 0.06, r * 0.05), t.light, h=-s * 12, r=s * 24)
                for s in (-1, 1)]
        fig.neck["brows"] = mk.combine(brow)
    else:
        _eyes(fig, t, 30, 12, r * 0.12)
    beak_c = mix(t.accent, (0.85, 0.55, 0.15, 1), 0.35) if t.accent_is_light else (0.95, 0.68, 0.2, 1)
    base = _on_head(fig, 0, -6 if owl else 0, -r * 0.12)
    length = r * (0.5 if owl else 0.6)
    fig.neck["beak"] = cone(base, r * (0.17 if owl else 0.2), length, beak_c, p=-90 - (35 if owl else 10), flat=0.8, segments=10)


def _ears(fig: Build, mascot: Mascot, t: Tones) -> None:
    kind, size, r = mascot.body.ears, mascot.body.ear_size, fig.head_r
    if kind == "none" or size <= 0:
        return
    outer, inner = [], []
    for s in (-1, 1):
        if kind == "round":
            at = _on_head(fig, s * 52, 50, -size * 0.25)
            outer.append(blob(at, (size, size * 0.45, size), t.fur, h=-s * 20))
            inner.append(blob((at[0] - 0.0, at[1] + size * 0.32, at[2] - size * 0.05), (size * 0.6, size * 0.2, size * 0.6),
                              t.pink if fig.species == "cat" else t.light, h=-s * 20))
        elif kind == "pointed" and fig.species == "owl":  # feather tufts swept up and out
            at = _on_head(fig, s * 38, 52, -size * 0.3)
            outer.append(cone(at, size * 0.32, size * 1.5, t.dark, r=s * 30, p=-8, flat=0.5, segments=8))
        elif kind == "pointed":
            at = _on_head(fig, s * 40, 48, -size * 0.3)
            outer.append(cone(at, size * 0.5, size * 1.4, t.fur, r=s * 20, flat=0.4))
            inside = t.pink if fig.species == "cat" else (t.accent if t.accent_is_light else t.light)
            inner.append(cone((at[0], at[1] + size * 0.12, at[2] + size * 0.08), size * 0.3, size * 1.05, inside,
                              r=s * 20, flat=0.3))
            if fig.species == "fox":  # dark tips
                tip = turned(mk.cylinder((0, 0, size * 0.95), size * 0.16, size * 0.45, t.dark, top_radius=0.0)
                             .scaled((1, 0.45, 1)), r=s * 20).moved(at)
                outer.append(tip)
        elif kind == "long":
            length = size * 0.6
            at = _on_head(fig, s * 24, 62, -r * 0.05)
            ctr = (at[0] + s * length * 0.2, at[1], at[2] + length * 0.9)
            outer.append(blob(ctr, (size * 0.2, size * 0.09, length), t.fur, r=s * 12, rings=10))
            inner.append(blob((ctr[0], ctr[1] + size * 0.06, ctr[2]), (size * 0.12, size * 0.05, length * 0.82), t.pink,
                              r=s * 12, rings=10))
        else:  # floppy: hanging down the sides of the head
            at = _on_head(fig, s * 80, 20, size * 0.05)
            outer.append(blob((at[0] + s * size * 0.1, at[1], at[2] - size * 0.55), (size * 0.22, size * 0.42, size * 0.8),
                              t.dark, r=s * 10))
    fig.neck["ear-tufts" if fig.species == "owl" and kind == "pointed" else "ears"] = mk.combine(outer)
    if inner:
        fig.neck["inner-ears"] = mk.combine(inner)


def _arm(fig: Build, side: int, mascot: Mascot, t: Tones) -> dict[str, mk.Mesh]:
    bw, h = mascot.body.body_width, mascot.body.height
    length = 0.3 * h
    arm = mk.ellipsoid((side * 0.04, 0, -length / 2), (bw * 0.11, bw * 0.11, length / 2 + 0.03), t.fur, 8, 10)
    paw_c = t.dark if fig.species in ("fox", "bear") else t.light
    paw = mk.ellipsoid((side * 0.04, 0, -length), (bw * 0.12, bw * 0.12, bw * 0.12), paw_c, 6, 10)
    pad = mk.ellipsoid((side * 0.04, bw * 0.07, -length - bw * 0.02), (bw * 0.07, bw * 0.05, bw * 0.07),
                       t.pink if fig.species in ("rabbit", "cat") else t.light, 6, 8)
    return {"arm": arm, "paw": paw + pad}


def _wing(fig: Build, side: int, bw: float, t: Tones) -> dict[str, mk.Mesh]:
    """A wing folded at the side: a long flat feathered blade hanging from the shoulder, with
    lighter coverts at the top and darker primaries reaching past the hip."""
    length = fig.torso_h * 0.82
    blade = blob((side * 0.02, -bw * 0.04, -length * 0.48), (bw * 0.09, bw * 0.3, length / 2), t.dark, r=side * 8,
                 rings=10, segments=14)
    coverts = blob((side * 0.05, -bw * 0.01, -length * 0.25), (bw * 0.07, bw * 0.25, length * 0.27), t.fur, r=side * 8)
    tips = [blob((side * 0.01 + side * k * 0.01, -bw * (0.1 + 0.06 * k), -length * (0.92 + 0.02 * k)),
                 (bw * 0.05, bw * 0.07, length * 0.14), mix(t.dark, t.light, 0.15 * k), r=side * 8, rings=6, segments=8)
            for k in range(3)]
    bars = [blob((side * 0.075, -bw * 0.02, -length * z), (bw * 0.03, bw * 0.2, 0.01), mix(t.dark, t.light, 0.5),
                 r=side * 8, rings=4, segments=10) for z in (0.5, 0.68)]
    return {"wing": blade + coverts + mk.combine(tips) + mk.combine(bars)}


def _leg(fig: Build, side: int, mascot: Mascot, t: Tones) -> dict[str, mk.Mesh]:
    bw, leg_h, kind = mascot.body.body_width, fig.leg_h, fig.species
    if kind in ("owl", "bird"):  # feathered stubs and three-toed yellow feet
        leg = mk.ellipsoid((0, 0, -leg_h * 0.45), (bw * 0.13, bw * 0.13, leg_h * 0.6), t.light, 8, 10)
        feet_c = t.accent if t.accent_is_light else (0.95, 0.72, 0.25, 1)
        toes = [blob((side * 0.0 + dx, bw * 0.1, -leg_h + 0.03), (0.03, bw * 0.1, 0.03), feet_c, h=-dx * 200, rings=5,
                     segments=8) for dx in (-0.05, 0.0, 0.05)]
        return {"leg": leg, "feet": mk.combine(toes)}
    leg = mk.ellipsoid((0, 0, -leg_h / 2), (bw * 0.16, bw * 0.16, leg_h / 2 + 0.04), t.fur, 8, 10)
    if kind == "fox":  # dark socks below the knee
        leg = leg + mk.ellipsoid((0, 0, -leg_h * 0.75), (bw * 0.165, bw * 0.165, leg_h * 0.3), t.dark, 8, 10)
    long_foot = kind == "rabbit"
    foot_c = t.dark if kind in ("fox", "bear") else t.light
    foot = mk.ellipsoid((0, bw * (0.16 if long_foot else 0.08), -leg_h + 0.05),
                        (bw * 0.16, bw * (0.36 if long_foot else 0.24), 0.07), foot_c, 6, 10)
    pad = mk.ellipsoid((0, bw * (0.16 if long_foot else 0.08) + bw * (0.3 if long_foot else 0.2), -leg_h + 0.06),
                       (bw * 0.09, bw * 0.05, 0.04), t.pink if kind in ("rabbit", "cat") else t.light, 5, 8)
    return {"leg": leg, "foot": foot + pad}


def _tail(fig: Build, mascot: Mascot, t: Tones) -> dict[str, mk.Mesh]:
    kind, length, bw = mascot.body.tail, mascot.body.tail_length, mascot.body.body_width
    if kind == "none" or length <= 0:
        return {}
    if fig.species in ("owl", "bird"):  # a short fan of tail feathers
        size = min(length, 0.25) + 0.08
        fan = [blob((dx, -size * 0.5, -fig.torso_h * 0.05), (0.06, size, 0.025), t.dark, h=dx * 250, p=-25,
                    rings=5, segments=8) for dx in (-0.07, 0.0, 0.07)]
        return {"tail": mk.combine(fan)}
    if kind == "stub":
        c = WHITE if fig.species == "rabbit" else t.light
        size = max(length, 0.1)
        return {"tail": mk.ellipsoid((0, -size * 0.5, 0), (size, size, size), mix(c, t.light, 0.3), 8, 10)}
    if kind == "long":  # a curve rising behind: a chain of shrinking segments
        parts, y, z = [], 0.0, 0.0
        n = 6
        for k in range(n):
            a = math.radians(10 + 60 * k / (n - 1))
            step = length / n
            y -= step * math.cos(a)
            z += step * math.sin(a)
            rad = 0.05 * (1 - 0.4 * k / n)
            parts.append(blob((0, y + step * 0.5 * math.cos(a), z - step * 0.5 * math.sin(a)), (rad, step * 0.8, rad),
                              t.light if k == n - 1 else t.fur, p=-math.degrees(a), rings=6, segments=8))
        return {"tail": mk.combine(parts)}
    tip_c = t.accent if t.accent_is_light else t.light
    parts, y, z, n = [], 0.0, 0.0, 8
    for k in range(n):  # a brush curving up behind, thickest in the middle, with a pale tip
        a = math.radians(15 + 40 * k / (n - 1))
        step = length / n
        y -= step * math.cos(a)
        z += step * math.sin(a)
        rad = bw * (0.1 + 0.16 * math.sin(math.pi * (k + 0.8) / (n + 0.6)))
        tip = k >= n - 2
        parts.append(blob((0, y, z), (rad, step * (1.2 if tip else 1.7), rad), tip_c if tip else t.fur,
                          p=-math.degrees(a), rings=8, segments=12))
    return {"tail": mk.combine(parts)}
