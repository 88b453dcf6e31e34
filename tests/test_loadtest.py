"""The load test: 50 bots against a real server on 127.0.0.1, its report, its audit, its thresholds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgpack
import pytest
from conftest import ANNIVERSARY
from websockets.sync.client import connect

from showroom.cli import main

TOKEN = "loadtest-host-token"
SPAWN_NEAR_SELFIE = '[[venue.spawns]]\nname = "main-entrance"\nat = [34, 11]\nradius = 1.0\n\n'


def _scene_text() -> str:
    """The anniversary scene with visitors spawning near the east selfie spot and 1 s photos."""
    text = ANNIVERSARY.read_text()
    start, end = text.index("[[venue.spawns]]"), text.index("[[venue.exits]]")
    text = text[:start] + SPAWN_NEAR_SELFIE + text[end:]
    return text.replace("photo_seconds = 6", "photo_seconds = 1", 1)


def _host(url: str, message: dict) -> None:
    with connect(url, compression=None, max_size=2**22, open_timeout=10) as ws:
        ws.send(msgpack.packb({"type": "join", "v": 3, "name": "host", "role": "host", "token": TOKEN}))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            reply = msgpack.unpackb(ws.recv(timeout=5), raw=False)
            if isinstance(reply, dict) and reply.get("type") == "welcome":
                break
        ws.send(msgpack.packb(message))
        while time.monotonic() < deadline:
            reply = msgpack.unpackb(ws.recv(timeout=5), raw=False)
            if isinstance(reply, dict) and reply.get("type") in ("host_ok", "error"):
                assert reply["type"] == "host_ok", reply
                return
        raise AssertionError("no host_ok")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A real server in a subprocess on a free port, with a data dir, the show at teddy's selfie session."""
    root = tmp_path_factory.mktemp("loadtest")
    scene = root / "scene.toml"
    scene.write_text(_scene_text())
    proc = subprocess.Popen([sys.executable, "-m", "showroom", "serve", str(scene), "--port", "0",
                             "--data-dir", str(root / "data"), "--host-token", TOKEN],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        found = re.search(r"ws://[\d.]+:\d+/", line)
        assert found, f"server did not start: {line!r}"
        url = found.group(0)
        _host(url, {"type": "host_seek", "t": 61.0})
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_fifty_bots_report_plausible_figures_and_a_clean_award_audit(server_url, tmp_path, capsys):
    out = tmp_path / "report.json"
    picture = tmp_path / "run.png"
    rc = main(["loadtest", server_url, "--clients", "50", "--ramp", "50", "--duration", "9",
               "--behaviour", "wander:0.3,watch:0.2,selfie:0.5", "--report", str(out), "--json",
               "--plot", str(picture)])
    report = json.loads(out.read_text())
    assert rc == 0, report["thresholds"]
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["joins"] == report["joins"]
    assert report["joins"]["ok"] == 50 and report["joins"]["failed"] == 0
    assert 0 < report["latency_ms"]["p50"] <= report["latency_ms"]["p95"] <= report["latency_ms"]["p99"] < 5000
    assert 5 <= report["snapshots_per_s_per_client"] <= 25
    assert report["server"]["metrics_read"] and report["server"]["tick_ms_p50"] > 0
    assert report["server"]["ticks"] > 100
    gen = report["generator"]
    assert gen["messages_out_per_s"] > 0 and gen["bytes_in_per_s"] > gen["bytes_out_per_s"] > 0
    assert 0 < gen["cpu_pct"] < 400
    assert isinstance(report["errors"], dict)
    audit = report["award_audit"]
    assert audit["passed"], audit["problems"]
    assert audit["selfies_taken"] >= 1 and audit["awarded_ok"] >= 1
    assert audit["awards_by_entitlement"].get("lumen-scarf", 0) == audit["awarded_ok"]
    assert report["vouchers"]["redeemed"] >= 1
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and report["plot"] == f"written to {picture}"
    _plot_shows_the_three_series(picture)


def _plot_shows_the_three_series(path) -> None:
    """The picture holds the clients (navy), latency (gold) and tick (orange) lines."""
    import matplotlib.image

    pixels = (matplotlib.image.imread(path)[..., :3] * 255).astype(int)
    for rgb in ((0x1c, 0x23, 0x40), (0xd4, 0xaf, 0x37), (0xff, 0x8c, 0x42)):
        close = (abs(pixels - rgb).sum(axis=-1) < 40).sum()
        assert close > 100, f"no line in colour {rgb}"


def test_a_threshold_set_too_low_exits_non_zero(server_url, capsys):
    rc = main(["loadtest", server_url, "--clients", "5", "--ramp", "50", "--duration", "2", "--max-p99-ms", "0.001"])
    assert rc == 1
    assert "--max-p99-ms" in capsys.readouterr().err


def test_an_unknown_behaviour_is_one_line_error(capsys):
    rc = main(["loadtest", "ws://127.0.0.1:1/", "--clients", "1", "--behaviour", "dance:1"])
    assert rc == 1
    assert "unknown behaviour 'dance'" in capsys.readouterr().err


def test_workers_split_the_bots_and_merge_one_report(server_url, tmp_path):
    out = tmp_path / "workers.json"
    rc = main(["loadtest", server_url, "--clients", "12", "--ramp", "40", "--duration", "2", "--workers", "2",
               "--behaviour", "wander", "--report", str(out)])
    report = json.loads(out.read_text())
    assert rc == 0, report["thresholds"]
    assert report["workers"] == 2 and report["joins"]["ok"] == 12
    assert report["behaviours"] == {"wander": 12}
    assert report["latency_ms"]["samples"] > 0


def test_bots_ramp_down_at_the_ramp_rate_after_the_hold(server_url, tmp_path):
    out = tmp_path / "down.json"
    rc = main(["loadtest", server_url, "--clients", "20", "--ramp", "8", "--duration", "2", "--behaviour", "wander",
               "--report", str(out)])
    report = json.loads(out.read_text())
    assert rc == 0, report["thresholds"]
    phases = [h["phase"] for h in report["history"]]
    assert phases.index("ramp up") < phases.index("hold") < phases.index("ramp down")
    leaving = [h["connected"] for h in report["history"] if h["phase"] == "ramp down"]
    assert any(0 < n < 20 for n in leaving), leaving  # one by one, not all at once
    assert report["phases_s"]["ramp_down"] >= 2.0
    assert report["server"]["hold"]["ticks"] >= 30 and report["server"]["hold"]["tick_overrun_pct"] >= 0
    assert report["award_audit"]["passed"] and not report["errors"]


def test_a_hold_ends_as_soon_as_the_caller_says_it_is_done(server_url):
    """A caller waiting for something (every bot seated) ends the hold then, not at its full duration."""
    from showroom.bots.swarm import SwarmConfig, run_swarm

    seen: list[dict] = []

    def done() -> bool:
        return sum(entry["phase"] == "hold" and entry["connected"] == 5 for entry in seen) >= 2
    config = SwarmConfig(url=server_url, clients=5, ramp_per_s=50, duration_s=120.0, mix="watch:1", progress=False)
    result = asyncio.run(run_swarm(config, on_progress=seen.append, hold_done=done))
    assert result.stats.joins_ok == 5
    holding = [entry for entry in seen if entry["phase"] == "hold"]
    assert 2 <= len(holding) < 60, holding  # two readings with every bot in, and the hold was over
    assert result.hold_s < 60


@contextlib.contextmanager
def _server_in_thread(scene_text: str, data_dir: Path | None = None):
    """A real server on 127.0.0.1 on its own asyncio loop in a thread; yields (url, call) where
    ``call(fn)`` runs ``fn()`` on the server's loop and returns its result."""
    from server.net.app import start_server
    from showroom.scene import parse_scene

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    scene = parse_scene(ANNIVERSARY.read_text(), str(ANNIVERSARY))
    running = asyncio.run_coroutine_threadsafe(
        start_server(scene, scene_text=scene_text, host_token=TOKEN, data_dir=data_dir), loop).result(15)

    def call(fn):
        async def run():
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), loop).result(10)

    try:
        yield running.url, running, call
    finally:
        asyncio.run_coroutine_threadsafe(running.stop(), loop).result(15)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _summary(out: str, label: str) -> str:
    """The text of the summary line that starts with ``label``."""
    found = [line[len(label):].strip() for line in out.splitlines() if line.startswith(label + " ")]
    assert len(found) == 1, out
    return found[0]


