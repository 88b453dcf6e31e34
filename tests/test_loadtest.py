"""The load test: 50 bots against a real server on 127.0.0.1, its report, its audit, its thresholds."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

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
        ws.send(msgpack.packb({"type": "join", "v": 1, "name": "host", "role": "host", "token": TOKEN}))
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
