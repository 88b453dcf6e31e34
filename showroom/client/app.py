"""The visitor client: one ShowBase subclass that wires the connection, the views, the HUD
and the controls (:mod:`showroom.client.controls`) into Panda3D's frame loop. Logic lives
in the modules it calls.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from direct.showbase.ShowBase import ShowBase
from panda3d.core import ClockObject, Filename, Vec3

from showroom.client import meshes as mk
from showroom.client.autopilot import Autopilot
from showroom.client.autopilot_community import CommunityGuide
from showroom.client.camera import OrbitCamera
from showroom.client.community_ui import CommunityUi
from showroom.client.controls import Controls
from showroom.client.crowd_look import brand_colors
from showroom.client.crowd_view import CrowdView
from showroom.client.display import configure, supports_shaders
from showroom.client.hud import Hud
from showroom.client.hud_text import camera_label, status_line
from showroom.client.label_view import ScreenLabels
from showroom.client.mascot_view import MascotsView
from showroom.client.me_marker import MeMarker
from showroom.client.net import Connection
from showroom.client.photo import PhotoInfo, PhotoStudio, facing, in_the_shot, selfie_pose
from showroom.client.selfie_guide import SelfieGuide, selfie_label
from showroom.client.state import ClientState
from showroom.client.trace import attach as attach_trace
from showroom.client.venue_view import VenueView
from showroom.client.wallet import wallet_rows
from showroom.protocol import client_messages as msg
from showroom.protocol.codes import REACTIONS, Activity
from showroom.protocol.limits import MAX_CHAT_CHARS

WASD_HZ = 10.0


MY_TAG_Z = 1.95
"""My name tag hangs from just over my head (m); no reaction bubble is drawn there (see ``CrowdView``)."""


@dataclass
class ClientOptions:
    """How the client runs (the ``showroom client`` flags)."""

    url: str
    name: str = "visitor"
    offscreen: bool = False
    seconds: float | None = None
    screenshot: str | None = None
    screenshot_every: int | None = None
    out_dir: str = "screenshots"
    size: tuple[int, int] = (1280, 720)
    photos_dir: str | None = None
    """Where selfie photos go (None: a ``photos`` folder in ``out_dir``)."""
    wallet_file: str | None = None
    autopilot: bool = False
    follow: str = "me"
    display: str | None = None
    invite: str | None = None
    """An invite code of the event's community: join it on arrival (the tour guide types it in the panel)."""
    entry_file: str | None = None
    """A PNG or JPEG to enter in the community's challenge instead of the last selfie photo."""
    trace: str | None = None
    """Append a JSON line to this file whenever what the client shows changes (:mod:`showroom.client.trace`)."""
    shots: list[str] = field(default_factory=list)
    """Files written (screenshots and photos), for the caller to report."""
    ran_s: float = 0.0
    """How long the client ran (set by :func:`run_client`)."""
    interrupted: bool = False
    """Whether Ctrl-C ended it (set by :func:`run_client`)."""


