"""``showroom bench live``: the server's capacity with real loopback sockets, measured from outside its process.

``showroom bench tick`` drives sessions through links that only count bytes, so the kernel's ``send()``, half
of the server's busy time at 1,000 visitors (issue 17), is left out and capacity looks twice what it is. Here
the real thing runs: ``showroom serve`` and ``showroom loadtest`` as two processes on 127.0.0.1, each pinned
to its own core when the machine has two, and the server's CPU and memory are read from ``/proc`` over the
load test's hold alone (its report says when that was, on the wall clock both processes share), so joining,
settling and leaving do not dilute the figure. :mod:`server.bench_peer` then runs the Colyseus peer with
the same pinning when asked. Nothing here imports the server or the bots: they are measured as users run them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from showroom.errors import ShowroomError

SAMPLE_EVERY_S = 0.25
"""How often both processes' CPU time and the server's memory are read (a read of ``/proc``, nothing more)."""
START_TIMEOUT_S = 60.0
"""How long the server may take to print its address and answer ``/healthz``."""
LOAD_SLACK_S = 60.0
"""Beyond its ramps and hold, how long the load test may run (connecting, settling, writing its report)."""
STOP_GRACE_S = 10.0
"""How long a process asked to stop may take before it is killed."""
CROWDED_PCT = 10.0
"""Other work on the server's core, percent of it, above which the run is flagged as disturbed."""
LISTENING = re.compile(r"serving .* on (ws://127\.0\.0\.1:(\d+)/)")
"""The line ``showroom serve`` prints once it listens."""


@dataclass(frozen=True)
class LiveConfig:
    """What ``showroom bench live`` runs."""

    visitors: int
    seconds: float
    """How long the load test holds every visitor; the measured window."""
    ramp_per_s: float = 100.0
    scene: Path | None = None
    """The scene file; None: the settings' scene (the anniversary runway by default)."""
    server_core: int = 0
    load_core: int = 1
    pin: bool = True
    progress: bool = True
    plot: Path | None = None
    """Where the load test draws its picture (clients, latency and tick time over the run); None: not drawn."""
    loadtest_report: Path | None = None
    """Where the load test's own full report is kept; None: only in the temporary folder."""


@dataclass(frozen=True)
class Pinning:
    """Which core each side runs on, as the command prefix that puts it there, and a line saying so."""

    server: tuple[str, ...]
    load: tuple[str, ...]
    server_core: int | None
    load_core: int | None
    note: str


@dataclass(frozen=True)
class Sample:
    """One reading of both processes: unix time, CPU seconds used so far, the server's resident memory, and
    how long the server's core has been busy with anything at all (0 when the server is not pinned)."""

    t: float
    server_cpu_s: float
    load_cpu_s: float
    server_rss_kb: int
    core_busy_s: float = 0.0


@dataclass(frozen=True)
class Usage:
    """CPU (percent of one core) and peak memory over the samples inside a window."""

    measured_s: float
    server_cpu_pct: float
    load_cpu_pct: float
    server_rss_mb: float
    others_on_core_pct: float
    """The server's core busy with anything but the server (other processes, interrupts); unpinned: 0."""


def plan_pinning(server_core: int, load_core: int, pin: bool, cores: set[int] | None = None,
                 taskset: str | None = None) -> Pinning:
    """Pin the server and the load generator to a core each with ``taskset``, or say why they are not.

    One core shared by both would measure the generator too, so fewer than two cores (or no ``taskset``)
    runs unpinned with a note rather than failing; a core this process may not use is an error.
    """
    cores = os.sched_getaffinity(0) if cores is None else cores
    taskset = shutil.which("taskset") if taskset is None else taskset
    if not pin:
        return Pinning((), (), None, None, "not pinned (--no-pin)")
    if len(cores) < 2:
        return Pinning((), (), None, None, f"not pinned: only {len(cores)} core available to this process")
    if not taskset:
        return Pinning((), (), None, None, "not pinned: taskset not found (install util-linux)")
    if server_core == load_core:
        raise ShowroomError(f"bench live: --server-core and --load-core are both {server_core}; give each its own")
    for flag, core in (("--server-core", server_core), ("--load-core", load_core)):
        if core not in cores:
            raise ShowroomError(f"bench live: {flag} {core}: this process may use cores "
                                f"{', '.join(map(str, sorted(cores)))}")
    return Pinning((taskset, "-c", str(server_core)), (taskset, "-c", str(load_core)), server_core, load_core,
                   f"server on core {server_core}, load generator on core {load_core}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process and all its threads so far, seconds (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def core_busy_seconds(core: int | None) -> float:
    """How long one core has spent on anything but idling since boot, seconds (``/proc/stat``); 0 for None."""
    if core is None:
        return 0.0
    for line in Path("/proc/stat").read_text().splitlines():
        name, *ticks = line.split()
        if name == f"cpu{core}":
            user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in ticks[:8])
            return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    return 0.0


