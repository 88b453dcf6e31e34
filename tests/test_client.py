"""The visitor client, offscreen, against a real server on 127.0.0.1: it joins, draws the
crowd where the server puts it, takes a selfie photo with a mascot and shows the voucher
the selfie earned in its wallet.

One client session runs for the whole module (Panda3D allows one ShowBase per process);
the tests read what it recorded.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ANNIVERSARY

from showroom.scene.load import parse_scene

SPAWN_NEAR_SELFIE = '[[venue.spawns]]\nname = "main-entrance"\nat = [34, 11]\nradius = 1.0\n\n'
TOKEN = "client-test-host"
RUN_LIMIT_S = 40.0
TICK_HZ = 20
NEAR_M = 3.0
"""Within this of the visitor an avatar is always in the near tier (4 m cells, kept 1 m past their edge)."""


def _scene_text() -> str:
    """The anniversary scene with visitors spawning beside the east selfie spot, and 1 s photos."""
    text = ANNIVERSARY.read_text()
    start, end = text.index("[[venue.spawns]]"), text.index("[[venue.exits]]")
    text = text[:start] + SPAWN_NEAR_SELFIE + text[end:]
    return text.replace("photo_seconds = 6", "photo_seconds = 1", 1)


class ServerThread:
    """A real server on its own asyncio loop in a thread, recording every shard-0 tick's avatars."""

    def __init__(self, data_dir: Path) -> None:
        from server.net.app import start_server

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        text = _scene_text()
        scene = parse_scene(text, "test-scene")
        self.running = asyncio.run_coroutine_threadsafe(
            start_server(scene, scene_text=text, host_token=TOKEN, data_dir=data_dir), self.loop).result(15)
        self.event = self.running.event
        self.event.seek(62.0)  # teddy's selfie session at the east end opened at 1:00
        self.truth: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        tick = self.event.tick

        def recording_tick(now: float, wall: float) -> None:
            tick(now, wall)
            shard = self.event.shards[0]
            crowd = shard.world.crowd
            self.truth[shard.world.tick] = (crowd.ids.copy(), crowd.pos.copy())
            if len(self.truth) > 2000:
                self.truth.pop(min(self.truth))

        self.event.tick = recording_tick  # runs on the server's loop thread, after the real tick

    @property
    def url(self) -> str:
        return self.running.url

    def bots(self, count: int, seconds: float) -> None:
        """Start ``count`` wandering and watching bots for ``seconds``."""
        from showroom.bots.swarm import SwarmConfig, run_swarm

        config = SwarmConfig(url=self.url, clients=count, ramp_per_s=100, duration_s=seconds,
                             mix="wander:0.5,watch:0.5", progress=False)
        self.swarm = asyncio.run_coroutine_threadsafe(run_swarm(config), self.loop)

    def stop(self) -> None:
        self.swarm.cancel()
        asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Run the client offscreen with the tour guide until it has its selfie photo and voucher."""
    from showroom.client.app import ClientApp, ClientOptions

    root = tmp_path_factory.mktemp("client")
    server = ServerThread(root / "data")
    server.bots(30, RUN_LIMIT_S)
    time.sleep(0.5)
    options = ClientOptions(url=server.url, name="Ada", offscreen=True, autopilot=True,
                            photos_dir=str(root / "photos"), wallet_file=str(root / "wallet.token"),
                            out_dir=str(root / "shots"), size=(640, 360))
    app = ClientApp(options)
    samples = []
    voucher_at = None
    start = time.monotonic()
    try:
        while time.monotonic() - start < RUN_LIMIT_S:
            app.taskMgr.step()
            frame = getattr(app, "crowd_frame", None)
            if frame is not None and len(frame) and app.frames % 3 == 0:
                samples.append((frame.time_s, frame.ids.copy(), frame.pos.copy(), app.state.me()))
            has_voucher = any(i.get("kind") == "voucher" for i in app.state.wallet)
            if has_voucher and voucher_at is None:
                voucher_at = time.monotonic()
            if voucher_at is not None and time.monotonic() - voucher_at > 1.5:
                break
        app.cam_ctl.follow_target("mascot:0")
        for _ in range(30):
            app.taskMgr.step()
        shot = app.save_screenshot(root / "shots" / "final.png")
        yield {"app": app, "server": server, "samples": samples, "root": root, "shot": shot}
    finally:
        app.leave_event()
        server.stop()


def test_client_runs_against_a_real_server_without_errors(session):
    app = session["app"]
    assert app.state.you >= 100
    assert app.state.frames > 40
    assert app.conn.closed_reason is None
    assert [e for e in app.state.errors if e.code not in ("not_near", "no_store")] == []
    assert app.state.community.unserved and app.community.wall is None  # the scene's community is not served here


def test_client_arrays_follow_the_server_within_interpolation_error(session):
    truth = session["server"].truth
    checked = 0
    worst = 0.0
    for t, ids, pos, me in session["samples"]:
        k = int(np.floor(t * TICK_HZ + 1e-9))
        if k not in truth or k + 1 not in truth or me is None:
            continue
        w = t * TICK_HZ - k
        (ids0, pos0), (ids1, pos1) = truth[k], truth[k + 1]
        near = np.hypot(*(pos - me).T) < NEAR_M  # inside the near tier, refreshed every tick
        common = np.intersect1d(np.intersect1d(ids[near], ids0), ids1)
        if common.size == 0:
            continue
        expect = pos0[np.searchsorted(ids0, common)] * (1 - w) + pos1[np.searchsorted(ids1, common)] * w
        got = pos[np.searchsorted(ids, common)]
        worst = max(worst, float(np.max(np.hypot(*(got - expect).T))))
        checked += common.size
    assert checked > 500
    # one tick of walking (1.6 m/s x 50 ms) plus centimetre quantisation
    assert worst <= 0.09, f"client strays {worst:.3f} m from the server"


def test_selfie_photo_is_saved_with_a_sidecar_naming_who_is_in_frame(session):
    photos = sorted((session["root"] / "photos").rglob("*.png"))
    assert len(photos) == 1, photos
    meta = json.loads(photos[0].with_suffix(".json").read_text())
    app = session["app"]
    assert meta["mascot"] == "teddy" and meta["mascot_name"] == "Teddy Lumen"
    assert meta["event"] == "anniversary-runway"
    assert meta["visitor"] == app.state.you and meta["visitor"] in meta["in_frame"]
    assert 60.0 <= meta["show_time_s"] <= 110.0
    from panda3d.core import PNMImage

    img = PNMImage(str(photos[0]))
    assert (img.getXSize(), img.getYSize()) == (1024, 768)
    frame_color = np.array([img.getXel(2, y) for y in range(0, 768, 64)])
    assert np.allclose(frame_color, [0x1c / 255, 0x23 / 255, 0x40 / 255], atol=0.03)  # Maison Lumen's frame


def test_wallet_shows_the_voucher_the_selfie_earned(session):
    from showroom.client.wallet import wallet_rows

    rows = wallet_rows(session["app"].state.wallet)
    scarf = [r for r in rows if r.title.startswith("Maison Lumen anniversary scarf voucher")]
    assert len(scarf) == 1 and scarf[0].kind == "Voucher"
    assert scarf[0].status in ("valid", "redeemed")
    panel = session["app"].hud.panel
    assert not panel.isHidden()
    top, bottom = panel["frameSize"][3], panel["frameSize"][2]
    assert top - bottom < 0.25 + 0.105 * len(rows)  # sized to its rows, not a box over a third of the view


def test_screenshot_shows_the_mascot_the_camera_follows(session):
    from panda3d.core import PNMImage

    img = PNMImage(str(session["shot"]))
    w, h = img.getXSize(), img.getYSize()
    centre = np.array([[img.getXel(x, y) for x in range(w // 3, 2 * w // 3, 4)] for y in range(h // 4, 3 * h // 4, 4)])
    r, g, b = centre[..., 0], centre[..., 1], centre[..., 2]
    teddy = (r > 0.35) & (r > g * 1.15) & (g > b * 1.3)  # Teddy's honey-brown fur
    assert teddy.mean() > 0.03, f"no mascot in the middle of the frame ({teddy.mean():.3%})"


def test_hud_names_the_camera_mode_and_drops_the_selfie_button_after_the_photo(session):
    app = session["app"]
    assert app.state.photographed == {"teddy"} and app.state.selfie is None
    assert app.hud.selfie.isHidden(), app.hud.selfie["text"]
    assert app.hud.camera_mode.getText() == "Camera: Teddy Lumen (F)"
    app.messenger.send("f")
    app.taskMgr.step()
    assert app.hud.camera_mode.getText() == "Camera: Ember the Fox (F)"
    assert " visitors in view" in app.hud.status.getText() or " 1 visitor in view" in app.hud.status.getText()


def test_chat_gives_the_keyboard_back_after_sending_and_on_escape(session):
    app = session["app"]
    app.taskMgr.step()
    app.messenger.send("enter")  # Enter opens the chat box: keys type, they do not walk
    assert app.hud.typing
    app.messenger.send("w")
    assert not app.controls.keys.get("w")
    app.hud._chat("hello runway")  # the box's own Enter sends the line, then the same key reaches the venue
    app.messenger.send("enter")
    assert not app.hud.typing
    app.messenger.send("w")
    assert app.controls.keys.get("w")
    app.messenger.send("w-up")
    app.taskMgr.step()
    app.messenger.send("enter")  # a later Enter opens it again
    assert app.hud.typing
    app.messenger.send("escape")
    assert not app.hud.typing
    app.messenger.send("e")
    assert app.controls.keys.get("e")
    app.messenger.send("e-up")


def test_name_tags_are_readable_and_cover_neither_each_other_nor_the_hud(session):
    app = session["app"]
    app.cam_ctl.follow_target("mascot:0")
    for _ in range(600):  # the camera eases over to Teddy
        app.taskMgr.step()
        teddy = app.mascots.figures[0].root.getPos(app.render)
        if math.dist(app.cam_ctl.target[:2], (teddy.x, teddy.y)) < 0.3:
            break
    app.taskMgr.step()
    labels = app.labels
    tags = {tag.shown[0]: tag for tag in [labels.me, *labels.mascots] if not tag.root.isHidden()}
    shot = app.save_screenshot(session["root"] / "shots" / "tags.png")
    assert "Teddy Lumen" in tags, (sorted(tags), shot)  # the mascot the camera follows is named on screen
    assert labels.me.shown[0] == "Ada (you)"
    rects = {}
    for name, tag in tags.items():
        lo, hi = tag.root.getTightBounds(app.aspect2d)
        rects[name] = (lo.x, lo.z, hi.x, hi.z)
    hud = labels._hud_rects()
    assert hud  # the status line, the buttons, the reactions bar

    def overlap(a, b):
        return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]

    names = sorted(rects)
    for i, a in enumerate(names):
        assert not any(overlap(rects[a], (r.x0, r.y0, r.x1, r.y1)) for r in hud), a
        for b in names[i + 1:]:
            assert not overlap(rects[a], rects[b]), (a, b)
