"""The command line: instant help, scene validation, the headless run and the benchmark."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from conftest import ANNIVERSARY, ROOT


def showroom(*args: str, timeout: float = 120, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "showroom", *args], check=False, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


def bare_env() -> dict[str, str]:
    """The environment with no display and no SHOWROOM_* settings (as on a fresh headless machine)."""
    return {k: v for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY") and not k.startswith("SHOWROOM_")}


def one_line(text: str) -> str:
    """The only line of ``text`` (fails when there are more or none)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_help_lists_every_subcommand_and_loads_nothing_heavy():
    result = showroom("--help")
    assert result.returncode == 0
    for command in ("demo", "client", "serve", "host", "scene", "sim", "loadtest", "ledger", "bench"):
        assert f"\n    {command} " in result.stdout
    listed = result.stdout.split("    scene ")[1].split("    sim ")[0].lower()
    assert "validate" in listed and "schema" in listed and "preview" in listed
    assert "example:" in result.stdout
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, showroom.cli; showroom.cli.build_parser(); "
         "print(sorted(m for m in ('numpy', 'pydantic', 'panda3d') if m in sys.modules))"],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert modules.stdout.strip() == "[]"


def test_every_subcommand_help_shows_an_example():
    from showroom.cli import build_parser

    def commands(parser, prefix):
        """(name, parser) of every runnable command below ``parser``."""
        actions = getattr(parser, "_subparsers", None)
        if actions is None:
            return [(prefix, parser)]
        return [leaf for name, sub in actions._group_actions[0].choices.items()
                for leaf in commands(sub, f"{prefix} {name}")]

    missing = [name for name, parser in commands(build_parser(), "showroom") if "example" not in (parser.epilog or "")]
    assert not missing, f"no example in the help of: {missing}"


def test_what_the_commands_write_in_the_working_folder_is_ignored_by_git():
    for path in ("showroom-demo/demo.png", "data/ledger.sqlite", "screenshots/shot.png", "preview/overview.png"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode == 0, f"{path} is not ignored by git"


def test_the_readme_points_at_nothing_outside_the_repository():
    import re

    readme = (ROOT / "README.md").read_text()
    outside = re.findall(r"\.\./[\w./-]+", readme)
    assert not outside, f"README.md refers to files outside the repository: {outside}"
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        assert (ROOT / target).exists(), f"README.md links to {target}, which is not in the repository"


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
        dashboard = proc.stdout.readline().strip()
        assert dashboard == f"host dashboard: http://127.0.0.1:{match.group(1)}/host"
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/healthz", timeout=5) as response:
            assert response.read().strip() == b"ok"
        with urllib.request.urlopen(dashboard.split(": ", 1)[1], timeout=5) as response:
            assert b"<title>" in response.read()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "stopped" in out
        assert (tmp_path / "data" / "server.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_on_port_99999_is_one_line_and_exit_2_before_any_data_is_written(tmp_path):
    result = showroom("serve", "--port", "99999", cwd=tmp_path, env=bare_env(), timeout=60)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "--port" in line and "0 to 65535" in line and "99999" in line
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no ./data, no ledger key


def test_serve_on_a_port_in_use_is_one_line_and_exit_1(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = showroom("serve", str(ANNIVERSARY), "--port", str(port), "--data-dir", str(data),
                          cwd=tmp_path, env=bare_env(), timeout=60)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f"127.0.0.1:{port}" in line and "in use" in line
    assert "Traceback" not in result.stderr and "serving" not in result.stdout
    assert not data.exists()  # bound before the store and the ledger key were made


def test_client_without_a_display_is_one_line_that_says_what_to_do(tmp_path):
    url = "ws://127.0.0.1:9/"
    result = showroom("client", url, cwd=tmp_path, env=bare_env(), timeout=60)
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "no display" in line and "--offscreen --seconds" in line
    assert line.count(url) <= 1


def test_client_url_without_a_scheme_is_one_line_suggesting_ws(tmp_path):
    result = showroom("client", "localhost:8765", cwd=tmp_path, env=bare_env(), timeout=60)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "ws://localhost:8765/" in line and "localhost://" not in line
    assert line.count("localhost:8765") == 1


def test_client_url_with_an_http_scheme_is_one_line_suggesting_ws(tmp_path):
    result = showroom("client", "http://x/", cwd=tmp_path, env=bare_env(), timeout=60)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "ws://x/" in line and "http://" in line
    assert line.count("http://x/") <= 1 and line.count("http://") == 1


def test_demo_lists_each_photo_with_its_json_sidecar(tmp_path, capsys):
    from showroom.cli.client import print_written

    photos = tmp_path / "photos" / "anniversary"
    photos.mkdir(parents=True)
    photo, sidecar, frame = photos / "teddy-0102.png", photos / "teddy-0102.json", tmp_path / "frame-000300.png"
    for path in (photo, sidecar, frame):
        path.write_bytes(b"x")
    print_written([str(frame), str(photo)])
    assert capsys.readouterr().out.splitlines() == [f"wrote {frame}", f"wrote {photo}", f"wrote {sidecar}"]