def rss_kb(pid: int) -> int:
    """Resident memory of a process, KiB (``VmRSS`` of ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def window_usage(samples: list[Sample], from_s: float, to_s: float) -> Usage | None:
    """CPU of both processes and the server's peak memory from the samples taken between ``from_s`` and ``to_s``
    (unix seconds); None when fewer than two fall inside."""
    inside = [s for s in samples if from_s <= s.t <= to_s]
    if len(inside) < 2:
        return None
    first, last = inside[0], inside[-1]
    span = last.t - first.t
    server_s = last.server_cpu_s - first.server_cpu_s
    others_s = max(last.core_busy_s - first.core_busy_s - server_s, 0.0) if last.core_busy_s else 0.0
    return Usage(measured_s=round(span, 2), server_cpu_pct=round(100.0 * server_s / span, 1),
                 load_cpu_pct=round(100.0 * (last.load_cpu_s - first.load_cpu_s) / span, 1),
                 server_rss_mb=round(max(s.server_rss_kb for s in inside) / 1024, 1),
                 others_on_core_pct=round(100.0 * others_s / span, 1))


def spawn(command: list[str], out: IO[bytes] | int | None, err: IO[bytes] | int | None) -> subprocess.Popen[bytes]:
    """Start a command in its own process group, so stopping it stops whatever it started, and a Ctrl-C
    meant for us reaches it only through :func:`stop`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                            start_new_session=True)


