"""Selfie photos: when the server reports a selfie of this visitor, stand the visitor's whole
figure beside the mascot, both facing a lens at chest height a few metres away (people in
front of the pair step aside), render the venue through it into an offscreen buffer, frame it
in the brand's colours with a caption, save it as a PNG in the visitor's photos folder with a
JSON sidecar, and return a copy for the thumbnail.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from panda3d.core import (
    Camera,
    CardMaker,
    DirectionalLight,
    Filename,
    GraphicsOutput,
    NodePath,
    OrthographicLens,
    PerspectiveLens,
    TextNode,
    Texture,
)

from showroom.client import meshes as mk
from showroom.client.photo_person import PhotoPerson

PHOTO_SIZE = (1024, 768)
FRAME = 0.06
"""Width of the brand frame, as a fraction of the photo's half-height."""


@dataclass(frozen=True)
class PhotoInfo:
    """What goes in a photo's sidecar."""

    event: str
    event_title: str
    mascot: str
    mascot_name: str
    brand: str
    show_t: float
    visitor: int
    visitor_name: str
    shard: int
    visible: tuple[int, ...]

    def sidecar(self, image: str) -> dict[str, Any]:
        """The JSON sidecar's content."""
        return {
            "image": image,
            "event": self.event,
            "event_title": self.event_title,
            "mascot": self.mascot,
            "mascot_name": self.mascot_name,
            "brand": self.brand,
            "show_time_s": round(self.show_t, 2),
            "show_time": f"{int(self.show_t // 60)}:{int(self.show_t % 60):02d}",
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "visitor": self.visitor,
            "visitor_name": self.visitor_name,
            "shard": self.shard,
            "in_frame": list(self.visible),
            "in_frame_source": "server (selfie_taken.visible)",
        }


def photo_name(info: PhotoInfo) -> str:
    """``selfie-<event>-<mascot>-<mmss>-v<visitor>`` (safe for any file system)."""
    safe = lambda s: re.sub(r"[^A-Za-z0-9_-]+", "-", s)[:40]
    t = int(info.show_t)
    return f"selfie-{safe(info.event)}-{safe(info.mascot)}-{t // 60:02d}{t % 60:02d}-v{info.visitor}"


CHEST_M = 1.3
"""The photographer holds the camera at chest height above the floor the pair stands on."""
VISITOR_H_M = 1.8
VISITOR_R_M = 0.32
"""The visitor's figure, for framing: height and half-width at the shoulders (metres; the waving hand apart)."""
GAP_M = 0.2
"""Space between the mascot's side and the visitor's in the photo."""
FOV_DEG = 62.0
"""Horizontal field of view of the photo lens."""
MARGIN = 0.07
"""Least space between the pair and the frame's edges, in film units (the film is 2 high)."""
FRAME_TOP, FRAME_BOTTOM = 1 - FRAME, -0.785
"""Where the picture inside the frame's top band and above its caption band begins and ends (film units)."""
BEHIND_M = 0.6
"""For the photo, people step aside who stand in the lens's view nearer than this behind the pair."""


@dataclass(frozen=True)
class PairShot:
    """How a selfie is taken: the lens and its aim, and where the visitor and the mascot stand (metres)."""

    eye: tuple[float, float, float]
    look: tuple[float, float, float]
    mascot: tuple[float, float]
    visitor: tuple[float, float]
    floor_z: float
    visitor_side: int
    """+1: the visitor stands to the right of the mascot as the lens sees them, -1 to its left."""
    visitor_z: float = 0.0
    """Height of the floor the visitor stands on (the mascot's, ``floor_z``, unless only one is on the runway)."""

    @property
    def depth_m(self) -> float:
        """Horizontal distance from the lens to the pair (to the line they stand on)."""
        line = np.asarray(self.visitor) - np.asarray(self.mascot)
        normal = np.array([-line[1], line[0]]) / max(float(np.hypot(*line)), 1e-9)
        return abs(float((np.asarray(self.eye[:2]) - np.asarray(self.mascot)) @ normal))


