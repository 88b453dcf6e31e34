"""What `showroom demo` prints on a headless machine: what happened and what it wrote, no library
noise (Panda3D's pipe list, a log line per connection, tracebacks from its helper processes), and a
Ctrl-C that ends it with one line giving the real time it ran.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT
from test_cli import bare_env

NOISE = ("Known pipe types", "eglGraphicsPipe", "aux display", "interrupt by keyboard", "Traceback", " INFO ",
         "KeyboardInterrupt", "connection closed")
LIMIT_S = 90.0


def demo(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "showroom", "demo", "--out", str(out), "--bots", "12",
                             "--screenshot-every", "30", *extra], cwd=ROOT, env=bare_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def quiet(text: str) -> None:
    for noise in NOISE:
        assert noise not in text, f"{noise!r} in the demo's output:\n{text}"


def test_a_short_demo_says_what_happened_and_what_it_wrote_and_nothing_else(tmp_path):
    proc = demo(tmp_path / "out", "--seconds", "6")
    out, _ = proc.communicate(timeout=LIMIT_S)
    assert proc.returncode == 0, out
    quiet(out)
    lines = out.splitlines()
    assert lines[0].startswith("server on ws://127.0.0.1:")
    assert "12 ambient visitors joining…" in lines
    finished = next(line for line in lines if line.startswith("demo "))
    ran = re.fullmatch(r"demo finished after (\d+) s \(offscreen, 12 ambient visitors\)", finished)
    assert ran and 5 <= int(ran.group(1)) <= 9, finished
    assert all(line.startswith(("server on", "host: ", "12 ambient", "demo ", "wrote ")) for line in lines), out


def test_ctrl_c_ends_the_demo_with_one_line_and_the_time_it_really_ran(tmp_path):
    out_dir = tmp_path / "out"
    proc = demo(out_dir, "--seconds", "300")
    started = time.monotonic()
    deadline = started + LIMIT_S
    while not list(out_dir.glob("frame-*.png")):  # the client's frame loop is running
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.2)
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    interrupted_at = time.monotonic()
    out, _ = proc.communicate(timeout=30)
    assert time.monotonic() - interrupted_at < 20, "Ctrl-C took too long to end the demo"
    quiet(out)
    stopped = [line for line in out.splitlines() if line.startswith("demo ")]
    assert len(stopped) == 1, out
    ran = re.fullmatch(r"demo stopped with Ctrl-C after (\d+) s \(offscreen, 12 ambient visitors\)", stopped[0])
    assert ran, stopped
    assert int(ran.group(1)) <= round(interrupted_at - started) + 1  # the real time, not the --seconds asked for
    assert int(ran.group(1)) >= 2
