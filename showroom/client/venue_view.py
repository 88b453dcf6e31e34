"""The venue drawn from the scene: floor, zones, walls, pillars, booths, the raised runway with
edge lights, the backdrop with the current brand, and the lights that timeline cues change.
"""

from __future__ import annotations

import math

import numpy as np
from panda3d.core import (
    AmbientLight,
    DirectionalLight,
    NodePath,
    Spotlight,
    TexGenAttrib,
    TextNode,
    Texture,
    TextureStage,
    TransparencyAttrib,
    Vec3,
    Vec4,
)

from showroom.client import meshes as mk
from showroom.scene import Scene

ZONE_COLORS = {"standing": (0.30, 0.33, 0.42, 1), "seated": (0.36, 0.28, 0.30, 1), "vip": (0.55, 0.42, 0.12, 1)}
FLOOR = (0.19, 0.19, 0.22, 1)
WALL = (0.42, 0.40, 0.45, 1)
ROPE = (0.65, 0.08, 0.12, 1)
OUTLINE_M = 0.5
"""A wall segment this close to the hall's outline along its whole length is one of the hall's outer walls."""
RUNWAY_TOP = (0.93, 0.92, 0.95, 1)
RUNWAY_SIDE = (0.10, 0.10, 0.12, 1)
LIGHT_SPACING_M = 1.0