def stop(proc: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    """Ask a process group to stop with ``sig``, then kill it if it has not within :data:`STOP_GRACE_S`."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(STOP_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):  # children it left behind, or the process itself
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_GRACE_S)


@contextlib.contextmanager
def running_server(scene: Path, pinning: Pinning, folder: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``showroom serve`` for the scene on a free 127.0.0.1 port (the kernel picks it), data in ``folder``;
    yields the process and its URL once ``/healthz`` answers, stops it on the way out."""
    log_path = folder / "server.log"
    command = [*pinning.server, sys.executable, "-m", "showroom", "serve", str(scene), "--host", "127.0.0.1",
               "--port", "0", "--data-dir", str(folder / "data"), f"--host-token={secrets.token_urlsafe(16)}",
               "--communities", str(folder / "no-communities"), "--no-reload"]
    with open(log_path, "wb") as log:
        proc = spawn(command, log, subprocess.STDOUT)
    try:
        yield proc, _wait_listening(proc, log_path)
    finally:
        stop(proc)


def _wait_listening(proc: subprocess.Popen[bytes], log_path: Path) -> str:
    """The server's URL, once it printed it and ``/healthz`` answers; an error naming its log otherwise."""
    deadline = time.monotonic() + START_TIMEOUT_S
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ShowroomError(f"bench live: the server exited with status {proc.returncode} before it listened; "
                                f"its log: {log_path}")
        if url is None:
            found = LISTENING.search(log_path.read_text(errors="replace"))
            url = found.group(1) if found else None
        if url is not None and _healthy(url):
            return url
        time.sleep(0.1)
    raise ShowroomError(f"bench live: the server did not answer /healthz within {START_TIMEOUT_S:g} s; "
                        f"its log: {log_path}")


def _healthy(url: str) -> bool:
    health = url.replace("ws://", "http://", 1) + "healthz"
    try:
        with urllib.request.urlopen(health, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def run_load(config: LiveConfig, url: str, server_pid: int, pinning: Pinning,
             folder: Path) -> tuple[dict[str, Any], int, list[Sample]]:
    """Run ``showroom loadtest`` against ``url``, reading both processes every :data:`SAMPLE_EVERY_S`;
    return its report, its exit status and the samples. Its progress line goes to our stderr."""
    report_path, log_path = folder / "loadtest.json", folder / "loadtest.log"
    command = [*pinning.load, sys.executable, "-m", "showroom", "loadtest", url, "--clients", str(config.visitors),
               "--ramp", f"{config.ramp_per_s:g}", "--duration", f"{config.seconds:g}", "--json",
               "--report", str(report_path)]
    if config.plot is not None:
        command += ["--plot", str(config.plot)]
    limit_s = 2 * config.visitors / config.ramp_per_s + config.seconds + LOAD_SLACK_S
    samples: list[Sample] = []
    with open(log_path, "wb") as log:
        proc = spawn(command, log, None if config.progress else subprocess.STDOUT)
    try:
        deadline = time.monotonic() + limit_s
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise ShowroomError(f"bench live: the load test ran past {limit_s:.0f} s; its log: {log_path}")
            with contextlib.suppress(OSError, ValueError, IndexError):  # one process just ended: skip the reading
                samples.append(Sample(time.time(), cpu_seconds(server_pid), cpu_seconds(proc.pid), rss_kb(server_pid),
                                      core_busy_seconds(pinning.server_core)))
            time.sleep(SAMPLE_EVERY_S)
    finally:
        stop(proc)
    try:
        report = json.loads(report_path.read_text())
        if config.loadtest_report is not None:
            shutil.copyfile(report_path, config.loadtest_report)
    except (OSError, ValueError):
        raise ShowroomError(f"bench live: the load test (status {proc.returncode}) wrote no report; "
                            f"its log: {log_path}") from None
    return report, int(proc.returncode), samples


def measure(report: dict[str, Any], exit_status: int, samples: list[Sample], config: LiveConfig, scene: Path,
            pinning: Pinning) -> dict[str, Any]:
    """The benchmark's figures: the server's CPU and memory over the hold, and what the load test saw."""
    hold, server = report["hold"], report["server"]
    if hold["from_unix_s"] is None:
        raise ShowroomError("bench live: the load test never reached its hold, so nothing was measured")
    usage = window_usage(samples, hold["from_unix_s"], hold["to_unix_s"])
    if usage is None:
        held_s = hold["to_unix_s"] - hold["from_unix_s"]
        raise ShowroomError(f"bench live: the hold was too short to measure ({held_s:.2f} s); give --seconds 2 or more")
    audit = report["award_audit"]
    return {
        "scene": str(scene),
        "pinning": {"server_core": pinning.server_core, "load_core": pinning.load_core, "note": pinning.note},
        "visitors": config.visitors,
        "joined": report["joins"]["ok"],
        "join_failed": report["joins"]["failed"],
        "ramp_per_s": config.ramp_per_s,
        "hold_s": report["phases_s"]["hold"],
        "hold_unix_s": [hold["from_unix_s"], hold["to_unix_s"]],
        "clients_mean": hold["clients_mean"],
        "server": {"cpu_pct": usage.server_cpu_pct, "rss_mb": usage.server_rss_mb, "measured_s": usage.measured_s,
                   "others_on_core_pct": usage.others_on_core_pct if pinning.server_core is not None else None,
                   "tick_ms_p50": server["hold"].get("tick_ms_p50"), "tick_ms_p99": server["hold"]["tick_ms_p99"],
                   "ticks": server["hold"]["ticks"], "tick_overrun_pct": server["hold"]["tick_overrun_pct"],
                   "frames_skipped": server["frames_skipped"]},
        "per_client_per_s": {"kb": round(hold["bytes_in_per_s_per_client"] / 1024, 2),
                             "bytes": hold["bytes_in_per_s_per_client"],
                             "messages": hold["messages_in_per_s_per_client"],
                             "snapshots": hold["snapshots_per_s_per_client"]},
        "latency_ms": {k: report["latency_ms"][k] for k in ("p50", "p95", "p99", "samples")},
        "generator": {"cpu_pct": usage.load_cpu_pct, "cpu_pct_whole_run": report["generator"]["cpu_pct"]},
        "errors": report["errors"],
        "award_audit": {k: audit[k] for k in ("passed", "selfies_taken", "awarded_ok", "refused_sold_out")},
        "loadtest_status": exit_status,
    }


def run(config: LiveConfig, folder: Path | None = None) -> dict[str, Any]:
    """Serve, load and measure once; the figures as a JSON-ready dict.

    The temporary folder (data, logs, the load test's report) is removed after a good run and kept after a
    failed or interrupted one (a failure names the log to read).
    """
    from showroom.settings import load_settings

    scene = load_settings(scene=config.scene).scene_path().resolve()
    if not scene.is_file():
        raise ShowroomError(f"bench live: {scene}: no such scene file")
    pinning = plan_pinning(config.server_core, config.load_core, config.pin)
    work = Path(tempfile.mkdtemp(prefix="showroom-bench-live-")) if folder is None else folder
    _say(config, f"bench live: {pinning.note}; starting the server ({scene.name})…")
    with running_server(scene, pinning, work) as (server, url):
        _say(config, f"bench live: {config.visitors} visitors at {config.ramp_per_s:g}/s, holding {config.seconds:g} s "
                     f"against {url}…")
        report, status, samples = run_load(config, url, server.pid, pinning, work)
        result = measure(report, status, samples, config, scene, pinning)
        if server.poll() is not None:
            raise ShowroomError(f"bench live: the server exited with status {server.returncode} during the run; "
                                f"its log: {work / 'server.log'}")
    if folder is None:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _say(config: LiveConfig, line: str) -> None:
    if config.progress:
        print(line, file=sys.stderr, flush=True)


def _crowding(r: dict[str, Any]) -> str:
    """Whether anything else ran on the server's core while it was measured (unknown when unpinned)."""
    others, core = r["server"]["others_on_core_pct"], r["pinning"]["server_core"]
    if others is None:
        return "other work        unknown (not pinned): the figures may include other processes' interference"
    verdict = "DISTURBED: rerun on a quiet machine" if others > CROWDED_PCT else "quiet"
    return f"other work        {others:.1f} % of core {core} while holding, beside the server: {verdict}"


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The figures of one run as the table ``showroom bench live`` prints."""
    srv, per, lat, gen, audit = r["server"], r["per_client_per_s"], r["latency_ms"], r["generator"], r["award_audit"]
    errors = ", ".join(f"{k} {v}" for k, v in sorted(r["errors"].items())) or "none"
    p50 = "?" if srv["tick_ms_p50"] is None else f"{srv['tick_ms_p50']:.2f}"
    return [
        f"scene             {r['scene']}",
        f"pinning           {r['pinning']['note']}",
        (f"visitors          {r['joined']} joined of {r['visitors']} ({r['join_failed']} failed) at "
         f"{r['ramp_per_s']:g}/s; held {r['hold_s']:g} s, measured over {srv['measured_s']:g} s of it"),
        f"server CPU        {srv['cpu_pct']:.1f} % of one core while holding, RSS {srv['rss_mb']:.0f} MB",
        _crowding(r),
        (f"server tick       p50 {p50} ms, p99 {srv['tick_ms_p99']} ms, {srv['tick_overrun_pct']:.2f} % overruns "
         f"while holding ({srv['ticks']} ticks), {srv['frames_skipped']} frames skipped"),
        f"delivery latency  p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms",
        (f"per client        {per['kb']:.1f} kB/s, {per['messages']:.1f} messages/s, "
         f"{per['snapshots']:.1f} snapshots/s (received, while holding; kB = 1,024 bytes, as the peer counts)"),
        f"generator CPU     {gen['cpu_pct']:.0f} % of one core while holding",
        f"errors            {errors}",
        (f"award audit       {'passed' if audit['passed'] else 'FAILED'}: {audit['selfies_taken']} selfies, "
         f"{audit['awarded_ok']} rewarded, {audit['refused_sold_out']} refused (sold out)"),
    ]