def test_loadtest_where_nothing_listens_is_one_line_and_exit_1():
    url = f"ws://127.0.0.1:{_free_port()}/"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "showroom", "loadtest", url, "--clients", "5", "--duration", "5"],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stdout == ""  # no report of zeros
    lines = result.stderr.strip().splitlines()
    assert lines == [f"loadtest: cannot connect to {url}: connection refused (is showroom serve running there?)"]
    assert time.monotonic() - start < 30  # no bot was started, no hold was waited out


def test_connection_failures_are_counted_in_the_summary_errors_line(capsys):
    """A port that accepts TCP and hangs up at once: the probe passes, every bot fails to connect."""
    stop = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)

    def hang_up() -> None:
        deadline = time.monotonic() + 60
        for _ in range(1000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        rc = main(["loadtest", f"ws://127.0.0.1:{listener.getsockname()[1]}/", "--clients", "3", "--ramp", "50",
                   "--duration", "1"])
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    captured = capsys.readouterr()
    assert rc == 1
    assert "errors 3" in captured.err.replace("\r", "\n").strip().splitlines()[-2]  # the last progress line
    assert _summary(captured.out, "errors") == "connect_failed 3"


def test_the_summary_counts_every_award_the_ledger_made(tmp_path, capsys):
    text = ANNIVERSARY.read_text()
    with _server_in_thread(text, tmp_path / "data") as (url, running, call):
        rc = main(["loadtest", url, "--clients", "20", "--ramp", "40", "--duration", "2", "--behaviour", "wander"])
        in_ledger = call(running.event.ledger.awards_made)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert in_ledger == {"first-hundred": 20}  # the first 100 joiners' badge, one per bot
    awards = _summary(out, "awards")
    assert awards.startswith(f"{sum(in_ledger.values())} received"), awards
    assert "first-hundred 20" in awards
    assert _summary(out, "selfie audit").startswith("passed: 0 selfies")


def test_without_matplotlib_the_report_is_still_written_and_printed(server_url, tmp_path, capsys, monkeypatch):
    out, picture = tmp_path / "report.json", tmp_path / "run.png"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    rc = main(["loadtest", server_url, "--clients", "3", "--ramp", "50", "--duration", "1", "--behaviour", "wander",
               "--report", str(out), "--plot", str(picture)])
    printed = capsys.readouterr().out
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["joins"]["ok"] == 3
    assert not picture.exists()
    assert _summary(printed, "joins") == "3 ok, 0 failed"
    note = _summary(printed, "plot")
    assert note.startswith("not drawn") and "pip install 'showroom[plot]'" in note
    assert report["plot"] == note


@pytest.mark.parametrize("scene_text", ["", "this is [not a scene"])
def test_a_welcome_with_a_bad_scene_is_counted_as_an_error_and_the_run_goes_on(scene_text, tmp_path):
    with _server_in_thread(scene_text) as (url, _running, _call):
        result = subprocess.run([sys.executable, "-m", "showroom", "loadtest", url, "--clients", "3", "--ramp", "50",
                                 "--duration", "1", "--report", str(tmp_path / "r.json")],
                                check=False, capture_output=True, text=True, timeout=60)
    report = json.loads((tmp_path / "r.json").read_text())
    assert result.returncode == 1  # no bot could take part
    assert report["errors"] == {"bad_scene": 3}
    assert _summary(result.stdout, "errors") == "bad_scene 3"
    assert "Traceback" not in result.stderr and "SceneError" not in result.stderr, result.stderr


def test_a_front_door_that_closes_after_the_workers_welcome_does_not_make_the_bot_join_twice():
    """The front door closes its connection after the handover; when that close comes after the worker's
    welcome (a busy door), the bot keeps its worker: it is not taken for lost (which joined it again
    through the door, into a full event) and it keeps sending on the worker's connection."""
    import random

    from picows import WSMsgType

    from showroom.bots.bot import Bot
    from showroom.bots.stats import Stats
    from showroom.bots.swarm import BotListener
    from showroom.protocol import encode
    from showroom.protocol.server_messages import EventInfo, Welcome

    class Wire:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send(self, kind: object, data: bytes) -> None:
            assert kind == WSMsgType.BINARY
            self.sent.append(data)

    stats = Stats()
    bot = Bot(0, "watch", stats, random.Random(1))
    lost: list[Bot] = []
    door, worker = BotListener(bot, stats, lost.append), BotListener(bot, stats, lost.append)
    door_wire, worker_wire = Wire(), Wire()
    door.on_ws_connected(door_wire)
    worker.on_ws_connected(worker_wire)  # handed over: the bot joins on the worker
    welcome = Welcome(v=3, you=1000, slot=0, shard=0, role="bot", resume="r", wallet="w" * 32, tick_hz=20,
                      event=EventInfo(id="e", title="T", duration=480.0), scene=ANNIVERSARY.read_text(),
                      scene_version=1, playing=True, t=0.0)
    bot.receive(encode(welcome), time.time())
    assert bot.welcomes == 1
    door.on_ws_disconnected(door_wire)  # the door's close, late
    assert lost == [] and stats.connected == 1
    sent = len(worker_wire.sent)
    bot.ask_wallet()
    assert len(worker_wire.sent) == sent + 1  # still talking to its worker
    worker.on_ws_disconnected(worker_wire)  # the worker itself going away is a loss
    assert lost == [bot]
