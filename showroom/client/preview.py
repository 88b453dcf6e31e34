"""``showroom scene preview``: the show rendered offscreen without a server, with the client's
own views (venue, mascots, instanced crowd), so a host sees the whole show before the doors
open: frames at chosen times, or a contact sheet with one labelled frame per cue and one
overview image of the venue.

Mascots and lights come from the compiled timeline (the same pure function of time every
shard runs); the audience is a settled ambient crowd from the simulation core.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from showroom.client.display import configure, supports_shaders
from showroom.client.hud_text import look_caption
from showroom.scene import Scene
from showroom.scene.show import MASCOT_CUES
from showroom.scene.timecode import format_clock
from showroom.sim import geometry as geo
from showroom.sim.timeline import Show, compile_show

FRAME_SIZE = (1280, 720)
SHEET_COLUMNS = 4
SHEET_CELL = (512, 288)


@dataclass(frozen=True)
class Moment:
    """One frame to render: show time, title line, and the mascot to frame (or None: the runway)."""

    t: float
    label: str
    mascot: int | None


def cue_label(scene: Scene, index: int) -> str:
    """A short description of timeline cue ``index``: kind, who, what."""
    cue = scene.timeline[index]
    kind = cue.kind
    detail = {
        "walk": lambda: f"{cue.mascot} along {cue.path}",
        "pause": lambda: f"{cue.mascot} holds {cue.duration:g} s",
        "pose": lambda: f"{cue.mascot} strikes '{cue.pose}'",
        "turn": lambda: f"{cue.mascot} turns to {cue.heading:g} deg",
        "selfie": lambda: f"{cue.mascot} selfies at {cue.spot}",
        "lights": lambda: f"{cue.target} {cue.color} x{cue.intensity:g}",
        "music": lambda: f"'{cue.mark}'",
        "announce": lambda: f"'{cue.text[:48]}{'...' if len(cue.text) > 48 else ''}'",
    }[kind]()
    return f"{format_clock(cue.at)}  #{index} {kind}: {detail}"


def cue_moments(scene: Scene, show: Show) -> list[Moment]:
    """One moment per cue, in show order: walks half-way, poses and turns a beat in, the rest just after they start."""
    mascot_index = {m.id: i for i, m in enumerate(scene.mascots)}
    moments = []
    for index in show.cue_order:
        cue = scene.timeline[index]
        t = float(cue.at)
        mascot = mascot_index.get(getattr(cue, "mascot", ""), None)
        if isinstance(cue, MASCOT_CUES):
            seg = np.flatnonzero(show.seg_cue == index)
            if seg.size:
                start, end = float(show.seg_start[seg[0]]), float(show.seg_end[seg[0]])
                t = (start + end) / 2 if cue.kind == "walk" else start + min(1.5, (end - start) / 2)
        else:
            t += min(float(getattr(cue, "duration", 0) or 0), 2.0)
        moments.append(Moment(min(t, float(scene.event.duration)), cue_label(scene, index), mascot))
    return moments


def facing_runway(scene: Scene, pos: np.ndarray) -> np.ndarray:
    """Headings (radians) from each floor point (n, 2) towards the nearest point of the runway."""
    a, b = geo.polyline_segments(scene.venue.runway.centerline)
    near, _ = geo.segment_closest(pos[:, None, :], a[None], b[None])
    k = np.argmin(np.linalg.norm(near - pos[:, None, :], axis=-1), axis=1)
    d = near[np.arange(len(pos)), k] - pos
    return np.arctan2(-d[:, 0], d[:, 1])


PREVIEW_VISITORS = 800
"""The ambient audience a preview draws, at most (never more than one shard of the scene holds)."""


def audience(scene: Scene, visitors: int | None) -> int:
    """How many visitors a preview draws: as asked, else a full house up to :data:`PREVIEW_VISITORS` within the
    scene's shard capacity (a 150-seat loft is not shown with 800 people in it)."""
    return min(PREVIEW_VISITORS, scene.event.shard_capacity) if visitors is None else visitors


