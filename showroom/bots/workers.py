"""``--workers W``: the same swarm split over W processes, their results merged into one."""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing as mp
import queue
import sys
from collections.abc import Callable
from typing import Any

from showroom.bots.stats import Stats
from showroom.bots.swarm import WINDOW_COUNTERS, SwarmConfig, SwarmResult, progress_line, run_swarm

JOIN_GRACE_S = 60.0
"""How long past ramp up + duration + ramp down the parent waits for a worker's result before giving up."""


def _worker(config: SwarmConfig, index: int, progress: Any, results: Any) -> None:
    result = asyncio.run(run_swarm(config, lambda entry: progress.put((index, entry))))
    results.put((index, result))


def split(config: SwarmConfig, workers: int) -> list[SwarmConfig]:
    """Share clients and ramp rate among ``workers`` configs (each with its own seed, no progress)."""
    workers = max(1, min(workers, config.clients))
    sizes = [config.clients // workers + (k < config.clients % workers) for k in range(workers)]
    firsts = [sum(sizes[:k]) for k in range(workers)]
    return [dataclasses.replace(config, clients=n, ramp_per_s=config.ramp_per_s * n / config.clients,
                                seed=config.seed * 1000 + k, progress=False, first_index=first)
            for k, (n, first) in enumerate(zip(sizes, firsts))]


def run_workers(config: SwarmConfig, workers: int) -> SwarmResult:
    """Run the swarm in ``workers`` processes; print one merged progress line; merge their results."""
    parts = split(config, workers)
    ctx = mp.get_context("spawn")
    progress, results = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(part, k, progress, results), daemon=True) for k, part in enumerate(parts)]
    for proc in procs:
        proc.start()
    latest: dict[int, dict[str, float]] = {}
    merged_history: list[dict[str, float]] = []
    got: dict[int, SwarmResult] = {}
    limit = 2 * config.clients / config.ramp_per_s + config.duration_s + JOIN_GRACE_S
    waited = 0.0
    while len(got) < len(parts) and waited < limit:
        try:
            k, entry = progress.get(timeout=0.25)
            latest[k] = entry
            if k == 0:
                merged_history.append(_merge_entries(list(latest.values())))
                if config.progress:
                    print(progress_line(merged_history[-1]), end="", file=sys.stderr, flush=True)
        except queue.Empty:
            waited += 0.25
        while True:
            try:
                k, result = results.get_nowait()
                got[k] = result
            except queue.Empty:
                break
    for proc in procs:
        proc.join(5)
        if proc.is_alive():
            proc.terminate()
    if config.progress:
        print(file=sys.stderr)
    if len(got) < len(parts):
        from showroom.errors import ShowroomError

        raise ShowroomError(f"loadtest: {len(parts) - len(got)} of {len(parts)} worker(s) gave no result")
    return _merge(config, [got[k] for k in sorted(got)], merged_history)


def _merge_entries(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"t_s": max(e["t_s"] for e in entries), "phase": entries[0].get("phase", ""),
            "connected": sum(e["connected"] for e in entries),
            "in_per_s": round(sum(e["in_per_s"] for e in entries), 1),
            "out_per_s": round(sum(e["out_per_s"] for e in entries), 1),
            "p99_ms": max(e["p99_ms"] for e in entries), "errors": sum(e["errors"] for e in entries)}


def _merge(config: SwarmConfig, results: list[SwarmResult], history: list[dict[str, float]]) -> SwarmResult:
    stats = Stats()
    for r in results:
        s = r.stats
        for name in ("joins_ok", "joins_failed", "connect_failed", "handovers", "rejoins", "messages_in", "bytes_in", "messages_out",
                     "bytes_out", "snapshots", "redeemed"):
            setattr(stats, name, getattr(stats, name) + getattr(s, name))
        stats.errors.update(s.errors)
        stats.refused.update(s.refused)
        stats.community.update(s.community)
        stats.community_refused.update(s.community_refused)
        stats.latency_s.extend(s.latency_s)
    bots = [bot for r in results for bot in r.bots]
    metrics_before = min((r.metrics_before for r in results if r.metrics_before), key=lambda m: m.get("ticks", 0),
                         default={})
    metrics_after = max((r.metrics_after for r in results if r.metrics_after), key=lambda m: m.get("ticks", 0),
                        default={})
    hold_start = min((r.metrics_hold[0] for r in results if r.metrics_hold[0]), key=lambda m: m.get("ticks", 0),
                     default={})
    hold_end = max((r.metrics_hold[1] for r in results if r.metrics_hold[1]), key=lambda m: m.get("ticks", 0),
                   default={})
    marks = (_merge_marks([r.hold_marks[0] for r in results], min),
             _merge_marks([r.hold_marks[1] for r in results], max))
    return SwarmResult(config, stats, bots, max(r.wall_s for r in results), sum(r.cpu_s for r in results),
                       min(r.hold_s for r in results), metrics_before, metrics_after, history, (hold_start, hold_end),
                       max(r.ramp_down_s for r in results), marks)


def _merge_marks(marks: list[dict[str, float]], pick: Callable[[list[float]], float]) -> dict[str, float]:
    """The workers' counts at one edge of the hold, summed, at the earliest (``min``) or latest (``max``) of their
    clocks; empty unless every worker got there."""
    if not marks or not all(marks):
        return {}
    return {"t": pick([m["t"] for m in marks]), **{name: sum(m[name] for m in marks) for name in WINDOW_COUNTERS}}