def floor_texture(size: tuple[float, float], tile_m: float = 2.0) -> Texture:
    """A subtle tiled floor, about one texel per 10 cm, in a power-of-two texture (software
    renderers take nothing else)."""
    w, h = (min(1024, 1 << max(3, int(np.ceil(np.log2(max(m * 10, 8)))))) for m in size)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    x *= size[0] / w
    y *= size[1] / h
    grout = (np.abs((x / tile_m) % 1 - 0.5) > 0.48) | (np.abs((y / tile_m) % 1 - 0.5) > 0.48)
    checker = ((x // tile_m + y // tile_m) % 2).astype(np.float32)
    base = 0.55 + 0.06 * checker - 0.2 * grout
    img = np.stack([base * 0.95, base * 0.95, base], axis=-1)
    img = (np.clip(img, 0, 1) * 255).astype(np.uint8)[::-1, :, ::-1]  # Panda wants BGR, bottom row first
    tex = Texture("floor")
    tex.setup2dTexture(w, h, Texture.T_unsigned_byte, Texture.F_rgb8)
    tex.setRamImage(np.ascontiguousarray(img).tobytes())
    tex.setMinfilter(Texture.FT_linear_mipmap_linear)
    return tex


HOUSE_PEAK = 0.85
"""The most the house lights (ambient and key) put on a floor facing up, per colour channel: bright looks stay
short of white."""
STAGE_PEAK = 1.0
"""The most house and runway spots together put on the runway top: a bright cue never burns it to white."""
SUN_ON_FLOOR = math.sin(math.radians(60))
"""How much of the key light (60 degrees above the horizon) a floor facing up takes."""
SPOT_ON_RUNWAY = 0.5
"""How much of a runway spot's colour reaches the runway top where it is brightest (the spots shine at a slant from
9 m and fall off across their cone; measured on the example scenes' previews)."""


def _peak(light: Vec4) -> float:
    return max(light.x, light.y, light.z)


def exposed(ambient: Vec4, sun: Vec4, spot: Vec4) -> tuple[Vec4, Vec4, Vec4]:
    """The lights scaled so that no surface saturates: the house lights to :data:`HOUSE_PEAK` on the floor, the
    runway spots to what is left of :data:`STAGE_PEAK` on the runway (hues kept, a brighter cue still brighter until
    the limit)."""
    house = _peak(ambient + sun * SUN_ON_FLOOR)
    if house > HOUSE_PEAK:
        ambient, sun = ambient * (HOUSE_PEAK / house), sun * (HOUSE_PEAK / house)
        house = HOUSE_PEAK
    room = max(STAGE_PEAK - house, 0.0) / SPOT_ON_RUNWAY
    if _peak(spot) > room:
        spot = spot * (room / _peak(spot))
    return Vec4(ambient.x, ambient.y, ambient.z, 1), Vec4(sun.x, sun.y, sun.z, 1), Vec4(spot.x, spot.y, spot.z, 1)


class VenueView:
    """Every static piece of the venue, plus the house and runway lights."""

    def __init__(self, scene: Scene, parent: NodePath) -> None:
        self.scene = scene
        self.root = parent.attachNewNode("venue")
        venue = scene.venue
        w, d = venue.size
        self._floor(w, d)
        self._zones()
        self._walls()
        self._runway()
        self._backdrop()
        self._lights(parent)
        self.brand_shown = ""

    # ---- building -------------------------------------------------------------------------
    def _floor(self, w: float, d: float) -> None:
        floor = mk.polygon_cap([(0, 0), (w, 0), (w, d), (0, d)], 0.0, FLOOR)
        np_ = self.root.attachNewNode(mk.geom_node("floor", floor))
        np_.setTexture(floor_texture((w, d)))
        np_.setTexGen(TextureStage.getDefault(), TexGenAttrib.MWorldPosition)
        np_.setTexScale(TextureStage.getDefault(), 1.0 / w, 1.0 / d)
        below = mk.box((w / 2, d / 2, -0.26), (w + 40, d + 40, 0.5), (0.05, 0.05, 0.06, 1))
        self.root.attachNewNode(mk.geom_node("ground", below))

    def _zones(self) -> None:
        parts = []
        for zone in self.scene.venue.zones:
            parts.append(mk.polygon_cap(zone.polygon, 0.012, ZONE_COLORS[zone.kind]))
            pts = np.asarray(zone.polygon, float)
            if zone.kind == "seated":
                parts.append(self._seats(pts))
            if zone.kind == "vip":
                for a, b in zip(pts, np.roll(pts, -1, axis=0)):  # a few edges per zone
                    parts.append(mk.segment_box(tuple(a), tuple(b), 0.05, 0.85, 0.9, ROPE))
                    parts.append(mk.cylinder((a[0], a[1], 0), 0.05, 1.0, (0.85, 0.7, 0.2, 1), segments=8))
        if parts:
            self.root.attachNewNode(mk.geom_node("zones", mk.combine(parts)))

    @staticmethod
    def _seats(pts: np.ndarray) -> mk.Mesh:
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        xs = np.arange(lo[0] + 0.5, hi[0] - 0.3, 0.7)
        ys = np.arange(lo[1] + 0.5, hi[1] - 0.3, 1.2)
        seats = [mk.box((x, y, 0.22), (0.5, 0.45, 0.44), (0.45, 0.10, 0.16, 1)) for x in xs for y in ys]
        return mk.combine(seats)

    @property
    def _centre(self) -> tuple[float, float]:
        w, h = self.scene.venue.size
        return (float(w) / 2, float(h) / 2)

    def _outer(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """Whether the segment a-b runs along the hall's outline (a camera behind it would only see its back)."""
        w, h = (float(v) for v in self.scene.venue.size)
        edges = ((0, 0.0), (0, w), (1, 0.0), (1, h))
        return any(abs(a[axis] - at) <= OUTLINE_M and abs(b[axis] - at) <= OUTLINE_M for axis, at in edges)

    def _inward(self, a: tuple[float, float], b: tuple[float, float], by: float) -> tuple[tuple[float, float], ...]:
        """The segment a-b moved ``by`` metres towards the hall's middle (to the wall's inner face)."""
        cx, cy = self._centre
        nx, ny = -(b[1] - a[1]), b[0] - a[0]
        length = math.hypot(nx, ny) or 1.0
        nx, ny = nx / length, ny / length
        if (cx - (a[0] + b[0]) / 2) * nx + (cy - (a[1] + b[1]) / 2) * ny < 0:
            nx, ny = -nx, -ny
        return ((a[0] + nx * by, a[1] + ny * by), (b[0] + nx * by, b[1] + ny * by))

    def _walls(self) -> None:
        parts = []
        for wall in self.scene.venue.walls:
            pts = [tuple(p) for p in wall.points] + ([tuple(wall.points[0])] if wall.closed else [])
            color = ROPE if wall.height <= 1.2 else WALL
            z0 = 0.8 if wall.height <= 1.2 else 0.0
            for a, b in zip(pts, pts[1:]):
                if wall.height > 1.2 and self._outer(a, b):  # the hall's own walls: seen from inside only
                    inner = self._inward(a, b, max(wall.thickness, 0.05) / 2)
                    parts.append(mk.wall_face(inner[0], inner[1], 0.0, wall.height, self._centre, color))
                    continue
                parts.append(mk.segment_box(a, b, max(wall.thickness, 0.05), z0 if z0 < wall.height else 0.0,
                                            wall.height, color))
                if wall.height <= 1.2:
                    parts.append(mk.cylinder((a[0], a[1], 0), 0.05, wall.height, (0.75, 0.62, 0.2, 1), segments=8))
        for ob in self.scene.venue.obstacles:
            parts.append(mk.prism(ob.polygon, 0.0, ob.height, (0.55, 0.52, 0.58, 1)))
        if parts:
            self.root.attachNewNode(mk.geom_node("walls", mk.combine(parts)))
        for booth in self.scene.venue.booths:
            brand = self.scene.brand(booth.brand) if booth.brand else None
            palette = brand.palette if brand else ["#666677"]
            body = mk.prism(booth.polygon, 0.0, booth.height, mk.rgba(palette[-1]), mk.rgba(palette[0]))
            self.root.attachNewNode(mk.geom_node(booth.name, body))
            if brand:
                pts = np.asarray(booth.polygon, float)
                c = pts.mean(axis=0)
                self._label(brand.name, (c[0], c[1], booth.height + 0.6), 0.8, palette[min(1, len(palette) - 1)],
                            billboard=True)

    def _label(self, text: str, at: tuple[float, float, float], scale: float, color: str,
               billboard: bool = False) -> NodePath:
        node = TextNode("label")
        node.setText(text)
        node.setAlign(TextNode.ACenter)
        node.setTextColor(*mk.rgba(color))
        node.setShadow(0.05, 0.05)
        node.setShadowColor(0, 0, 0, 0.8)
        np_ = self.root.attachNewNode(node)
        np_.setPos(*at)
        np_.setScale(scale)
        np_.setLightOff()
        if billboard:
            np_.setBillboardPointEye()
        return np_

    def _runway(self) -> None:
        rw = self.scene.venue.runway
        pts = [tuple(p) for p in rw.centerline]
        parts, lights = [], []
        for a, b in zip(pts, pts[1:]):
            parts.append(mk.segment_box(a, b, rw.width, 0.0, rw.height - 0.02, RUNWAY_SIDE))
            parts.append(mk.segment_box(a, b, rw.width - 0.1, rw.height - 0.02, rw.height, RUNWAY_TOP))
            ax, ay = a
            bx, by = b
            length = math.hypot(bx - ax, by - ay)
            ux, uy = (bx - ax) / length, (by - ay) / length
            side = np.array([uy, -ux]) * (rw.width / 2 - 0.08)
            for s in np.arange(0.3, length, LIGHT_SPACING_M):
                c = np.array([ax + ux * s, ay + uy * s])
                for sign in (-1, 1):
                    p = c + sign * side
                    lights.append(mk.box((p[0], p[1], rw.height + 0.02), (0.12, 0.12, 0.05), (1, 1, 1, 1)))
        for p in (pts[0], pts[-1]):  # round the joints so an L-shaped runway has no gaps
            parts.append(mk.cylinder((p[0], p[1], 0), rw.width / 2, rw.height, RUNWAY_TOP, segments=20))
        self.runway = self.root.attachNewNode(mk.geom_node("runway", mk.combine(parts)))
        self.edge_lights = self.root.attachNewNode(mk.geom_node("edge-lights", mk.combine(lights)))
        self.edge_lights.setLightOff()

    def _backdrop(self) -> None:
        rw = self.scene.venue.runway
        a, b = np.asarray(rw.centerline[0], float), np.asarray(rw.centerline[1], float)
        back = (a - b) / np.linalg.norm(a - b)
        at = a + back * 1.2
        # the wall the runway starts from: a wide panel facing down the runway
        side = np.array([back[1], -back[0]])
        width = rw.width * 3.5
        p0, p1 = at - side * width / 2, at + side * width / 2
        panel = mk.segment_box(tuple(p0), tuple(p1), 0.2, 0.0, 5.5, (0.08, 0.08, 0.1, 1))
        self.backdrop = self.root.attachNewNode(mk.geom_node("backdrop", panel))
        glow = mk.segment_box(tuple(p0 - back * 0.12), tuple(p1 - back * 0.12), 0.02, 1.2, 5.2, (1, 1, 1, 1))
        self.backdrop_glow = self.root.attachNewNode(mk.geom_node("backdrop-glow", glow))
        self.backdrop_glow.setLightOff()
        self.backdrop_glow.setColorScale(0.3, 0.3, 0.35, 1)
        node = TextNode("brand")
        node.setAlign(TextNode.ACenter)
        node.setText(self.scene.event.title)
        node.setTextColor(1, 1, 1, 1)
        self.brand_text = self.root.attachNewNode(node)
        front = at - back * 0.25
        self.brand_text.setPos(front[0], front[1], 3.6)
        self.brand_text.setH(math.degrees(math.atan2(-back[0], back[1])))
        self.brand_text.setScale(0.9)
        self.brand_text.setLightOff()
        self.brand_text.setTransparency(TransparencyAttrib.MAlpha)

    def _lights(self, parent: NodePath) -> None:
        self.ambient = AmbientLight("house-ambient")
        self.sun = DirectionalLight("house-key")
        self.ambient_np = parent.attachNewNode(self.ambient)
        self.sun_np = parent.attachNewNode(self.sun)
        self.sun_np.setHpr(30, -60, 0)
        parent.setLight(self.ambient_np)
        parent.setLight(self.sun_np)
        rw = self.scene.venue.runway
        self.spots: list[NodePath] = []
        pts = np.asarray(rw.centerline, float)
        for t in (0.25, 0.6, 0.95):  # three spots along the runway
            idx = min(int(t * (len(pts) - 1)), len(pts) - 2)
            frac = t * (len(pts) - 1) - idx
            p = pts[idx] + (pts[idx + 1] - pts[idx]) * frac
            spot = Spotlight(f"runway-spot-{t}")
            spot.getLens().setFov(35)
            spot.setAttenuation((1, 0, 0))
            np_ = parent.attachNewNode(spot)
            np_.setPos(p[0] + 6, p[1] - 6, 9)
            np_.lookAt(p[0], p[1], rw.height)
            parent.setLight(np_)
            self.spots.append(np_)
        self.set_lights({"house": [1, 1, 1, 1], "runway": [1, 1, 1, 1]})

    # ---- updating -------------------------------------------------------------------------
    def set_lights(self, lights: dict) -> None:
        """Apply the show's ``lights`` state: ``house`` and ``runway`` as ``[r, g, b, level]``."""
        hr, hg, hb, hl = (list(lights.get("house", [1, 1, 1, 1])) + [1, 1, 1, 1])[:4]
        rr, rg, rb, rl = (list(lights.get("runway", [1, 1, 1, 1])) + [1, 1, 1, 1])[:4]
        house = Vec4(hr, hg, hb, 1) * float(hl)
        runway = Vec4(rr, rg, rb, 1) * float(rl)
        # a dimmed house stays readable: the floor, zones and crowd never go black
        ambient = house * 0.4 + Vec4(0.2, 0.2, 0.24, 1)
        sun = house * 0.5 + Vec4(0.12, 0.12, 0.14, 1)
        spot_light = runway * 0.9
        ambient, sun, spot_light = exposed(ambient, sun, spot_light)
        self.ambient.setColor(ambient)
        self.sun.setColor(sun)
        for spot in self.spots:
            spot.node().setColor(spot_light)
        glow = Vec4(rr, rg, rb, 1) * (0.25 + 0.75 * min(float(rl), 1.5))
        self.edge_lights.setColorScale(glow.x, glow.y, glow.z, 1)
        self.house_color = Vec3(house.x, house.y, house.z)

    def show_brand(self, text: str, color: str) -> None:
        """Put the current look's brand (or the event title) on the backdrop."""
        if text == self.brand_shown:
            return
        self.brand_shown = text
        self.brand_text.node().setText(text)
        r, g, b, _ = mk.rgba(color)
        self.backdrop_glow.setColorScale(r, g, b, 1)
