"""The command line: instant help, scene validation, the headless run and the benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from conftest import ANNIVERSARY, ROOT


def showroom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "showroom", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_help_lists_every_subcommand_quickly():
    start = time.perf_counter()
    result = showroom("--help")
    assert result.returncode == 0
    for command in ("sim", "scene", "bench"):
        assert f"\n    {command} " in result.stdout
    assert "example:" in result.stdout
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, showroom.cli; print(sorted(m for m in ('numpy', 'pydantic', 'panda3d') if m in sys.modules))"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert modules.stdout.strip() == "[]"
    assert time.perf_counter() - start < 5


def test_validate_prints_a_summary_of_a_good_scene():
    result = showroom("scene", "validate", str(ANNIVERSARY))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout.splitlines()[0]
    assert "teddy (Maison Lumen)" in result.stdout
    assert "42 cues" in result.stdout


def test_validate_reports_each_error_on_one_line_and_exits_1(tmp_path):
    broken = tmp_path / "broken.toml"
    text = ANNIVERSARY.read_text()
    text = text.replace('mascot = "teddy"\npath = "teddy-out"', 'mascot = "tedy"\npath = "teddy-out"', 1)
    text = text.replace("stock = 150", "stock = -5", 1)
    broken.write_text(text)
    result = showroom("scene", "validate", str(broken))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert f"{broken}: entitlements[1].stock: Input should be greater than or equal to 0 (got -5)" in lines
    assert len(lines) == 1  # model errors are reported before cross-references are looked at


def test_schema_is_json_with_the_top_level_sections():
    result = showroom("scene", "schema")
    schema = json.loads(result.stdout)
    assert {"event", "venue", "brands", "mascots", "timeline"} <= set(schema["properties"])


def test_sim_runs_the_show_and_prints_figures_as_json():
    result = showroom("sim", str(ANNIVERSARY), "--seconds", "5", "--visitors", "200", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["agents"] == 203
    assert figures["show_seconds"] == 5.0
    assert figures["median_ms"] > 0


def test_bench_crowd_json_last_line():
    result = showroom("bench", "crowd", "--agents", "400", "--steps", "5", "--reference-agents", "50",
                      "--reference-steps", "2", "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["agents"] == 400
    assert {"median_ms", "p95_ms", "agent_steps_per_s", "speedup_per_agent_step"} <= set(figures)


def test_bad_numbers_on_the_command_line_are_named():
    result = showroom("bench", "crowd", "--agents", "-3")
    assert result.returncode == 2
    assert "--agents" in result.stderr and "must be at least 1" in result.stderr
    result = showroom("sim", "--seconds", "nan")
    assert result.returncode == 2 and "--seconds" in result.stderr


def test_serve_answers_health_and_stops_cleanly_on_sigint(tmp_path):
    import re
    import signal
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "showroom", "serve", str(ANNIVERSARY), "--port", "0",
                             "--data-dir", str(tmp_path / "data"), "--host-token", "secret"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        first = proc.stdout.readline()
        match = re.search(r"ws://127\.0\.0\.1:(\d+)/", first)
        assert match, first
        assert proc.stdout.readline().strip() == "host token: secret"
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/healthz", timeout=5) as response:
            assert response.read().strip() == b"ok"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "stopped" in out
        assert (tmp_path / "data" / "server.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
