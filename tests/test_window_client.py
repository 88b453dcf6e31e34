"""The real client in a real window: ``showroom client`` on a private X screen (Xvfb), against a
real server on 127.0.0.1, driven with real key presses (xdotool) and checked by what the screen
shows (grabs of the window) and by what the client reports it shows (``--trace``: its position,
whether a text box has the keyboard, the HUD's texts, whether the wallet is open).

After a chat line, W A S D walk the avatar; P beside a mascot in a selfie session shows your
place in its queue; Tab opens the wallet. One client window serves the module; the tests run
in order, each from where the last left the visitor.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ANNIVERSARY, ROOT
from wsclient import Client
from xscreen import XScreen

from showroom.scene.load import parse_scene

TITLE = "Showroom"
SIZE = (1024, 576)
TOKEN = "window-test-host"
SHOW_AT_S = 62.0
"""Teddy's selfie session at the runway's east end opens at 1:00 and runs 140 s."""
SPAWN_NEAR_SELFIE = '[[venue.spawns]]\nname = "main-entrance"\nat = [34, 11]\nradius = 1.0\n\n'
START_LIMIT_S = 40.0
HOLD_S = 0.8
"""How long each of W A S D is held."""
MIN_STEP_M = 0.5
QUEUE_LABEL = re.compile(r"Selfie queue for Teddy Lumen\n(you are next|\d+ people ahead), your turn in about \d+ s")
GOLD_MIN = (200, 150)
"""The HUD's gold (0.95, 0.78, 0.3): red and green at least this, blue well below."""


def _scene_text() -> str:
    """The anniversary scene with visitors arriving beside the east selfie spot."""
    text = ANNIVERSARY.read_text()
    start, end = text.index("[[venue.spawns]]"), text.index("[[venue.exits]]")
    return text[:start] + SPAWN_NEAR_SELFIE + text[end:]


class EventServer:
    """A real server on its own asyncio loop in a thread, its show seeked into Teddy's selfie session."""

    def __init__(self, data_dir: Path) -> None:
        from server.net.app import start_server
        from showroom.community import load_community

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        text = _scene_text()
        circle = load_community(ROOT / "communities" / "maison-lumen-circle.toml")  # as `showroom serve` would
        self.running = self.call(start_server(parse_scene(text, "window-test"), scene_text=text, host_token=TOKEN,
                                              data_dir=data_dir, communities=[circle]))
        self.visitors: list[Client] = []
        self.drains: list[Any] = []

        async def seek() -> None:
            self.running.event.seek(SHOW_AT_S)

        self.call(seek())

    @property
    def url(self) -> str:
        return self.running.url

    def call(self, coro: Any, limit_s: float = 15.0) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(limit_s)

    def queue_for_teddy(self, count: int) -> list[int]:
        """``count`` other visitors ask Teddy for a selfie; their first places in the queue."""
        async def one(name: str) -> int:
            client = await Client.connect(self.url)
            assert (await client.join(name))["type"] == "welcome"
            self.visitors.append(client)
            await client.send({"type": "selfie", "mascot": "teddy"})
            await client.next_frame(lambda s: any(e["type"] == "selfie_queue" for e in client.personal))
            self.drains.append(asyncio.ensure_future(drain(client)))  # keep reading: pings answered, no backlog
            return next(e["position"] for e in client.personal if e["type"] == "selfie_queue")

        async def drain(client: Client) -> None:
            async for _ in client.ws:
                pass

        return [self.call(one(f"fan-{k}")) for k in range(count)]

    def stop(self) -> None:
        async def close() -> None:
            for task in self.drains:
                task.cancel()
            for client in self.visitors:
                await client.close()
            await self.running.stop()

        try:
            self.call(close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


class TraceReader:
    """Follows the client's ``--trace`` file: each line is what the client showed from then on."""

    def __init__(self, path: Path, log: Path) -> None:
        self.path = path
        self.log = log
        self.client: subprocess.Popen | None = None
        """The client writing it: when it has exited, waiting fails at once with its output."""
        self.lines: list[dict[str, Any]] = []
        self.offset = 0

    def poll(self) -> dict[str, Any] | None:
        """Read the lines written since the last call; the newest view (None before the first)."""
        if self.path.exists():
            with self.path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]
            self.offset += len(complete)
            self.lines += [json.loads(line) for line in complete.splitlines() if line.strip()]
        return self.lines[-1] if self.lines else None

    def wait(self, test: Callable[[dict[str, Any]], bool], limit_s: float, what: str) -> dict[str, Any]:
        """The first view from now on that passes ``test`` (the current one counts); fails after ``limit_s``."""
        deadline = time.monotonic() + limit_s
        seen = len(self.lines) - 1 if self.lines else 0
        while True:
            self.poll()
            for view in self.lines[max(seen, 0):]:
                if test(view):
                    return view
            seen = len(self.lines)
            exited = self.client is not None and self.client.poll() is not None
            if exited or time.monotonic() > deadline:
                last = json.dumps(self.lines[-1]) if self.lines else "(no trace line)"
                tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
                why = f"the client exited ({self.client.returncode})" if exited and self.client else \
                    f"not within {limit_s:.0f} s"
                raise AssertionError(f"{what}: {why}; the client last showed {last}\nclient output: {tail}")
            time.sleep(0.05)

    def settled_position(self, limit_s: float = 4.0) -> np.ndarray:
        """The avatar's position once it has not changed for half a second."""
        deadline = time.monotonic() + limit_s
        last, since = None, time.monotonic()
        while time.monotonic() < deadline:
            view = self.poll()
            me = view["me"] if view else None
            if me != last:
                last, since = me, time.monotonic()
            elif me is not None and time.monotonic() - since >= 0.5:
                return np.array(me, float)
            time.sleep(0.05)
        raise AssertionError(f"the avatar did not stand still within {limit_s:.0f} s (last at {last})")


