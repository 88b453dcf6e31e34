"""The visitor client's community views, offscreen, against a real server on 127.0.0.1 serving the
example communities: a member joins with an invite code through the panel, enters a picture,
votes through the panel; once a host features the challenge the entries hang on the featured
wall, in their own colours, where the wall stands; a visitor who arrives later sees the same wall;
and a poll answered with the number keys on the overlay is counted once, however often the key
is pressed.

Panda3D runs one ShowBase at a time, so the client sessions run one after the other.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ANNIVERSARY, ROOT
from PIL import Image
from wsclient import Client

from showroom.scene.load import parse_scene

TOKEN = "client-community-host"
CIRCLE = "maison-lumen-circle"
CHALLENGE = "rose-sketch-w1"
GREEN = (20, 210, 60)
MAGENTA = (235, 25, 205)
SIZE = (640, 360)


def solid_png(color: tuple[int, int, int], size: tuple[int, int] = (160, 200)) -> bytes:
    """A picture of one colour."""
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


class Venue:
    """A real server with the example communities on its own asyncio loop, and a host connected to it."""

    def __init__(self, data_dir: Path) -> None:
        from server.net.app import start_server
        from showroom.community import load_community

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        text = ANNIVERSARY.read_text()
        assert f'community = "{CIRCLE}"' in text
        communities = [load_community(ROOT / "communities" / f"{CIRCLE}.toml")]
        self.running = self.call(start_server(parse_scene(text, "anniversary"), scene_text=text, host_token=TOKEN,
                                              data_dir=data_dir, communities=communities))
        self.host: Client = self.call(self._host())

    async def _host(self) -> Client:
        client = await Client.connect(self.running.url)
        assert (await client.join("stage", role="host", token=TOKEN))["type"] == "welcome"
        return client

    def call(self, coro: Any, pump: Callable[[], None] | None = None, limit_s: float = 20.0) -> Any:
        """Run ``coro`` on the server's loop; meanwhile step the client (``pump``) so it keeps reading."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        deadline = time.monotonic() + limit_s
        while not future.done():
            if time.monotonic() > deadline:
                future.cancel()
                raise TimeoutError("the server did not answer in time")
            pump() if pump is not None else time.sleep(0.01)
        return future.result()

    def ask(self, client: Client, message: dict[str, Any], answer: str, pump: Callable[[], None] | None = None
            ) -> dict[str, Any]:
        """Send ``message`` and wait for the ``answer`` type (an error fails)."""
        async def go() -> dict[str, Any]:
            await client.send(message)
            return await client.next_message(lambda m: m["type"] in (answer, "error"), limit_s=15)
        reply = self.call(go(), pump)
        assert reply["type"] == answer, reply
        return reply

    def stop(self) -> None:
        self.call(self.running.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def client(venue: Venue, root: Path, name: str, **options: Any) -> Any:
    from showroom.client.app import ClientApp, ClientOptions

    opts = ClientOptions(url=venue.running.url, name=name, offscreen=True, photos_dir=str(root / "photos"),
                         wallet_file=str(root / f"{name}.token"), out_dir=str(root / "shots"), size=SIZE, **options)
    return ClientApp(opts)


def until(app: Any, test: Callable[[], bool], limit_s: float = 20.0, what: str = "") -> None:
    """Step the client until ``test()`` holds."""
    deadline = time.monotonic() + limit_s
    while not test():
        book = app.state.community
        assert time.monotonic() < deadline, (f"timed out waiting for {what or test} (community {book.state}, "
                                             f"featured {book.featured}, probing {book.probing}, "
                                             f"errors {list(app.state.errors)})")
        app.taskMgr.step()


def wall_colors(app: Any, path: Path) -> dict[str, float]:
    """Face the featured wall, save a frame, and measure each entry colour around its picture's projection."""
    from panda3d.core import PNMImage, Point2, Point3

    wall = app.community.wall
    cam = app.cam_ctl
    cam.follow_target("free")
    cam.target = (wall.wall.at[0], wall.wall.at[1] - 7.0, 2.6)
    cam.yaw_deg, cam.pitch_deg, cam.distance_m = 0.0, 8.0, 4.0
    for _ in range(5):
        app.taskMgr.step()
    app.save_screenshot(path)
    img = PNMImage(str(path))
    w, h = img.getXSize(), img.getYSize()
    pixels = np.array([[img.getXel(x, y) for x in range(w)] for y in range(h)]) * 255
    found = {}
    for k, name in enumerate(("first", "second")):
        centre = wall.centre_of(k)
        if centre is None:
            continue
        p3 = app.cam.getRelativePoint(app.render, Point3(*centre))
        p2 = Point2()
        assert app.camLens.project(p3, p2), f"picture {k} is not in front of the camera"
        x, y = int((p2.x + 1) / 2 * w), int((1 - p2.y) / 2 * h)
        window = pixels[max(y - 12, 0):y + 12, max(x - 12, 0):x + 12].reshape(-1, 3)
        found[name] = window.mean(axis=0)
    return found


def close_to(value: np.ndarray, color: tuple[int, int, int], tol: float = 40.0) -> bool:
    return bool(np.all(np.abs(np.asarray(value) - np.asarray(color)) < tol))


@pytest.fixture(scope="module")
def venue(tmp_path_factory):
    root = tmp_path_factory.mktemp("community-client")
    v = Venue(root / "data")
    v.root = root
    yield v
    v.stop()


@pytest.fixture(scope="module")
def featured(venue):
    """A member enters and votes through the client's panel; another member through the wire; the host features."""
    root = venue.root
    entry = root / "green-rose.png"
    entry.write_bytes(solid_png(GREEN))
    code = venue.ask(venue.host, {"type": "host_invite", "community": CIRCLE, "max_uses": 5}, "invite")["code"]
    app = client(venue, root, "Ada", entry_file=str(entry))
    result: dict[str, Any] = {}
    try:
        pump = app.taskMgr.step
        until(app, lambda: app.state.community.state is not None, what="the community state")
        assert app.community.wall is not None  # the scene has a wall and the event a community
        app.community.toggle_panel(True)
        app.community.panel.type_invite(code)
        app.community.panel._join_click()  # the Join button
        until(app, lambda: app.state.community.member, what="membership")
        venue.ask(venue.host, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                               "phase": "submissions"}, "host_ok", pump)
        book = app.state.community
        until(app, lambda: book.challenge is not None and book.challenge.phase == "submissions", what="submissions")
        app.community.submit()  # the panel's Submit button, with --entry
        until(app, lambda: book.my_entry() is not None, what="my entry")
        mine = book.my_entry().entry

        async def bob_enters() -> tuple[Client, int]:
            bob = await Client.connect(venue.running.url)
            await bob.join("Bob")
            await bob.send({"type": "community_join", "community": CIRCLE, "invite": code})
            await bob.next_message(lambda m: m["type"] == "community")
            kept = await bob.enter(CIRCLE, CHALLENGE, "Magenta petals", solid_png(MAGENTA, (240, 180)))
            assert kept["type"] == "entry", kept
            return bob, kept["entry"]
        bob, theirs = venue.call(bob_enters(), pump)
        for entry_id in (mine, theirs):
            venue.ask(venue.host, {"type": "host_moderate", "entry": entry_id, "approve": True}, "host_ok", pump)
        until(app, lambda: book.mine[mine].status == "approved", what="my entry approved")
        venue.ask(venue.host, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE, "phase": "voting"},
                  "host_ok", pump)
        until(app, lambda: bool(book.votable()) and book.challenge.phase == "voting", what="the gallery to vote in")
        app.community.pick(theirs)  # a click on the thumbnail
        app.community.vote()  # the Vote button
        until(app, lambda: book.voted, what="my ballot counted")

        async def bob_votes() -> None:
            await bob.send({"type": "vote", "community": CIRCLE, "challenge": CHALLENGE, "choices": [mine]})
            await bob.next_message(lambda m: m["type"] == "vote_recorded")
        venue.call(bob_votes(), pump)
        venue.ask(venue.host, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE, "phase": "closed"},
                  "host_ok", pump)
        venue.ask(venue.host, {"type": "host_feature", "community": CIRCLE, "challenge": CHALLENGE}, "host_ok", pump)
        until(app, lambda: book.featured is not None and all(e.entry in book.images for e in book.featured.entries),
              what="the featured entries and their images")
        until(app, lambda: book.challenge.phase == "closed" and book.gallery is not None
              and any(e.rank for e in book.gallery.entries), what="the results in the panel")
        venue.call(bob.close(), pump)
        app.taskMgr.step()
        result.update(featured=book.featured, mine=mine, theirs=theirs, tag=app.labels.me.shown,
                      panel="\n".join(line.getText() for line in app.community.panel.results))
        app.community.toggle_panel(False)
        result["colors"] = wall_colors(app, root / "shots" / "wall-live.png")
    finally:
        app.leave_event()
    return result