class ClientApp(ShowBase):
    """The desktop client."""

    def __init__(self, options: ClientOptions) -> None:
        self.options = options
        self.conn = Connection(options.url, options.name, wallet=self._load_wallet())  # before any window opens
        configure(offscreen=options.offscreen, size=options.size, display=options.display)
        super().__init__()
        self.disableMouse()
        self.setBackgroundColor(0.02, 0.02, 0.03, 1)
        self.shaders = supports_shaders(self)
        self.state = ClientState()
        self.selfie_guide = SelfieGuide()
        self.cam_ctl = OrbitCamera()
        self.cam_ctl.follow_target(options.follow)
        self.autopilot = Autopilot(guide=CommunityGuide(invite=options.invite)) if options.autopilot else None
        self.venue: VenueView | None = None
        self.mascots: MascotsView | None = None
        self.crowd: CrowdView | None = None
        self.marker: MeMarker | None = None
        self.studio: PhotoStudio | None = None
        self.hud = Hud(self.aspect2d, {
            "top_left": self.a2dTopLeft, "top_right": self.a2dTopRight, "top_center": self.a2dTopCenter,
            "bottom_left": self.a2dBottomLeft, "bottom_right": self.a2dBottomRight,
            "bottom_center": self.a2dBottomCenter,
        }, on_selfie=self.ask_selfie, on_leave_queue=self.leave_queue, on_wallet=self.open_wallet,
            on_redeem=self.redeem, on_chat=self.chat, on_react=self.react, on_community=self.open_community)
        self.camLens.setFov(60)
        self.camLens.setNear(0.3)
        self.started = time.monotonic()
        self.frames = 0
        self.fps_window: list[float] = []
        self.last_dir = (0.0, 0.0)
        self.next_dir_send = 0.0
        self.wallet_open = False
        self.update_ms: list[float] = []
        self.scene_asked: int | None = None
        self.bad_messages = 0
        self.lights_shown: dict | None = None
        self.aimed = False
        self.labels = ScreenLabels(self, [self.a2dTopLeft, self.a2dTopRight, self.a2dTopCenter, self.a2dBottomLeft,
                                          self.a2dBottomRight, self.a2dBottomCenter])
        self.my_tag_shown = True
        """Whether my name tag is drawn (not while the camera looks at the featured wall)."""
        self.community = CommunityUi(self)
        self.controls = Controls(self)
        self.taskMgr.add(self._frame, "showroom-frame", sort=-10)
        self.trace = attach_trace(self, options.trace) if options.trace else None

    # ---- wallet token ---------------------------------------------------------------------
    def _wallet_path(self) -> Path | None:
        return Path(self.options.wallet_file) if self.options.wallet_file else None

    def _load_wallet(self) -> str | None:
        path = self._wallet_path()
        if path is not None and path.exists():
            token = path.read_text().strip()
            return token or None
        return None

    def _save_wallet(self) -> None:
        path = self._wallet_path()
        if path is not None and self.state.wallet_token:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.state.wallet_token + "\n")
            path.chmod(0o600)

    # ---- actions --------------------------------------------------------------------------
    def cycle_follow(self) -> None:
        """Camera follows: you, then each mascot in turn, then free."""
        n = len(self.state.scene.mascots) if self.state.scene else 0
        order = ["me"] + [f"mascot:{i}" for i in range(n)] + ["free"]
        k = order.index(self.cam_ctl.follow) if self.cam_ctl.follow in order else 0
        self.cam_ctl.follow_target(order[(k + 1) % len(order)])

    def react(self, index: int) -> None:
        """Send a reaction (shown above your avatar for everyone near)."""
        self.conn.send(msg.React(reaction=REACTIONS[index]))
        self.hud.react_flash(index)

    def chat(self, text: str) -> None:
        """Send a chat line."""
        self.conn.send(msg.Chat(text=text[:MAX_CHAT_CHARS]))

    def ask_selfie(self) -> None:
        """P: ask the mascot near you for a selfie, else say where a session is open and, on P again, walk there."""
        now = time.monotonic()
        step = self.selfie_guide.press(self.state, now)
        if step.kind == "ask":
            self.conn.send(msg.SelfieRequest(mascot=step.mascot))
        elif step.kind == "walk":
            self.walk_to(step.x, step.y)
        if step.text:
            self.state.toast = (step.text, now + 6.0)

    def walk_to(self, x: float, y: float) -> None:
        """Walk to a floor point (the server routes the avatar); the camera follows the avatar itself."""
        self.cam_ctl.settle()
        self.conn.move_to(x, y)

    def leave_queue(self) -> None:
        """Leave the selfie queue."""
        if self.state.selfie is not None:
            self.conn.send(msg.SelfieLeave())

    def open_wallet(self) -> None:
        """Toggle the wallet panel (asking the server for the latest wallet)."""
        if self.hud.panel.isHidden():  # filled before it shows: no frame of stale or empty rows
            self.hud.show_wallet(wallet_rows(self.state.wallet), self.state.wallet_name)
        self.wallet_open = self.hud.toggle_wallet()
        if self.wallet_open:
            self.community.toggle_panel(False)
            self.conn.send(msg.Wallet())

    def open_community(self) -> None:
        """Toggle the community panel (C)."""
        self.community.toggle_panel()

    def close_panels(self) -> None:
        """Close the wallet and the community panel and give the keyboard back (Esc)."""
        self.wallet_open = self.hud.toggle_wallet(False)
        self.community.toggle_panel(False)
        self.hud.release_keyboard()

    def number_key(self, index: int) -> None:
        """Number key ``index + 1``: answers a waiting poll, else reacts."""
        self.community.number_key(index)

    def photos_folder(self) -> Path:
        """Where selfie photos go (one folder per event inside)."""
        return Path(self.options.photos_dir) if self.options.photos_dir else Path(self.options.out_dir) / "photos"

    def redeem(self, seq: int) -> None:
        """Redeem a voucher."""
        self.conn.send(msg.Redeem(award=int(seq)))

    # ---- the frame ------------------------------------------------------------------------
    def _frame(self, task):  # type: ignore[no-untyped-def]
        now = time.monotonic()
        had_scene = self.state.scene
        for value, arrival in self.conn.drain():
            try:
                self.state.receive(value, arrival)
            except (KeyError, IndexError, TypeError, ValueError) as exc:  # a malformed message: say so, go on
                self.bad_messages += 1
                self.state.toast = (f"ignored a malformed server message ({type(exc).__name__}: {exc})", now + 5)
        if self.state.scene_due is not None and self.state.scene_due != self.scene_asked:
            self.scene_asked = self.state.scene_due
            self.conn.send(msg.SceneRequest())
        if self.state.scene is not None and had_scene is None:
            self._build_world()
            self._save_wallet()
        if self.state.scene is not None:
            self._update_world(now)
            self._take_photos()
            self._drive(now)
        self.community.frame(now)
        self._refresh_hud(now)
        self.frames += 1
        self._screenshots(now)
        if self.conn.closed_reason is not None and self.options.seconds is None and not self.options.offscreen:
            self.state.toast = (self.conn.closed_reason, now + 3600)
        elif self.conn.rejoining:  # an event over workers lost the one this visitor was on
            self.state.toast = ("the server you were on went away: joining the event again...", now + 1.0)
        return task.cont

    def _build_world(self) -> None:
        scene = self.state.scene
        assert scene is not None
        for view in (self.venue, self.mascots, self.crowd, self.marker):
            if view is not None:
                view.root.removeNode()
        self.marker = MeMarker(self.render)
        self.venue = VenueView(scene, self.render)
        self.mascots = MascotsView(scene, self.render)
        self.crowd = CrowdView(self.render, capacity=2048, shaders=self.shaders, me=self.state.you,
                               palette=brand_colors(c for b in scene.brands for c in b.palette))
        self.community.build(scene, self.render)
        self.labels.set_mascots([m.name for m in scene.mascots],
                                [mk.rgba(scene.brand(m.brand).palette[0], 0.88) for m in scene.mascots])
        for figure in self.mascots.figures:  # the screen tags replace the ones in the world
            figure.tag.hide()
        self.lights_shown = None
        w, d = scene.venue.size
        self.cam_ctl.target = (w / 2, d / 2, 1.0)
        if self.studio is None and not self.options.display == "p3tinydisplay":
            try:
                self.studio = PhotoStudio(self, self.render)
            except Exception as exc:  # no offscreen buffers on this backend: photos are skipped, visibly
                self.state.toast = (f"selfie photos unavailable: {exc}", time.monotonic() + 10)

    def _update_world(self, now: float) -> None:
        assert self.venue and self.mascots and self.crowd and self.state.crowd
        t0 = time.perf_counter()
        buf = self.state.crowd
        t = buf.render_time(now) if buf.clock.ready else 0.0
        frame = buf.sample(t)
        self.crowd.update(frame.ids, frame.pos, frame.heading, frame.phase, frame.anim)
        self.crowd_frame = frame
        self.update_ms.append((time.perf_counter() - t0) * 1000)
        del self.update_ms[:-240]
        mascots = self.state.mascots_at(t)
        if mascots is not None:
            self.mascots.update(mascots.pos, mascots.heading, mascots.activity, mascots.pose, mascots.phase, now)
        show = self.state.show
        lights = show.get("lights", {})
        if lights != self.lights_shown:  # light cues change a few times a show, not every frame
            self.lights_shown = lights
            self.venue.set_lights(lights)
            self.crowd.set_house_light(self.venue.house_color)
        scene = self.state.scene
        look = int(show.get("look", -1))
        if scene is not None and 0 <= look < len(scene.looks) and scene.looks[look].brand:
            brand = scene.brand(scene.looks[look].brand)  # type: ignore[arg-type]
            self.venue.show_brand(brand.name, brand.palette[min(1, len(brand.palette) - 1)])
        elif scene is not None:
            self.venue.show_brand(scene.event.title, "#b0a0ff")
        self._move_camera(frame, mascots)

    def _move_camera(self, frame, mascots) -> None:  # type: ignore[no-untyped-def]
        dt = ClockObject.getGlobalClock().getDt()
        self.controls.turn_camera(self.cam_ctl, dt)
        follow = self.cam_ctl.follow
        point = None
        if follow == "me":
            me = self.state.me()
            if me is not None:
                if not self.aimed and self.state.scene is not None:  # first sight: frame the runway
                    mid = np.asarray(self.state.scene.venue.runway.centerline, float).mean(axis=0)
                    self.cam_ctl.frame_arrival((float(me[0]), float(me[1])), (float(mid[0]), float(mid[1])))
                    self.aimed = True
                point = self.cam_ctl.me_point((float(me[0]), float(me[1])))
        elif follow.startswith("mascot:") and mascots is not None:
            k = int(follow.split(":")[1])
            if k < len(mascots.pos):
                point = (float(mascots.pos[k, 0]), float(mascots.pos[k, 1]), 1.6)
        if point is not None:
            self.cam_ctl.track(point, dt)
        eye = self.cam_ctl.eye()
        self.camera.setPos(*eye)
        self.camera.lookAt(*self.cam_ctl.target)
        if self.crowd is not None:
            fov = self.camLens.getFov()
            self.crowd.set_eye(Vec3(*eye), self.camera.getQuat(self.render).getForward(),
                               math.tan(math.radians(fov[1] / 2)), math.tan(math.radians(fov[0] / 2)))
        self._place_tags()

    def _place_tags(self) -> None:
        me = self.state.me()
        mine = (float(me[0]), float(me[1]), MY_TAG_Z) if me is not None and self.my_tag_shown else None
        if self.marker is not None:
            shown = me is not None and self.my_tag_shown  # not while the camera looks at the featured wall
            self.marker.place((float(me[0]), float(me[1]), 0.0) if shown else None, time.monotonic())
        heads: list[tuple[float, float, float] | None] = []
        for figure in self.mascots.figures if self.mascots is not None else []:
            if figure.root.isHidden():
                heads.append(None)
            else:
                at = figure.tag.getPos(self.render)
                heads.append((at.x, at.y, at.z - 0.25))
        self.labels.update(mine, heads)

    def _drive(self, now: float) -> None:
        """Movement from keys, and the autopilot's actions."""
        direction = self.controls.walk_direction(self.cam_ctl.forward_xy())
        if direction != self.last_dir and now >= self.next_dir_send:
            if direction != (0.0, 0.0):
                self.cam_ctl.settle()
            self.conn.move_dir(*direction)
            self.last_dir = direction
            self.next_dir_send = now + 1.0 / WASD_HZ
        if self.autopilot is None:
            return
        self.autopilot.photo = bool(self.options.entry_file) or self.community.last_photo is not None
        for action in self.autopilot.step(self.state, now):
            if action.kind == "move":
                self.walk_to(action.x, action.y)
            elif action.kind == "selfie":
                self.conn.send(msg.SelfieRequest(mascot=action.name))
            elif action.kind == "react":
                self.react(REACTIONS.index(action.name))
            elif action.kind == "wallet":
                self.conn.send(msg.Wallet())
                self.wallet_open = self.hud.toggle_wallet(True)
            elif action.kind == "wallet_close":
                self.wallet_open = self.hud.toggle_wallet(False)
            elif action.kind == "redeem":
                self.redeem(action.seq)
            else:
                self.community.carry_out(action)

    def _take_photos(self) -> None:
        scene = self.state.scene
        while self.state.photos_due and scene is not None and self.studio is not None and self.mascots is not None:
            req = self.state.photos_due.popleft()
            index = next((i for i, m in enumerate(scene.mascots) if m.id == req.mascot), None)
            me = self.state.me()
            latest = self.state.mascots[-1] if self.state.mascots else None
            if index is None or me is None or latest is None:
                continue
            mascot = scene.mascots[index]
            brand = scene.brand(mascot.brand)
            info = PhotoInfo(scene.event.id, scene.event.title, mascot.id, mascot.name, brand.name, req.show_t,
                             self.state.you, self.options.name, self.state.shard, req.visible)
            at = np.asarray(latest.pos[index], float)
            on_runway = self.mascots.on_runway(at[None])[0]
            mz = scene.venue.runway.height if on_runway else 0.0
            figure = self.mascots.figures[index]
            runway = self.mascots.on_runway
            shot = selfie_pose(np.asarray(me, float), at, mz, mascot_width=mascot.body.body_width,
                               mascot_top=figure.top_z,
                               floor=lambda p: scene.venue.runway.height if runway(p[None])[0] else 0.0)
            self.studio.stage(shot, subjects=[figure.root])
            self._pose_for_photo(index)
            png, tex = self.studio.take(info, palette=brand.palette, folder=self.photos_folder() / scene.event.id)
            self.options.shots.append(str(png))
            self.community.last_photo = png
            self.hud.show_photo(tex, f"Selfie with {mascot.name}")
            self.state.toast = (f"photo saved as {png.name}", time.monotonic() + 6)
            self.conn.send(msg.Wallet())

    def _pose_for_photo(self, mascot: int) -> None:
        """Turn the mascot to the studio's lens, waving, and send out of the picture everyone who
        would stand in front of the pair (the visitor's own avatar too: the studio draws their
        whole figure beside the mascot)."""
        assert self.mascots is not None and self.crowd is not None and self.studio is not None
        shot = self.studio.shot
        figure = self.mascots.figures[mascot]
        figure.pose(shot.mascot[0], shot.mascot[1], shot.floor_z, facing(shot.mascot, shot.eye[:2]), Activity.SELFIE,
                    None, 0.0, time.monotonic(), mirror=shot.visitor_side < 0)  # waving away from the visitor
        frame = self.crowd_frame
        frame = frame.rows((frame.ids != self.state.you) & ~in_the_shot(frame.pos, shot))
        self.crowd.set_eye(Vec3(*shot.eye))
        self.crowd.update(frame.ids, frame.pos, frame.heading, frame.phase, frame.anim)
        hide = [figure.tag]  # the caption names the mascot
        others = [f for i, f in enumerate(self.mascots.figures) if i != mascot]
        if others:
            spots = np.array([[f.root.getX(), f.root.getY()] for f in others], float)
            hide += [f.root for f, blocking in zip(others, in_the_shot(spots, shot)) if blocking]
        bubbles = getattr(self.crowd, "bubbles", None)  # reactions would float in front of the lens
        if bubbles is not None:
            hide.append(bubbles)
        if self.marker is not None:
            hide.append(self.marker.root)  # the ring under the visitor's real spot
        self.studio.keep_out(hide)

    def _refresh_hud(self, now: float) -> None:
        st = self.state
        dt = ClockObject.getGlobalClock().getDt()
        self.fps_window.append(dt)
        del self.fps_window[:-60]
        fps = len(self.fps_window) / max(sum(self.fps_window), 1e-6)
        seen = len(self.crowd_frame) if hasattr(self, "crowd_frame") else 0
        status = status_line(title=st.event.get("title", "connecting..."), show_t=st.show_t,
                             playing=st.show.get("playing", True), seen=seen, shard=st.shard, fps=fps,
                             closed=self.conn.closed_reason,
                             at_event=st.audience.visitors if st.audience is not None else None)
        self.hud.refresh(status=status, banner=st.banner_text(now), caption=st.look_caption(),
                         toast=st.toast_text(now), chat=list(st.chat),
                         selfie_label=selfie_label(st, self.selfie_guide, now), in_queue=st.selfie is not None,
                         wallet_count=len(st.wallet) or len(st.awards),
                         camera=camera_label(self.cam_ctl.follow, st.scene),
                         reaction_totals=st.audience.reactions if st.audience is not None else None)
        if self.wallet_open:
            self.hud.show_wallet(wallet_rows(st.wallet), st.wallet_name)

    # ---- screenshots and the end ----------------------------------------------------------
    def _screenshots(self, now: float) -> None:
        opts = self.options
        if opts.screenshot_every and self.frames % opts.screenshot_every == 0:
            self.save_screenshot(Path(opts.out_dir) / f"frame-{self.frames:06d}.png")
        if opts.seconds is not None and now - self.started >= opts.seconds:
            if opts.screenshot:
                self.save_screenshot(Path(opts.screenshot))
            self.taskMgr.stop()

    def save_screenshot(self, path: Path) -> Path:
        """Save the current frame as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.graphicsEngine.renderFrame()
        if not self.win.saveScreenshot(Filename.fromOsSpecific(str(path))):
            raise OSError(f"could not write the screenshot {path}")
        self.options.shots.append(str(path))
        return path

    def leave_event(self) -> None:
        """Leave the event and close the window."""
        self.conn.close()
        self._save_wallet()
        self.destroy()


def run_client(options: ClientOptions) -> int:
    """Run the client until the window closes, ``options.seconds`` pass or Ctrl-C; returns an exit code.

    How long it ran and whether Ctrl-C ended it are left in ``options.ran_s`` and ``options.interrupted``.
    """
    app = ClientApp(options)
    started = time.monotonic()

    def interrupted(signum: int, frame: object) -> None:  # instead of Panda3D's "* interrupt by keyboard"
        options.interrupted = True
        app.taskMgr.fKeyboardInterrupt = 1  # the task manager stops at the end of this frame

    app.taskMgr.keyboardInterruptHandler = interrupted  # type: ignore[method-assign]
    try:
        app.run()
    except SystemExit:
        pass
    finally:
        options.ran_s = time.monotonic() - started
        app.leave_event()
    if app.state.scene is None:
        reason = app.conn.closed_reason or "no welcome from the server"
        raise ConnectionError(f"{options.url}: never joined the event: {reason}")
    return 0