def _basis(eye: np.ndarray, back: np.ndarray, pitch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward, up and right unit vectors of a lens looking along the floor direction ``back``, tilted ``pitch`` rad."""
    flat = np.array([back[0], back[1], 0.0])
    fwd = flat * math.cos(pitch) + np.array([0.0, 0.0, math.sin(pitch)])
    up = -flat * math.sin(pitch) + np.array([0.0, 0.0, math.cos(pitch)])
    return fwd, up, np.cross(fwd, up)


def _film(points: np.ndarray, eye: np.ndarray, back: np.ndarray, pitch: float) -> np.ndarray:
    """Where ``points`` (n, 3) land on the film (x, y), the film 2 high."""
    fwd, up, right = _basis(eye, back, pitch)
    d = points - eye
    z = np.maximum(d @ fwd, 1e-6)
    tan_v = math.tan(math.radians(FOV_DEG / 2)) / (PHOTO_SIZE[0] / PHOTO_SIZE[1])
    return np.column_stack([(d @ right) / z, (d @ up) / z]) / tan_v


def _box(xy: np.ndarray, radius: float, z0: float, z1: float) -> np.ndarray:
    """Corners (8, 3) of an upright box around a figure standing at ``xy``."""
    return np.array([[xy[0] + dx, xy[1] + dy, z] for dx in (-radius, radius) for dy in (-radius, radius)
                     for z in (z0, z1)], float)


def _centring_tilt(points: np.ndarray, eye: np.ndarray, back: np.ndarray) -> float:
    """The tilt (rad) that leaves as much room above ``points`` as below them inside the frame."""
    lo, hi = -0.6, 0.6
    for _ in range(40):
        pitch = (lo + hi) / 2
        y = _film(points, eye, back, pitch)[:, 1]
        if FRAME_TOP - y.max() > y.min() - FRAME_BOTTOM:
            hi = pitch
        else:
            lo = pitch
    return (lo + hi) / 2


def _pair_boxes(m: np.ndarray, spot: np.ndarray, across: np.ndarray, side: int, mascot_z: float, visitor_z: float,
                m_r: float, mascot_width: float, mascot_top: float) -> np.ndarray:
    """Corners (n, 3) of what must be in the picture: both figures head to toe and each one's waving
    hand, held out on the side away from the other."""
    hand = m - across * side * (mascot_width / 2 + 0.28 * mascot_top)  # arms are 0.3 of the body's height
    wave = spot + across * side * 0.62
    return np.concatenate([
        _box(m, m_r, mascot_z, mascot_z + mascot_top),
        _box(hand, 0.14, mascot_z + 0.45 * mascot_top, mascot_z + 0.85 * mascot_top),
        _box(spot, VISITOR_R_M, visitor_z, visitor_z + VISITOR_H_M),
        _box(wave, 0.1, visitor_z + 1.5, visitor_z + 2.05),
    ])


def selfie_pose(visitor: np.ndarray, mascot: np.ndarray, mascot_z: float, *, mascot_width: float = 0.8,
                mascot_top: float = 2.0, side: int | None = None,
                floor: Callable[[np.ndarray], float] | None = None) -> PairShot:
    """The selfie as a photographer would take it: the visitor standing beside the mascot (on the side
    they came from, or ``side``), both facing a lens at chest height on the visitor's side of the mascot,
    as far back as it takes to frame both whole inside the brand frame, aimed to centre them.

    ``mascot_width`` is the mascot's body width and ``mascot_top`` the height of its highest point
    (ears included) above its feet, metres. ``floor`` gives the floor's height at a point (a raised
    runway): the visitor takes the side where they stand on the mascot's level if there is one."""
    v, m = np.asarray(visitor, float), np.asarray(mascot, float)
    away = v - m
    dist = float(np.hypot(*away))
    unit = away / dist if dist > 1e-6 else np.array([0.0, -1.0])
    across = np.array([-unit[1], unit[0]])  # the lens's right, seen from behind the lens looking at the pair
    m_r = max(mascot_width * 0.5 + 0.22, 0.35)
    step = m_r + GAP_M + VISITOR_R_M
    sides = [side] if side is not None else [1, -1] if float(away @ across) >= 0 else [-1, 1]
    spot, visitor_z = m + across * sides[0] * step, mascot_z
    if floor is not None:
        ground = floor
        feet = [across * dx + unit * dy for dx in (-VISITOR_R_M, 0.0, VISITOR_R_M) for dy in (-0.2, 0.2)]

        def heights(p: np.ndarray) -> set[float]:
            return {round(ground(p + f), 2) for f in feet}

        level = [s for s in sides if heights(m + across * s * step) == {round(mascot_z, 2)}]
        if level:  # beside the mascot on its own level
            sides = level
            spot = m + across * sides[0] * step
        else:  # off the edge of the runway: step down onto the floor beside it
            extra = 0.0
            while len(heights(m + across * sides[0] * (step + extra))) > 1 and extra < 2.0:
                extra += 0.1
            spot = m + across * sides[0] * (step + extra)
            visitor_z = ground(spot)
    side = sides[0]
    boxes = _pair_boxes(m, spot, across, side, mascot_z, visitor_z, m_r, mascot_width, mascot_top)
    lateral = boxes[:, :2] @ across
    mid = m + across * ((lateral.min() + lateral.max()) / 2 - float(m @ across))
    back = -unit
    x_edge = PHOTO_SIZE[0] / PHOTO_SIZE[1] - FRAME
    for d in np.arange(1.5, 16.0, 0.05):  # step back until both fit with room to spare
        eye = np.array([mid[0] + unit[0] * d, mid[1] + unit[1] * d, mascot_z + CHEST_M])
        pitch = _centring_tilt(boxes, eye, back)
        f = _film(boxes, eye, back, pitch)
        if min(FRAME_TOP - f[:, 1].max(), f[:, 1].min() - FRAME_BOTTOM, x_edge - np.abs(f[:, 0]).max()) >= MARGIN:
            break
    fwd, _, _ = _basis(eye, back, pitch)
    look = eye + fwd * 3.0
    return PairShot(eye=(float(eye[0]), float(eye[1]), float(eye[2])), look=(float(look[0]), float(look[1]), float(look[2])),
                    mascot=(float(m[0]), float(m[1])), visitor=(float(spot[0]), float(spot[1])), floor_z=mascot_z,
                    visitor_side=side, visitor_z=visitor_z)


