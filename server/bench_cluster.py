"""``showroom bench cluster``: how many walking visitors one process holds, and how many N workers hold, one right
after the other on this machine, with the same load test; and what the broker and the database carry per 1,000.

For each visitor count, first ``showroom serve`` alone (pinned to core 0, the load test on core 1, as in
``bench live``), then ``showroom serve --workers N --pin-cores`` (worker *i* on core *i*; the load test
shares the cores: the machine is the same). A run **holds** its visitors when all of them joined, the
server missed at most :data:`MAX_OVERRUN_PCT` of its tick slots while holding them (the worst worker, for
workers), and every client got at least :data:`MIN_SNAPSHOTS` of the 20 frames a second. Redis' own
command counter (``INFO``) gives the broker's commands a second during the hold; the load test's awards
give the ledger's writes a second.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.bench_live import _healthy, plan_pinning, spawn, stop
from showroom.errors import ShowroomError

MAX_OVERRUN_PCT = 5.0
"""Tick slots a server may miss while holding its visitors, percent, for the run to count as holding them."""
MIN_SNAPSHOTS = 18.0
"""Frames per client per second (of 20) the load test must receive for the run to count as holding."""
START_TIMEOUT_S = 60.0
DOOR_LINE = re.compile(r" on (ws://\S+) over (\d+) workers")
ALONE_LINE = re.compile(r" on (ws://\S+) at \d+ ticks/s")


@dataclass(frozen=True)
class ClusterConfig:
    """What ``bench cluster`` runs."""

    visitors: tuple[int, ...]
    workers: int
    broker: str
    seconds: float = 20.0
    ramp_per_s: float = 200.0
    scene: str | None = None
    database: str | None = None
    progress: bool = True


def _say(config: ClusterConfig, line: str) -> None:
    if config.progress:
        print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _serving(command: list[str], pattern: re.Pattern[str], log_path: Path) -> Iterator[str]:
    with open(log_path, "wb") as log:
        proc = spawn(command, log, subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ShowroomError(f"bench cluster: the server exited with status {proc.returncode}; its log: {log_path}")
            found = pattern.search(log_path.read_text(errors="replace"))
            url = found.group(1) if found else None
            if url is not None and _healthy(url):
                break
            time.sleep(0.2)
        else:
            raise ShowroomError(f"bench cluster: the server did not answer /healthz within {START_TIMEOUT_S:g} s; "
                                f"its log: {log_path}")
        if pattern is DOOR_LINE:  # every worker up before the load comes
            _wait_workers(url, int(found.group(2)) if found else 1, log_path)
        yield url
    finally:
        stop(proc)


def _metrics(url: str) -> dict[str, Any]:
    import urllib.request

    with urllib.request.urlopen(url.replace("ws://", "http://", 1) + "metrics", timeout=5) as answer:
        doc: dict[str, Any] = json.loads(answer.read())
        return doc


def _wait_workers(url: str, count: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if _metrics(url).get("worker_count") == count:
                return
        time.sleep(0.2)
    raise ShowroomError(f"bench cluster: {count} workers did not come up within {START_TIMEOUT_S:g} s; its log: {log_path}")


@contextlib.contextmanager
def _broker_counter(broker: str) -> Iterator[list[tuple[float, float]]]:
    """Redis' total commands processed, read every half second while the block runs: (unix time, count)."""
    import threading

    import redis

    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def read() -> None:
        client = redis.Redis.from_url(broker, socket_timeout=5)
        try:
            while not done.is_set():
                with contextlib.suppress(redis.RedisError, KeyError, TypeError):
                    samples.append((time.time(), float(client.info("stats")["total_commands_processed"])))  # type: ignore[index]
                done.wait(0.5)
        finally:
            client.close()
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        done.set()
        thread.join(10)


def _commands_in(samples: list[tuple[float, float]], start: float, end: float) -> tuple[float, float] | None:
    """Commands counted between the first and the last sample inside [start, end], and the seconds between them."""
    inside = [s for s in samples if start <= s[0] <= end]
    if len(inside) < 2:
        return None
    return inside[-1][1] - inside[0][1] - (len(inside) - 1), inside[-1][0] - inside[0][0]  # less our own INFO calls