class PreviewStage:
    """An offscreen Panda3D stage with the client's views of one scene."""

    def __init__(self, scene: Scene, *, visitors: int | None = None, size: tuple[int, int] = FRAME_SIZE,
                 display: str | None = None) -> None:
        configure(offscreen=True, size=size, display=display)
        from direct.gui.OnscreenText import OnscreenText
        from direct.showbase.ShowBase import ShowBase
        from panda3d.core import TextNode, Vec3

        from showroom.client.crowd_look import brand_colors
        from showroom.client.crowd_view import CrowdView
        from showroom.client.mascot_view import MascotsView
        from showroom.client.venue_view import VenueView
        from showroom.sim.world import World

        visitors = audience(scene, visitors)
        self.visitors = visitors
        self.scene = scene
        self.show = compile_show(scene)
        self.base = ShowBase()
        self.base.disableMouse()
        self.base.setBackgroundColor(0.02, 0.02, 0.03, 1)
        self.base.camLens.setFov(60)
        self.venue = VenueView(scene, self.base.render)
        self.mascots = MascotsView(scene, self.base.render)
        self.crowd = CrowdView(self.base.render, capacity=max(visitors, 64), shaders=supports_shaders(self.base),
                               palette=brand_colors(c for b in scene.brands for c in b.palette))
        world = World(scene, seed=scene.event.seed)
        if visitors:
            world.populate(visitors)
            for _ in range(60):  # let the audience settle into place
                world.step(show_t=0.0)
        c = world.crowd
        rows = c.ids >= len(scene.mascots)
        pos = c.pos[rows]
        self.audience = (c.ids[rows], pos.astype(np.float32), facing_runway(scene, pos).astype(np.float32),
                         c.phase[rows].astype(np.float32))
        self.stride_m = world.env.params.stride_m
        self.label = OnscreenText(parent=self.base.a2dTopLeft, text="", pos=(0.04, -0.11), scale=0.08,
                                  fg=(1, 1, 1, 1), shadow=(0, 0, 0, 1), align=TextNode.ALeft, mayChange=True)
        self.caption = OnscreenText(parent=self.base.a2dBottomCenter, text="", pos=(0, 0.08), scale=0.055,
                                    fg=(0.95, 0.78, 0.3, 1), shadow=(0, 0, 0, 1), mayChange=True)
        self._vec3 = Vec3

    def pose(self, t: float) -> np.ndarray:
        """Set the stage to show time ``t``; returns the mascots' floor positions (m, 2)."""
        frame = self.show.mascots_at(t)
        self.mascots.update(frame.pos, frame.heading, frame.activity, frame.pose,
                            (frame.walked_m / self.stride_m) % 1.0, t)
        state = self.show.state_at(t)
        lights = {k: [*rgb, level] for k, (rgb, level) in state.lights.items()}
        self.venue.set_lights(lights)
        self.crowd.set_house_light(self.venue.house_color)
        if 0 <= state.look < len(self.scene.looks) and self.scene.looks[state.look].brand:
            brand = self.scene.brand(self.scene.looks[state.look].brand)  # type: ignore[arg-type]
            self.venue.show_brand(brand.name, brand.palette[min(1, len(brand.palette) - 1)])
        else:
            self.venue.show_brand(self.scene.event.title, "#b0a0ff")
        self.caption.setText(look_caption(self.scene, {"look": state.look, "music": state.music}))
        return frame.pos

    def aim(self, target: tuple[float, float, float], eye: tuple[float, float, float]) -> None:
        """Point the camera (and the crowd's level of detail) from ``eye`` at ``target``."""
        self.base.camera.setPos(*eye)
        self.base.camera.lookAt(*target)
        self.crowd.set_eye(self._vec3(*eye), self.base.camera.getQuat(self.base.render).getForward())
        ids, pos, heading, phase = self.audience
        self.crowd.update(ids, pos, heading, phase, np.zeros(len(ids), np.uint8))

    def frame_camera(self, mascot_xy: np.ndarray | None) -> tuple[tuple, tuple]:
        """An elevated three-quarter view of a mascot, or of the whole runway."""
        rw = np.asarray(self.scene.venue.runway.centerline, float)
        if mascot_xy is None:
            mid = rw.mean(axis=0)
            span = float(np.ptp(rw, axis=0).max()) + self.scene.venue.runway.width
            return (float(mid[0]), float(mid[1]), 0.5), (float(mid[0]), float(mid[1] - span * 0.95), span * 0.75)
        x, y = float(mascot_xy[0]), float(mascot_xy[1])
        return (x, y, 1.6), (x + 6.0, y - 9.0, 6.5)

    def shoot(self, path: Path, label: str) -> Path:
        """Render the stage as it is, with ``label`` in the corner, to a PNG."""
        from panda3d.core import Filename

        self.label.setText(label)
        self.base.graphicsEngine.renderFrame()
        self.base.graphicsEngine.renderFrame()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.base.win.saveScreenshot(Filename.fromOsSpecific(str(path))):
            raise OSError(f"could not write {path}")
        return path

    def project(self, point: tuple[float, float, float]) -> list[float] | None:
        """Where a world point lands in the frame, as pixel [x, y] from the top left; None off screen."""
        from panda3d.core import Point2, Point3

        p = self.base.cam.getRelativePoint(self.base.render, Point3(*point))
        film = Point2()
        if not self.base.camLens.project(p, film):
            return None
        w, h = self.base.win.getXSize(), self.base.win.getYSize()
        return [round((film.x + 1) / 2 * w, 1), round((1 - film.y) / 2 * h, 1)]

    def close(self) -> None:
        """Release the offscreen window."""
        self.base.destroy()