class Window:
    """The client's window on the screen: keys go to it, grabs are of it."""

    def __init__(self, screen: XScreen, proc: subprocess.Popen, win: str, trace: TraceReader, shots: Path) -> None:
        self.screen = screen
        self.proc = proc
        self.win = win
        self.trace = trace
        self.shots = shots
        self.box = screen.geometry(win)

    def shot(self, name: str) -> np.ndarray:
        """Grab the window as the screen shows it (saved as ``name``.png), as an H x W x 3 array."""
        return np.asarray(self.screen.grab(self.box, save=self.shots / f"{name}.png"), np.int16)


@pytest.fixture(scope="module")
def screen():
    """A private X screen, ended after the module."""
    xs = XScreen((1280, 800))
    yield xs
    xs.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The event server, its show in Teddy's selfie session."""
    srv = EventServer(tmp_path_factory.mktemp("window-server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def window(screen, server, tmp_path_factory):
    """``showroom client`` in a window on ``screen``, with the keyboard, once the visitor stands in the venue."""
    root = tmp_path_factory.mktemp("window-client")
    log = root / "client.log"
    trace = TraceReader(root / "trace.jsonl", log)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "showroom", "client", server.url, "--name", "Ada", "--size", f"{SIZE[0]}x{SIZE[1]}",
             "--wallet-file", str(root / "wallet.token"), "--photos", str(root / "photos"),
             "--trace", str(trace.path)],
            env=screen.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    trace.client = proc
    try:
        try:
            win = screen.find_window(TITLE, START_LIMIT_S, alive=proc)
        except RuntimeError as exc:
            raise AssertionError(f"{exc}; client output: {log.read_text(errors='replace')[-1500:]}") from None
        trace.wait(lambda v: v["me"] is not None and "hud.camera_mode" in v["texts"], START_LIMIT_S,
                   "the visitor standing in the venue")
        screen.focus(win)
        yield Window(screen, proc, win, trace, root / "shots")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def changed(a: np.ndarray, b: np.ndarray) -> float:
    """The fraction of pixels whose colour differs by more than 40 in some channel."""
    return float((np.abs(a - b).max(axis=2) > 40).mean())


def gold(image: np.ndarray) -> np.ndarray:
    """Where the HUD's gold text and titles are."""
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return (r >= GOLD_MIN[0]) & (g >= GOLD_MIN[1]) & (b < g - 60) & (r > b + 100)


def button_rows(image: np.ndarray) -> int:
    """How many pixel rows of the window's bottom-right quarter the pink selfie button spans."""
    h, w = image.shape[:2]
    r, g, b = (image[h // 2:, w // 2:, k] for k in range(3))
    pink = (r > 180) & (g > 50) & (g < 130) & (b > 100) & (b < 180) & (r - g > 90)  # (0.85, 0.35, 0.55)
    return int((pink.sum(axis=1) >= 40).sum())


def test_after_chat_wasd_moves_the_avatar(window):
    screen, trace = window.screen, window.trace
    start = trace.settled_position()
    screen.key("Return")
    trace.wait(lambda v: v["typing"], 5, "Enter gives the chat box the keyboard")
    screen.type("hello runway")  # w, a and d among the letters: typed, not walked
    trace.wait(lambda v: v["texts"].get("hud.chat_entry") == "hello runway", 5, "the line in the chat box")
    window.shot("01-typing")
    screen.key("Return")
    sent = trace.wait(lambda v: not v["typing"] and "Ada: hello runway" in v["texts"].get("hud.chat_lines", ""), 5,
                      "the line sent, shown in the chat and the keyboard given back")
    assert np.hypot(*(np.array(sent["me"]) - start)) < 0.15, "the avatar walked while the letters went to the chat"

    standing = window.shot("02-standing")
    time.sleep(0.5)
    later = window.shot("03-standing-later")
    steps = {}
    for key in "wasd":
        before = trace.settled_position()
        screen.hold(key, HOLD_S)
        steps[key] = trace.settled_position() - before
        if key == "w":
            walked = window.shot("04-after-w")
    final = trace.poll()
    assert final is not None and "hud.chat_entry" not in final["texts"], "W A S D went into the chat box"

    lengths = {k: float(np.hypot(*v)) for k, v in steps.items()}
    assert all(m >= MIN_STEP_M for m in lengths.values()), f"a key did not walk the avatar: {lengths} m"
    unit = {k: v / lengths[k] for k, v in steps.items()}
    assert unit["w"] @ unit["s"] < -0.7 and unit["a"] @ unit["d"] < -0.7, f"W/S and A/D not opposite: {steps}"
    assert abs(unit["w"] @ unit["d"]) < 0.5, f"D does not walk across W: {steps}"
    assert unit["w"][0] * unit["d"][1] - unit["w"][1] * unit["d"][0] < 0, f"D walks left of W: {steps}"
    still, moved = changed(standing, later), changed(later, walked)
    assert moved > max(4 * still, 0.02), f"the view barely changed as W walked ({moved:.1%}; standing {still:.1%})"


def test_p_near_a_mascot_shows_the_queue_place(window, server):
    screen, trace = window.screen, window.trace
    trace.wait(lambda v: v["texts"].get("hud.selfie") == "Ask Teddy Lumen for a selfie (P)", 5,
               "the selfie button offering Teddy, who holds a session beside the visitor")
    before = window.shot("05-beside-teddy")
    server.queue_for_teddy(2)  # two fans first: one in the photo, one waiting
    screen.key("p")
    view = trace.wait(lambda v: QUEUE_LABEL.fullmatch(v["texts"].get("hud.selfie", "")) is not None, 5,
                      "P shows the place in Teddy's queue")
    assert view["texts"].get("hud.leave") == "Leave queue (L)"
    time.sleep(0.2)
    queued = window.shot("06-in-the-queue")
    lines_before, lines_now = button_rows(before), button_rows(queued)
    assert lines_now > lines_before + 8, (f"the selfie button did not grow to show the queue place "
                                          f"({lines_before} pink rows before P, {lines_now} after)")


def test_tab_opens_the_wallet(window):
    screen, trace = window.screen, window.trace
    view = trace.poll()
    assert view is not None and not view["wallet_open"]
    h, w = SIZE[1], SIZE[0]
    title = (slice(int(0.33 * h / 2), int(0.47 * h / 2)), slice(w - int(1.25 * h / 2), w - int(0.02 * h / 2)))
    before = window.shot("07-before-tab")
    screen.key("Tab")
    view = trace.wait(lambda v: v["wallet_open"] and v["texts"].get("hud.panel_title", "").startswith(
        "Meta-Pass wallet  (") and "hud.rows.0.0" in v["texts"], 5, "Tab opens the wallet with what it holds")
    time.sleep(0.2)
    opened = window.shot("08-wallet")
    new_gold = int((gold(opened[title]) & ~gold(before[title])).sum())
    assert new_gold > 120, f"no gold wallet title where the panel opens ({new_gold} new gold pixels)"
    assert changed(before[title], opened[title]) > 0.05, "the wallet panel's place looks the same as before Tab"


class FakeWidget:
    """Stands in for an OnscreenText: a text, shown or hidden."""

    def __init__(self, text: str, hidden: bool = False) -> None:
        self.text, self.hidden = text, hidden

    def isEmpty(self) -> bool:
        return False

    def isHidden(self) -> bool:
        return self.hidden

    def getText(self) -> str:
        return self.text


def test_trace_lists_the_texts_of_visible_widgets_only():
    from types import SimpleNamespace

    from showroom.client.trace import visible_texts

    hud = SimpleNamespace(status=FakeWidget("Gala | 1:02 | 61 fps"), toast=FakeWidget("photo saved"),
                          panel_title=FakeWidget("Meta-Pass wallet", hidden=True), chat_lines=FakeWidget(""),
                          rows=[(FakeWidget("Scarf voucher"), FakeWidget("Voucher | valid"))], on_chat=print)
    assert visible_texts(hud, "hud") == {"hud.toast": "photo saved", "hud.rows.0.0": "Scarf voucher",
                                         "hud.rows.0.1": "Voucher | valid"}


def test_trace_appends_a_line_only_when_what_the_client_shows_changes(tmp_path):
    from showroom.client.trace import Trace

    trace = Trace(tmp_path / "trace.jsonl", started_s=100.0)
    view = {"me": [1.0, 2.0], "typing": False, "texts": {"hud.toast": "hi"}}
    assert trace.record(view, 100.5, 62.0)
    assert not trace.record(dict(view), 100.6, 62.1)  # only the clocks moved
    assert trace.record({**view, "me": [1.1, 2.0]}, 101.0, 62.5)
    lines = [json.loads(line) for line in (tmp_path / "trace.jsonl").read_text().splitlines()]
    assert [(line["t"], line["show_t"], line["me"]) for line in lines] == [(0.5, 62.0, [1.0, 2.0]),
                                                                           (1.0, 62.5, [1.1, 2.0])]