@contextlib.contextmanager
def _firing_cues(url: str, token: str, after_s: float, for_s: float, out: dict[str, Any]) -> Iterator[None]:
    """While the block runs: once the visitors are in, a host fires a cue (or seeks) every half second on one
    worker; every worker must apply each on the same tick (``show_clock_*`` in their ``/metrics``)."""
    import random
    import threading

    from showroom.host.link import HostLink, HostLinkError
    from showroom.protocol import client_messages as msg

    done = threading.Event()

    def fire() -> None:
        if done.wait(after_s + 1.0):
            return
        rng = random.Random(7)
        sent = 0
        try:
            with HostLink.open(url, token) as host:
                end = time.monotonic() + max(for_s - 2.0, 1.0)
                while time.monotonic() < end and not done.is_set():
                    host.request(msg.HostSeek(t=rng.uniform(0, 300)) if sent % 4 == 3 else msg.HostCue(index=rng.randrange(8)))
                    sent += 1
                    done.wait(0.5)
        except HostLinkError as exc:
            out["error"] = str(exc)
        out["sent"] = sent
    thread = threading.Thread(target=fire, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(15)


def _load(config: ClusterConfig, url: str, visitors: int, load_pin: tuple[str, ...], work: Path) -> dict[str, Any]:
    report_path = work / "loadtest.json"
    command = [*load_pin, sys.executable, "-m", "showroom", "loadtest", url, "--clients", str(visitors),
               "--ramp", f"{config.ramp_per_s:g}", "--duration", f"{config.seconds:g}", "--json",
               "--report", str(report_path)]
    limit_s = 2 * visitors / config.ramp_per_s + config.seconds + 120
    with open(work / "loadtest.log", "wb") as log:
        proc = spawn(command, log, subprocess.STDOUT)
    try:
        proc.wait(limit_s)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise ShowroomError(f"bench cluster: the load test ran past {limit_s:.0f} s; its log: {work / 'loadtest.log'}") from None
    try:
        report: dict[str, Any] = json.loads(report_path.read_text())
    except (OSError, ValueError):
        raise ShowroomError(f"bench cluster: the load test wrote no report; its log: {work / 'loadtest.log'}") from None
    return report


def _figures(report: dict[str, Any], visitors: int, broker: tuple[float, float] | None) -> dict[str, Any]:
    hold = report["hold"]
    server = report["server"]["hold"]
    workers = report.get("server_workers") or []
    worst = max([w.get("tick_overrun_pct") or 0.0 for w in workers], default=server["tick_overrun_pct"])
    overrun = max(worst, server["tick_overrun_pct"])
    snapshots = hold["snapshots_per_s_per_client"]
    awards = sum(report["award_audit"].get("awards_by_entitlement", {}).values())
    figures = {
        "visitors": visitors,
        "joined": report["joins"]["ok"],
        "tick_overrun_pct": round(overrun, 2),
        "tick_ms_p99": server["tick_ms_p99"],
        "snapshots_per_s_per_client": snapshots,
        "latency_ms_p99": report["latency_ms"]["p99"],
        "generator_cpu_pct": report["generator"]["cpu_pct"],
        "workers": [{k: w.get(k) for k in ("worker", "visitors", "tick_ms_p99", "tick_overrun_pct")} for w in workers],
        "holds": bool(report["joins"]["ok"] == visitors and overrun <= MAX_OVERRUN_PCT and snapshots >= MIN_SNAPSHOTS),
        "errors": {str(k): int(v) for k, v in (report.get("errors") or {}).items()},
        "rejoined": int(report["joins"].get("rejoined", 0) or 0),
        "awards": awards,
        "awards_per_s_per_1000": round(awards / max(report["phases_s"]["hold"] + report["phases_s"]["ramp_up"], 1e-9)
                                       / visitors * 1000, 2),
    }
    if broker is not None:
        commands, seconds = broker
        figures["broker_commands_per_s"] = round(commands / seconds, 1)
        figures["broker_commands_per_s_per_1000"] = round(commands / seconds / visitors * 1000, 1)
    return figures


def run(config: ClusterConfig) -> dict[str, Any]:
    """Both set-ups at every visitor count, one right after the other; the figures as a JSON-ready dict."""
    from showroom.settings import load_settings

    scene = load_settings(scene=config.scene).scene_path().resolve()
    pinning = plan_pinning(0, 1, True)
    rows: list[dict[str, Any]] = []
    for visitors in config.visitors:
        row: dict[str, Any] = {"visitors": visitors}
        for mode in ("alone", "workers"):
            work = Path(tempfile.mkdtemp(prefix=f"showroom-bench-cluster-{mode}-"))
            token = secrets.token_urlsafe(16)
            common = [sys.executable, "-m", "showroom", "serve", str(scene), "--host", "127.0.0.1", "--port", "0",
                      "--data-dir", str(work / "data"), f"--host-token={token}",
                      "--communities", str(work / "no-communities"), "--no-reload"]
            if config.database:
                common += ["--database", config.database]
            if mode == "alone":
                command, pattern, load_pin = [*pinning.server, *common], ALONE_LINE, pinning.load
            else:
                command = [*common, "--workers", str(config.workers), "--pin-cores", "--broker", config.broker,
                           "--shards-per-worker", "1", "--shard-capacity", str(max(1, -(-visitors // config.workers)))]
                pattern, load_pin = DOOR_LINE, ()
            _say(config, f"bench cluster: {visitors} visitors, {'one process' if mode == 'alone' else f'{config.workers} workers'}…")
            cues: dict[str, Any] = {}
            with _serving(command, pattern, work / "server.log") as url, _broker_counter(config.broker) as counted:
                if mode == "workers":
                    with _firing_cues(url, token, visitors / config.ramp_per_s, config.seconds, cues):
                        report = _load(config, url, visitors, load_pin, work)
                    cues["workers"] = [{k: w.get(k) for k in ("worker", "show_clock_changes", "show_clock_late",
                                                              "show_clock_late_ticks_p99", "show_clock_late_ticks_max",
                                                              "show_clock_off_ms_max")}
                                       for w in _metrics(url).get("workers", [])]
                else:
                    report = _load(config, url, visitors, load_pin, work)
            hold = report["hold"]
            broker = _commands_in(counted, hold["from_unix_s"] or 0, hold["to_unix_s"] or 0) if mode == "workers" else None
            row[mode] = _figures(report, visitors, broker)
            if cues:
                row[mode]["cues"] = cues
            if row[mode]["holds"]:
                shutil.rmtree(work, ignore_errors=True)
            else:  # kept, to read why: the server's and the load test's logs and report
                row[mode]["logs"] = str(work)
        rows.append(row)
    most_alone = max((r["visitors"] for r in rows if r["alone"]["holds"]), default=0)
    most_workers = max((r["visitors"] for r in rows if r["workers"]["holds"]), default=0)
    return {"scene": str(scene), "workers": config.workers, "seconds": config.seconds, "rows": rows,
            "held_alone": most_alone, "held_workers": most_workers,
            "criteria": {"max_overrun_pct": MAX_OVERRUN_PCT, "min_snapshots_per_s": MIN_SNAPSHOTS}}


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The figures for people."""
    lines = [f"{'visitors':>8}  {'one process':<44}  {r['workers']} workers"]
    for row in r["rows"]:
        cells = []
        for mode in ("alone", "workers"):
            f = row[mode]
            cells.append(f"{'HOLDS' if f['holds'] else 'no   '} {f['joined']:>5} in, {f['tick_overrun_pct']:5.1f} % overruns, "
                         f"{f['snapshots_per_s_per_client']:4.1f} fr/s, p99 {f['latency_ms_p99']:5.0f} ms")
        extra = ""
        if "broker_commands_per_s_per_1000" in row["workers"]:
            extra = f"  broker {row['workers']['broker_commands_per_s_per_1000']:.0f} cmd/s per 1,000"
        cues = row["workers"].get("cues")
        if cues and cues.get("workers"):
            late = sum(w.get("show_clock_late") or 0 for w in cues["workers"])
            p99 = max(w.get("show_clock_late_ticks_p99") or 0.0 for w in cues["workers"])
            extra += (f"; {cues.get('sent', 0)} host cues: {late} applied after their tick "
                      f"(p99 {p99:g} ticks late on the worst worker)")
        lines.append(f"{row['visitors']:>8}  {cells[0]:<44}  {cells[1]}{extra}")
        for mode, label in (("alone", "one process"), ("workers", "workers")):
            f = row[mode]
            if not f["holds"] and (f.get("errors") or f.get("rejoined")):  # what the visitors were told
                told = ", ".join(f"{code} {n}" for code, n in sorted(f.get("errors", {}).items())) or "no errors"
                lines.append(f"{'':>8}  {label}: {told}; {f.get('rejoined', 0)} rejoined after losing their worker")
            if f.get("logs"):
                lines.append(f"{'':>8}  {label}: did not hold; logs and report in {f['logs']}")
    lines.append(f"held: one process {r['held_alone']} visitors, {r['workers']} workers {r['held_workers']} "
                 f"(at most {r['criteria']['max_overrun_pct']:g} % tick overruns, at least "
                 f"{r['criteria']['min_snapshots_per_s']:g} frames a second each)")
    return lines
