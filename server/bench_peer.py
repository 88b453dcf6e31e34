"""The Colyseus peer beside ``showroom bench live``: run it with the same pinning, read its line, compare.

The peer (``shared/peers/colyseus``, outside this project) is a Colyseus 0.16 room written as its users
write one; its ``run.sh N SECONDS`` prints one JSON line. Issue 17 sets Showroom's goals as ratios to it,
measured one run right after the other on the same cores: server CPU at most three quarters of the peer's,
bytes per client at most a tenth, and p99 delivery within 50 ms on its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from server.bench_live import LiveConfig, run, stop
from showroom.errors import ShowroomError

CPU_RATIO_GOAL = 0.75
"""Showroom's server CPU over the peer's, at most."""
BYTES_RATIO_GOAL = 0.10
"""Showroom's bytes per client over the peer's, at most."""
P99_GOAL_MS = 50.0
"""Showroom's p99 delivery latency, at most."""
PEER_FIELDS = ("clients", "kb_per_client_s", "p50_ms", "p99_ms", "server_cpu_pct")
"""What the comparison reads from the peer's line."""
PEER_SLACK_S = 420.0
"""Beyond the counted seconds, how long the peer may run: a first ``npm install``, its joins, its 5 s warm-up."""


def peer_script(folder: Path) -> Path:
    """The peer's ``run.sh`` in ``folder``; an error saying what is missing before anything is started."""
    script = folder / "run.sh"
    if not script.is_file():
        raise ShowroomError(f"bench live: --peer {folder}: no run.sh there (expected the Colyseus peer's folder, "
                            f"e.g. ../shared/peers/colyseus)")
    if not os.access(script, os.X_OK):
        raise ShowroomError(f"bench live: --peer {folder}: run.sh is not executable")
    return script


def run_side_by_side(config: LiveConfig, script: Path | None) -> dict[str, Any]:
    """Showroom's live run, then (with ``script``) the peer's on the same cores right after it, and the goals.

    ``peer`` and ``goals`` are None in the result when no peer was asked for.
    """
    result = run(config)
    result["peer"] = result["goals"] = None
    if script is None:
        return result
    if config.progress:
        print(f"bench live: the Colyseus peer, {config.visitors} clients for {config.seconds:g} s…", file=sys.stderr,
              flush=True)
    pins = result["pinning"]
    result["peer"] = run_peer(script, config.visitors, config.seconds, pins["server_core"], pins["load_core"])
    result["goals"] = compare(result, result["peer"])
    return result


