"""Selfie photos: when the server reports a selfie of this visitor, render the venue from a
selfie camera into an offscreen buffer, frame it in the brand's colours with a caption, save
it as a PNG in the visitor's photos folder with a JSON sidecar, and return a copy for the
thumbnail.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from panda3d.core import (
    Camera,
    CardMaker,
    Filename,
    GraphicsOutput,
    NodePath,
    OrthographicLens,
    PerspectiveLens,
    TextNode,
    Texture,
)

from showroom.client import meshes as mk

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


ARM_M = 1.5
"""The selfie camera is held this far from the visitor, on the far side from the mascot (as
the server's selfie camera is), and this far to one side (``ARM_SIDE_M``)."""
ARM_SIDE_M = 0.6
CLEAR_M = 0.7
"""For the photo, people step aside who stand nearer the lens than the visitor, or within
this distance of the line from the lens to the mascot."""


def selfie_pose(visitor: np.ndarray, mascot: np.ndarray, mascot_z: float) -> tuple[tuple, tuple]:
    """Camera position and look-at point of a selfie: held at arm's length in front of the
    visitor, a little to one side, so the visitor fills one half of the picture and the
    mascot stands over their shoulder in the other."""
    visitor = np.asarray(visitor, float)
    mascot = np.asarray(mascot, float)
    away = visitor - mascot
    dist = float(np.hypot(*away))
    unit = away / dist if dist > 1e-6 else np.array([0.0, -1.0])
    side = np.array([unit[1], -unit[0]])
    eye = visitor + unit * ARM_M + side * ARM_SIDE_M
    aim = visitor * 0.45 + mascot * 0.55
    return (float(eye[0]), float(eye[1]), 1.95), (float(aim[0]), float(aim[1]), 1.05 + 0.5 * mascot_z)


def in_the_shot(pos: np.ndarray, eye: tuple, visitor: np.ndarray | None, mascot: tuple) -> np.ndarray:
    """Which avatars (n, 2) would block the selfie: nearer the lens than the visitor (plus a
    step), or close to the line of sight from the lens to the mascot."""
    e = np.asarray(eye[:2], float)
    d_eye = np.hypot(pos[:, 0] - e[0], pos[:, 1] - e[1])
    reach = float(np.hypot(*(np.asarray(visitor, float) - e))) + 0.6 if visitor is not None else ARM_M + 0.6
    m = np.asarray(mascot, float)
    line = m - e
    length2 = max(float(line @ line), 1e-9)
    t = np.clip(((pos - e) @ line) / length2, 0.0, 1.0)
    off = np.hypot(*(pos - e - t[:, None] * line).T)
    return (d_eye < reach) | ((off < CLEAR_M) & (t < 0.97))


def facing(from_xy: np.ndarray | tuple, to_xy: np.ndarray | tuple) -> float:
    """The heading (radians, 0 faces +y, counter-clockwise) of someone at ``from_xy`` looking at ``to_xy``."""
    return math.atan2(-(to_xy[0] - from_xy[0]), to_xy[1] - from_xy[1])


class PhotoStudio:
    """An offscreen buffer and camera for selfie photos, with a 2D overlay for the frame."""

    def __init__(self, base: Any, scene_root: NodePath, size: tuple[int, int] = PHOTO_SIZE) -> None:
        self.base = base
        self.tex = Texture("selfie")
        self.buffer: GraphicsOutput = base.win.makeTextureBuffer("selfie", size[0], size[1], self.tex, True)
        self.buffer.setClearColor((0.02, 0.02, 0.03, 1))
        self.buffer.setSort(-10)
        lens = PerspectiveLens()
        lens.setFov(62)
        lens.setAspectRatio(size[0] / size[1])
        lens.setNear(0.2)
        self.cam = base.makeCamera(self.buffer, lens=lens)
        self.cam.reparentTo(scene_root)
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

    def take(self, info: PhotoInfo, *, eye: tuple, look: tuple, palette: list[str],
             folder: Path) -> tuple[Path, Texture]:
        """Render from ``eye`` towards ``look``, frame and save the photo; returns the PNG path
        and a texture copy for the thumbnail."""
        self.cam.setPos(*eye)
        self.cam.lookAt(*look)
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
            ((a - FRAME, a, -1, 1), main), ((-a, a, -0.8, -0.785), accent),
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

