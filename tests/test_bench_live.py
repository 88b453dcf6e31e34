"""``showroom bench live``: a real server and load test on loopback, the server measured over the hold alone,
and the Colyseus peer's line read and compared with issue 17's goals (the peer itself is not run: it needs npm)."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest

from server.bench_live import Sample, plan_pinning, window_usage
from server.bench_peer import compare, parse_peer_output, side_by_side_lines
from showroom.bots.report import hold_figures
from showroom.bots.stats import Stats
from showroom.bots.swarm import SwarmConfig, SwarmResult
from showroom.cli import main
from showroom.errors import ShowroomError

PEER_LINE = ('{"clients":1000,"patches_per_client_s":19.9,"kb_per_client_s":211,"p50_ms":31,"p99_ms":52,"errors":0,'
             '"server_cpu_pct":43,"driver_cpu_pct":61.2,"server_rss_mb":182.4}')
"""What the peer's run.sh prints at 1,000 clients, with the README's figures (43 % CPU, p99 52 ms, 211 KB)."""


def _ours(cpu_pct: float, kb: float, p99_ms: float) -> dict:
    """The parts of a live run's result the comparison and the side-by-side table read."""
    return {"joined": 1000, "server": {"cpu_pct": cpu_pct, "rss_mb": 120.0},
            "per_client_per_s": {"kb": kb, "snapshots": 20.0}, "latency_ms": {"p50": 4.0, "p99": p99_ms},
            "generator": {"cpu_pct": 70.0}, "errors": {}}


def test_a_live_run_measures_the_server_over_the_hold(tmp_path, capsys):
    report = tmp_path / "live.json"
    rc = main(["bench", "live", "--visitors", "30", "--seconds", "4", "--ramp", "60", "--json",
               "--report", str(report)])
    printed = capsys.readouterr()
    assert rc == 0, printed.err[-2000:]
    result = json.loads(printed.out.strip().splitlines()[-1])
    assert json.loads(report.read_text()) == result
    assert result["joined"] == 30 and result["join_failed"] == 0 and 29 <= result["clients_mean"] <= 30
    server = result["server"]
    assert 0 < server["cpu_pct"] <= 100 * (os.cpu_count() or 1)
    held_from, held_to = result["hold_unix_s"]
    assert 0 < server["measured_s"] <= held_to - held_from
    assert server["rss_mb"] > 10
    assert (server["others_on_core_pct"] is None) == (result["pinning"]["server_core"] is None)
    assert server["ticks"] > 0 and server["tick_overrun_pct"] >= 0
    assert 0 < server["tick_ms_p50"] <= server["tick_ms_p99"]
    per_client = result["per_client_per_s"]
    assert per_client["bytes"] > 0 and per_client["kb"] == pytest.approx(per_client["bytes"] / 1024, abs=0.01)
    assert 5 <= per_client["snapshots"] <= 25 and per_client["messages"] >= per_client["snapshots"]
    assert 0 < result["latency_ms"]["p50"] <= result["latency_ms"]["p99"]
    assert result["generator"]["cpu_pct"] > 0
    assert result["errors"] == {} and result["award_audit"]["passed"]
    assert result["peer"] is None and result["goals"] is None
    assert result["pinning"]["note"]


def test_cpu_is_counted_only_while_the_load_test_holds():
    # the server burns half a core while holding, a tenth before and after, and something else takes a fifth
    # of its core; samples every 0.5 s
    samples, cpu, core, rss = [], 0.0, 0.0, 50_000
    for i in range(40):
        t = 1000.0 + i * 0.5
        holding = 1005.0 <= t <= 1015.0
        cpu += 0.25 if holding else 0.05
        core += (0.25 if holding else 0.05) + 0.1
        rss = 80_000 if t == 1010.0 else 50_000
        samples.append(Sample(t, cpu, cpu / 2, rss, core))
    usage = window_usage(samples, 1005.0, 1015.0)
    assert usage is not None
    assert usage.server_cpu_pct == pytest.approx(50.0, abs=0.1)
    assert usage.load_cpu_pct == pytest.approx(25.0, abs=0.1)
    assert usage.others_on_core_pct == pytest.approx(20.0, abs=0.1)
    assert usage.measured_s == 10.0
    assert usage.server_rss_mb == pytest.approx(80_000 / 1024, abs=0.1)
    assert window_usage(samples, 1005.1, 1005.4) is None  # no two samples inside: nothing to measure