def run_peer(script: Path, visitors: int, seconds: float, server_core: int | None,
             load_core: int | None) -> dict[str, Any]:
    """Run the peer for ``visitors`` clients over ``seconds`` on the cores Showroom had (None: unpinned);
    its figures."""
    env = dict(os.environ)
    if server_core is not None and load_core is not None:
        env.update(PIN_SERVER=str(server_core), PIN_DRIVER=str(load_core))
    limit_s = seconds + PEER_SLACK_S
    counted_s = str(max(1, round(seconds)))  # run.sh's shell arithmetic takes whole seconds
    proc = subprocess.Popen([str(script), str(visitors), counted_s], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        raise ShowroomError(f"bench live: the peer ran past {limit_s:.0f} s ({script})") from None
    finally:
        stop(proc)
    return parse_peer_output(out.decode(errors="replace"))


def parse_peer_output(text: str) -> dict[str, Any]:
    """The peer's figures from what ``run.sh`` printed (its last JSON line); an error when it failed or
    left out a figure the comparison needs."""
    lines = [line for line in text.splitlines() if line.lstrip().startswith("{")]
    if not lines:
        raise ShowroomError(f"bench live: the peer printed no JSON line (it printed {text.strip()[-200:]!r})")
    try:
        figures = json.loads(lines[-1])
    except ValueError:
        raise ShowroomError(f"bench live: the peer's line is not JSON: {lines[-1][:200]!r}") from None
    if not isinstance(figures, dict):
        raise ShowroomError(f"bench live: the peer's line is not a JSON object: {lines[-1][:200]!r}")
    if "fatal" in figures:
        raise ShowroomError(f"bench live: the peer failed: {figures['fatal']}")
    missing = [name for name in PEER_FIELDS if not isinstance(figures.get(name), (int, float))]
    if missing:
        raise ShowroomError(f"bench live: the peer's line has no {', '.join(missing)}: {lines[-1][:200]!r}")
    return figures


def compare(ours: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Issue 17's three goals, each with its value, its bound and whether it is met.

    ``ours`` is :func:`server.bench_live.measure`'s result. Both kB figures are 1,024-byte units of message
    payload received per client per second; the ratios are None when the peer's figure is zero.
    """
    cpu = _ratio(ours["server"]["cpu_pct"], peer["server_cpu_pct"])
    kb = _ratio(ours["per_client_per_s"]["kb"], peer["kb_per_client_s"])
    p99 = ours["latency_ms"]["p99"]
    return {
        "server_cpu_ratio": {"value": cpu, "goal_at_most": CPU_RATIO_GOAL,
                             "met": cpu is not None and cpu <= CPU_RATIO_GOAL},
        "bytes_per_client_ratio": {"value": kb, "goal_at_most": BYTES_RATIO_GOAL,
                                   "met": kb is not None and kb <= BYTES_RATIO_GOAL},
        "p99_ms": {"value": p99, "goal_at_most": P99_GOAL_MS, "met": p99 <= P99_GOAL_MS},
    }


def _ratio(ours: float, theirs: float) -> float | None:
    return round(ours / theirs, 3) if theirs else None


def side_by_side_lines(ours: dict[str, Any], peer: dict[str, Any], goals: dict[str, Any]) -> list[str]:
    """Both servers' figures in two columns, then the goals with their ratios."""
    rows = [("clients", ours["joined"], peer["clients"], "{:.0f}"),
            ("server CPU, % of a core", ours["server"]["cpu_pct"], peer["server_cpu_pct"], "{:.1f}"),
            ("server RSS, MB", ours["server"]["rss_mb"], peer.get("server_rss_mb"), "{:.0f}"),
            ("kB per client per s", ours["per_client_per_s"]["kb"], peer["kb_per_client_s"], "{:.1f}"),
            ("frames per client per s", ours["per_client_per_s"]["snapshots"], peer.get("patches_per_client_s"),
             "{:.1f}"),
            ("p50 delivery, ms", ours["latency_ms"]["p50"], peer["p50_ms"], "{:.1f}"),
            ("p99 delivery, ms", ours["latency_ms"]["p99"], peer["p99_ms"], "{:.1f}"),
            ("load generator CPU, %", ours["generator"]["cpu_pct"], peer.get("driver_cpu_pct"), "{:.0f}"),
            ("errors", sum(ours["errors"].values()), peer.get("errors"), "{:.0f}")]
    lines = [f"{'':26}{'Showroom':>10}{'Colyseus':>10}"]
    for name, mine, theirs, form in rows:
        lines.append(f"{name:26}{_cell(mine, form):>10}{_cell(theirs, form):>10}")
    labels = {"server_cpu_ratio": "server CPU, Showroom / Colyseus", "bytes_per_client_ratio":
              "bytes per client, Showroom / Colyseus", "p99_ms": "Showroom p99 delivery, ms"}
    for key, label in labels.items():
        goal = goals[key]
        value = "?" if goal["value"] is None else f"{goal['value']:.2f}"
        lines.append(f"{label:38} {value:>7}  goal <= {goal['goal_at_most']:g}: {'met' if goal['met'] else 'MISSED'}")
    return lines


def _cell(value: Any, form: str) -> str:
    return "-" if not isinstance(value, (int, float)) else form.format(value)