def in_the_shot(pos: np.ndarray, shot: PairShot) -> np.ndarray:
    """Which people (n, 2) step aside for the photo: those the lens sees in front of the pair or
    within :data:`BEHIND_M` behind them, and anyone standing where the pair stands."""
    pos = np.asarray(pos, float).reshape(-1, 2)
    eye = np.asarray(shot.eye[:2])
    mid = (np.asarray(shot.mascot) + np.asarray(shot.visitor)) / 2
    back = (mid - eye) / max(float(np.hypot(*(mid - eye))), 1e-9)
    rel = pos - eye
    ahead = rel @ back
    lateral = np.abs(rel @ np.array([-back[1], back[0]]))
    tan_h = math.tan(math.radians(FOV_DEG / 2))
    seen = (ahead > -0.3) & (lateral <= np.maximum(ahead, 0.0) * tan_h + 0.5)
    near = np.minimum(np.hypot(*(pos - np.asarray(shot.mascot)).T), np.hypot(*(pos - np.asarray(shot.visitor)).T))
    return (seen & (ahead < shot.depth_m + BEHIND_M)) | (near < 0.7)


def facing(from_xy: np.ndarray | tuple, to_xy: np.ndarray | tuple) -> float:
    """The heading (radians, 0 faces +y, counter-clockwise) of someone at ``from_xy`` looking at ``to_xy``."""
    return math.atan2(-(to_xy[0] - from_xy[0]), to_xy[1] - from_xy[1])


