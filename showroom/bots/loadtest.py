"""The ``showroom loadtest`` command: run the swarm, print and write the report, gate on thresholds."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from showroom.bots.bot import parse_mix
from showroom.bots.community_plan import parse_acts
from showroom.bots.invites import check_code
from showroom.bots.probe import probe_server
from showroom.bots.report import build_report, check_thresholds
from showroom.bots.swarm import SwarmConfig, run_swarm
from showroom.defaults import EXAMPLE_URL
from showroom.errors import ShowroomError


def run_loadtest(config: SwarmConfig, *, workers: int = 1, report_path: str | None = None, max_p99_ms: float | None = None,
                 max_overrun_pct: float | None = None, as_json: bool = False, plot_path: str | None = None) -> int:
    """Run a load test; return 0 when every threshold holds, 1 otherwise.

    Nothing is started when the server cannot be reached; once the run is over its report is
    always printed and written, even when the picture cannot be drawn.
    """
    if not config.url.startswith(("ws://", "wss://")):
        raise ShowroomError(f"loadtest: {config.url}: expected a ws:// URL, e.g. {EXAMPLE_URL}")
    try:
        parse_mix(config.mix)
    except ValueError as exc:
        raise ShowroomError(f"loadtest: --behaviour: {exc}") from None
    try:
        parse_acts(config.community_mix)
    except ValueError as exc:
        raise ShowroomError(f"loadtest: --community-mix: {exc}") from None
    for code in config.invites:
        try:
            check_code(code)
        except ValueError as exc:
            raise ShowroomError(f"loadtest: --invite: {exc}") from None
    probe_server(config.url)
    if workers > 1:
        from showroom.bots.workers import run_workers

        result = run_workers(config, workers)
    else:
        result = asyncio.run(run_swarm(config))
    report = build_report(result)
    failures = check_thresholds(report, max_p99_ms, max_overrun_pct)
    report["workers"] = workers
    report["thresholds"] = {"max_p99_ms": max_p99_ms, "max_overrun_pct": max_overrun_pct, "failed": failures}
    if plot_path:
        report["plot"] = _plot(report, plot_path)
        if as_json and report["plot"].startswith("not drawn"):
            print(f"loadtest: plot {report['plot']}", file=sys.stderr)
    if as_json:
        print(json.dumps(report))
    else:
        _print_summary(report)
    for line in failures:
        print(f"threshold exceeded: {line}", file=sys.stderr)
    if report_path:
        try:
            Path(report_path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"loadtest: cannot write the report {report_path}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 1 if failures else 0


def _plot(report: dict, path: str) -> str:
    """Draw the picture; what became of it, in a few words (a failure is a note, not the end of the run)."""
    from showroom.bots.plot import plot_report

    try:
        return plot_report(report, path)
    except ShowroomError as exc:
        return f"not drawn: {exc}"
    except OSError as exc:
        return f"not drawn: cannot write {path}: {exc.strerror or exc}"


def _print_summary(r: dict) -> None:
    lat, srv, gen, audit = r["latency_ms"], r["server"], r["generator"], r["award_audit"]
    rejoined = r["joins"].get("rejoined", 0)
    print(f"joins             {r['joins']['ok']} ok, {r['joins']['failed']} failed"
          + (f", {rejoined} joined again through the front door after their worker went away" if rejoined else ""))
    print(f"delivery latency  p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms")
    print(f"snapshots         {r['snapshots_per_s_per_client']:.1f} per second per client")
    phases, hold = r["phases_s"], srv["hold"]
    print(f"phases            ramp up {phases['ramp_up']:.0f} s, hold {phases['hold']:.0f} s, "
          f"ramp down {phases['ramp_down']:.0f} s")
    print(f"server tick       p50 {srv['tick_ms_p50']} ms, p99 {srv['tick_ms_p99']} ms, "
          f"{srv['tick_overruns']} overruns ({srv['tick_overrun_pct']} %); "
          f"while holding: {hold['tick_overruns']} ({hold['tick_overrun_pct']} %)")
    for w in r.get("server_workers", []):
        print(f"  worker {w['worker']:<14} {w['visitors']} visitors, {w['shards']} shards, tick p50 {w['tick_ms_p50']} ms, "
              f"p99 {w['tick_ms_p99']} ms, {w['tick_overrun_pct']} % overruns, {w['bytes_out_per_s'] / 1e3:.0f} kB/s out")
    print(f"traffic           out {gen['messages_out_per_s']:.0f} msg/s {gen['bytes_out_per_s'] / 1e3:.1f} kB/s, "
          f"in {gen['messages_in_per_s']:.0f} msg/s {gen['bytes_in_per_s'] / 1e6:.2f} MB/s")
    print(f"generator CPU     {gen['cpu_pct']:.0f} % of one core (summed over workers)")
    print(f"errors            {_counts(r['errors']) or 'none'}")
    by_entitlement = audit["awards_by_entitlement"]
    received = f"{sum(by_entitlement.values())} received by the bots"
    print(f"awards            {received}: {_counts(by_entitlement)}" if by_entitlement else f"awards            {received}")
    print(f"selfie audit      {'passed' if audit['passed'] else 'FAILED'}: {audit['selfies_taken']} selfies, "
          f"{audit['awarded_ok']} rewarded, {audit['refused_sold_out']} refused (sold out)")
    _print_community(r["community"])
    print(f"plot              {r['plot']}")


def _print_community(c: dict) -> None:
    """The community lines of the summary (only for a run that asked the bots to take part)."""
    if not c["plan"] and not c["invites_given"] and not c["members"]["codes_issued"]:
        return
    polls, members, entries, votes = c["polls"], c["members"], c["entries"], c["votes"]
    print(f"polls             {polls['seen']} seen, {polls['answers_sent']} answers sent, "
          f"{polls['answers_confirmed']} confirmed")
    print(f"community         {members['joined']} joined of {members['join_attempts']} tries (codes: "
          f"{c['invites_given']} given, {members['codes_issued']} issued as host, "
          f"{members['invites_received']} handed to members)")
    print(f"entries           {entries['sent']} sent, {entries['confirmed']} confirmed, {entries['approved']} approved, "
          f"{entries['rejected']} rejected, {entries['featured']} featured")
    print(f"votes             {votes['sent']} sent, {votes['confirmed']} confirmed, "
          f"{votes['nothing_to_vote_for']} with nothing to vote for")
    print(f"community refused {_counts(c['refused']) or 'none'}")


def _counts(counts: dict[str, int]) -> str:
    """``{"a": 2, "b": 1}`` as ``a 2, b 1`` (largest first)."""
    return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