def test_the_load_test_reports_per_client_rates_for_the_hold_alone():
    # two bots held all 10 s, a third left after 5: 1,000 bytes per client-second, not diluted by the leaver
    bots = [SimpleNamespace(joined_at=90.0, left_at=0.0), SimpleNamespace(joined_at=95.0, left_at=130.0),
            SimpleNamespace(joined_at=99.0, left_at=105.0), SimpleNamespace(joined_at=0.0, left_at=0.0)]
    marks = ({"t": 100.0, "bytes_in": 5_000.0, "messages_in": 100.0, "snapshots": 90.0},
             {"t": 110.0, "bytes_in": 30_000.0, "messages_in": 625.0, "snapshots": 590.0})
    result = SwarmResult(SwarmConfig("ws://127.0.0.1:1/", 4), Stats(), bots, 30.0, 1.0, 10.0,
                         hold_marks=marks)
    hold = hold_figures(result)
    assert hold["clients_mean"] == 2.5
    assert hold["bytes_in_per_s_per_client"] == 1000.0
    assert hold["messages_in_per_s_per_client"] == 21.0
    assert hold["snapshots_per_s_per_client"] == 20.0
    assert (hold["from_unix_s"], hold["to_unix_s"]) == (100.0, 110.0)


def test_the_peers_line_is_read_among_npm_noise_and_compared_with_the_goals():
    peer = parse_peer_output(f"added 92 packages in 3s\n{PEER_LINE}\n")
    assert peer["clients"] == 1000 and peer["server_cpu_pct"] == 43 and peer["kb_per_client_s"] == 211

    goals = compare(_ours(cpu_pct=30.1, kb=21.1, p99_ms=49.0), peer)
    assert goals["server_cpu_ratio"]["value"] == pytest.approx(0.7, abs=0.001) and goals["server_cpu_ratio"]["met"]
    assert goals["bytes_per_client_ratio"]["value"] == pytest.approx(0.1, abs=0.001)
    assert goals["bytes_per_client_ratio"]["met"] and goals["p99_ms"]["met"]

    goals = compare(_ours(cpu_pct=44.0, kb=184.0, p99_ms=73.0), peer)
    assert not goals["server_cpu_ratio"]["met"] and not goals["bytes_per_client_ratio"]["met"]
    assert not goals["p99_ms"]["met"]
    table = "\n".join(side_by_side_lines(_ours(44.0, 184.0, 73.0), peer, goals))
    assert "Colyseus" in table and "211.0" in table and "184.0" in table
    assert table.count("MISSED") == 3


def test_a_peer_that_failed_says_why_in_one_line():
    with pytest.raises(ShowroomError, match="npm install failed"):
        parse_peer_output('{"fatal":"npm install failed"}\n')
    with pytest.raises(ShowroomError, match="no JSON line"):
        parse_peer_output("node: command not found\n")
    with pytest.raises(ShowroomError, match="p99_ms"):
        parse_peer_output('{"clients":10,"kb_per_client_s":2,"p50_ms":3,"p99_ms":null,"server_cpu_pct":4}')


def test_a_peer_folder_without_run_sh_is_refused_before_anything_runs(tmp_path, capsys):
    assert main(["bench", "live", "--visitors", "10", "--peer", str(tmp_path)]) == 1
    assert "run.sh" in capsys.readouterr().err


def test_pinning_puts_each_side_on_its_own_core_or_says_why_not():
    pinned = plan_pinning(0, 1, True, cores={0, 1}, taskset="/usr/bin/taskset")
    assert pinned.server == ("/usr/bin/taskset", "-c", "0") and pinned.load == ("/usr/bin/taskset", "-c", "1")
    one_core = plan_pinning(0, 1, True, cores={0}, taskset="/usr/bin/taskset")
    assert one_core.server == () and one_core.server_core is None and "only 1 core" in one_core.note
    assert "--no-pin" in plan_pinning(0, 1, False, cores={0, 1}, taskset="/usr/bin/taskset").note
    with pytest.raises(ShowroomError, match="both 0"):
        plan_pinning(0, 0, True, cores={0, 1}, taskset="/usr/bin/taskset")
    with pytest.raises(ShowroomError, match="--load-core 5"):
        plan_pinning(0, 5, True, cores={0, 1}, taskset="/usr/bin/taskset")