class PhotoStudio:
    """An offscreen buffer and camera for selfie photos, with a 2D overlay for the frame."""

    FLASH = 0.3
    """Strength of the light from the lens on the pair (a photographer's fill flash)."""

    def __init__(self, base: Any, scene_root: NodePath, size: tuple[int, int] = PHOTO_SIZE) -> None:
        self.base = base
        self.tex = Texture("selfie")
        self.buffer: GraphicsOutput = base.win.makeTextureBuffer("selfie", size[0], size[1], self.tex, True)
        self.buffer.setClearColor((0.02, 0.02, 0.03, 1))
        self.buffer.setSort(-10)
        lens = PerspectiveLens()
        lens.setFov(FOV_DEG)
        lens.setAspectRatio(size[0] / size[1])
        lens.setNear(0.2)
        self.cam = base.makeCamera(self.buffer, lens=lens)
        self.cam.reparentTo(scene_root)
        flash = DirectionalLight("photo-flash")
        flash.setColor((self.FLASH, self.FLASH, self.FLASH * 0.96, 1))
        self.flash = self.cam.attachNewNode(flash)
        self.person = PhotoPerson(scene_root)
        self.person.root.setLight(self.flash)
        self.shot = PairShot((0.0, -3.0, CHEST_M), (0.0, 0.0, 1.0), (0.0, 0.0), (1.0, 0.0), 0.0, 1)
        """The next photo's shot (:meth:`stage`)."""
        self.subjects: list[NodePath] = []
        """What the flash lights in the next photo (the mascot)."""
        self.hidden: list[NodePath] = []
        """What the next photo leaves out (:meth:`keep_out`)."""
        self.overlay = NodePath("photo-overlay")
        self.overlay.setDepthTest(False)
        self.overlay.setDepthWrite(False)
        self.overlay.setLightOff()
        cam2d = Camera("photo-2d")
        ortho = OrthographicLens()
        ortho.setFilmSize(2 * size[0] / size[1], 2)
        ortho.setNearFar(-10, 10)
        cam2d.setLens(ortho)
        region = self.buffer.makeDisplayRegion()
        region.setSort(20)
        region.setCamera(self.overlay.attachNewNode(cam2d))
        self.aspect = size[0] / size[1]
        self.buffer.setActive(False)

    def stage(self, shot: PairShot, subjects: Sequence[NodePath] = ()) -> None:
        """Set up the next photo: the lens and the visitor's place from ``shot``, the flash on ``subjects``."""
        self.shot = shot
        self.subjects = list(subjects)
        self.hidden = []

    def keep_out(self, nodes: Sequence[NodePath]) -> None:
        """Hide ``nodes`` from the next photo (they are shown again once it is taken)."""
        self.hidden += [node for node in nodes if not node.isHidden()]

    def take(self, info: PhotoInfo, *, palette: list[str], folder: Path) -> tuple[Path, Texture]:
        """Stand the visitor's figure beside the mascot, render the staged shot, frame and save
        the photo; returns the PNG path and a texture copy for the thumbnail. The scene is as it
        was afterwards."""
        shot = self.shot
        self.cam.setPos(*shot.eye)
        self.cam.lookAt(*shot.look)
        # facing the lens, the figure's own right (+x) is the lens's left: wave with the hand away from the mascot
        self.person.stand((shot.visitor[0], shot.visitor[1], shot.visitor_z), facing(shot.visitor, shot.eye[:2]),
                          wave=-shot.visitor_side)
        for node in self.hidden:
            node.hide()
        for node in self.subjects:
            node.setLight(self.flash)
        cam2d = self.overlay.find("**/+Camera")
        for child in self.overlay.getChildren():
            if child != cam2d:
                child.removeNode()
        self._draw_frame(palette, f"{info.mascot_name}  &  {info.visitor_name}",
                         f"{info.event_title}  |  show time {info.sidecar('')['show_time']}")
        self.buffer.setActive(True)
        self.base.graphicsEngine.renderFrame()
        self.base.graphicsEngine.renderFrame()
        self.buffer.setActive(False)
        self.person.root.hide()
        for node in self.hidden:
            node.show()
        for node in self.subjects:
            node.clearLight(self.flash)
        self.hidden, self.subjects = [], []
        folder.mkdir(parents=True, exist_ok=True)
        stem = photo_name(info)
        png = folder / f"{stem}.png"
        if not self.tex.write(Filename.fromOsSpecific(str(png))):
            raise OSError(f"could not write the selfie photo {png}")
        (folder / f"{stem}.json").write_text(json.dumps(info.sidecar(png.name), indent=2) + "\n")
        return png, self.tex.makeCopy()

    def _draw_frame(self, palette: list[str], caption: str, sub: str) -> None:
        a = self.aspect
        main, accent = mk.rgba(palette[0]), mk.rgba(palette[min(1, len(palette) - 1)])
        for (x0, x1, y0, y1), color in (
            ((-a, a, 1 - FRAME, 1), main), ((-a, a, -1, -0.8), main), ((-a, -a + FRAME, -1, 1), main),
            ((a - FRAME, a, -1, 1), main), ((-a, a, -0.8, FRAME_BOTTOM), accent),
        ):
            cm = CardMaker("frame")
            cm.setFrame(x0, x1, y0, y1)
            cm.setColor(*color)
            self.overlay.attachNewNode(cm.generate())
        for text, y, scale, color in ((caption, -0.88, 0.075, accent), (sub, -0.955, 0.045, (1, 1, 1, 1))):
            node = TextNode("caption")
            node.setText(text)
            node.setAlign(TextNode.ACenter)
            node.setTextColor(*color)
            np_ = self.overlay.attachNewNode(node)
            np_.setPos(0, 0, y)
            np_.setScale(scale)