def render_frames(scene: Scene, times: list[float], out: Path, *, visitors: int | None = None,
                  display: str | None = None) -> list[Path]:
    """One full-size frame per show time, framing the runway."""
    stage = PreviewStage(scene, visitors=visitors, display=display)
    try:
        written = []
        for t in times:
            stage.pose(t)
            target, eye = stage.frame_camera(None)
            stage.aim(target, eye)
            cue = stage.show.state_at(t).cue
            label = f"{format_clock(t)}" + (f"  after {cue_label(scene, cue)}" if cue >= 0 else "  before the first cue")
            written.append(stage.shoot(out / f"preview-{int(t // 60):02d}{int(t % 60):02d}.png", label))
        return written
    finally:
        stage.close()


def render_contact_sheet(scene: Scene, out: Path, *, visitors: int | None = None, display: str | None = None
                         ) -> list[Path]:
    """One labelled frame per cue, a contact sheet of them all, an overview of the venue, and
    ``contact-sheet.json``: each frame's time, cue and where each mascot is in the picture."""
    from panda3d.core import PNMImage

    stage = PreviewStage(scene, visitors=visitors, display=display)
    frames_dir = out / "cues"
    written = []
    manifest: list[dict] = []
    try:
        for k, moment in enumerate(cue_moments(scene, stage.show)):
            pos = stage.pose(moment.t)
            target, eye = stage.frame_camera(None if moment.mascot is None else pos[moment.mascot])
            stage.aim(target, eye)
            path = stage.shoot(frames_dir / f"cue-{k:03d}.png", f"{moment.label}   (frame at {format_clock(moment.t)})")
            written.append(path)
            z = scene.venue.runway.height
            on = stage.mascots.on_runway(pos)
            manifest.append({"image": str(path.relative_to(out)), "t": round(moment.t, 2), "label": moment.label,
                             "mascots": {m.id: stage.project((float(pos[i, 0]), float(pos[i, 1]),
                                                              (z if on[i] else 0.0) + m.body.height * 0.45))
                                         for i, m in enumerate(scene.mascots)}})
        first_walk = next((m.t for m in cue_moments(scene, stage.show) if " walk:" in m.label), 0.0)
        stage.pose(first_walk)
        w, d = scene.venue.size
        stage.aim((w / 2, d / 2, 0.0), (w / 2, -d * 0.45, max(w, d) * 0.8))
        overview = stage.shoot(out / "overview.png", f"{scene.event.title}   {scene.venue.name}   "
                                                     f"{format_clock(first_walk)}")
    finally:
        stage.close()
    cols = SHEET_COLUMNS
    rows = math.ceil(len(written) / cols)
    cw, ch = SHEET_CELL
    sheet = PNMImage(cols * cw, rows * ch)
    sheet.fill(0.05, 0.05, 0.07)
    for k, path in enumerate(written):
        full = PNMImage(str(path))
        small = PNMImage(cw - 4, ch - 4)
        small.gaussianFilterFrom(1.0, full)
        sheet.copySubImage(small, (k % cols) * cw + 2, (k // cols) * ch + 2)
    sheet_path = out / "contact-sheet.png"
    sheet.write(str(sheet_path))
    index = out / "contact-sheet.json"
    index.write_text(json.dumps({"scene": scene.event.id, "sheet": sheet_path.name, "columns": cols,
                                 "frames": manifest}, indent=1) + "\n")
    return [sheet_path, index, overview, *written]