def test_a_featured_entry_hangs_on_the_wall_in_its_own_colours(featured):
    ranked = {e.entry: e.rank for e in featured["featured"].entries}
    assert set(ranked) == {featured["mine"], featured["theirs"]}
    colors = featured["colors"]
    by_rank = [GREEN, MAGENTA] if ranked[featured["mine"]] == 1 else [MAGENTA, GREEN]
    assert close_to(colors["first"], by_rank[0]), colors
    assert close_to(colors["second"], by_rank[1]), colors
    assert "#1" in featured["panel"] and "Magenta petals" in featured["panel"]  # results in the panel


def test_my_name_tag_wears_my_tier_badge(featured):
    name, badge, _ = featured["tag"]
    assert name == "Ada (you)" and badge == "Member"  # a new member below the circle's first tier


def test_a_late_visitor_sees_the_featured_wall_and_answers_a_poll_once(featured, venue):
    app = client(venue, venue.root, "Cleo")
    try:
        pump = app.taskMgr.step
        until(app, lambda: app.state.scene is not None, what="the welcome")
        book = app.state.community  # the book of this visit (made on welcome)
        until(app, lambda: book.featured is not None and all(e.entry in book.images for e in book.featured.entries),
              what="the featured set found on arrival")
        assert [e.entry for e in book.featured.entries] == [e.entry for e in featured["featured"].entries]
        for _ in range(3):
            app.taskMgr.step()
        colors = wall_colors(app, venue.root / "shots" / "wall-late.png")
        assert close_to(colors["first"], GREEN) or close_to(colors["first"], MAGENTA), colors

        poll = venue.ask(venue.host, {"type": "host_poll", "question": "Which colour for the next drop?",
                                      "options": ["rose", "gold", "midnight"], "results": "live"}, "poll", pump)
        until(app, lambda: app.state.polls.current is not None, what="the poll overlay")
        assert app.community.overlay.visible
        app.messenger.send("2")  # the number key, as a person presses it: twice
        app.messenger.send("2")
        until(app, lambda: app.state.polls.current.confirmed, what="the answer confirmed")
        app.messenger.send("2")
        for _ in range(10):
            app.taskMgr.step()
        assert "counted" in app.community.overlay.footer.getText()
        closed = venue.ask(venue.host, {"type": "host_poll_close", "poll": poll["poll"]}, "poll", pump)
        assert closed["counts"] == [0, 1, 0]
        until(app, lambda: app.state.polls.current is not None and app.state.polls.current.final, what="final results")
        assert [e for e in app.state.errors if e.ref == "poll_answer"] == []  # the repeats never left the client
    finally:
        app.leave_event()
