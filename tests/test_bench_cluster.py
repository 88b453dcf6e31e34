"""``showroom bench cluster``'s verdicts: when a run counts as holding its visitors, and what it prints."""

from __future__ import annotations

from server.bench_cluster import MAX_OVERRUN_PCT, _commands_in, _figures, summary_lines


def _report(joined: int, overrun: float, snapshots: float, workers: list[dict] | None = None) -> dict:
    return {
        "joins": {"ok": joined},
        "hold": {"from_unix_s": 100.0, "to_unix_s": 120.0, "snapshots_per_s_per_client": snapshots},
        "server": {"hold": {"tick_overrun_pct": overrun, "tick_ms_p99": 40.0}},
        "latency_ms": {"p99": 80.0},
        "generator": {"cpu_pct": 50.0},
        "server_workers": workers or [],
        "award_audit": {"awards_by_entitlement": {"first-hundred": 100, "lumen-scarf": 20}},
        "phases_s": {"ramp_up": 5.0, "hold": 20.0},
    }


def test_a_run_holds_only_with_everyone_in_few_overruns_and_full_frame_rates():
    assert _figures(_report(1000, 1.0, 20.0), 1000, None)["holds"]
    assert not _figures(_report(999, 1.0, 20.0), 1000, None)["holds"]  # one visitor was turned away
    assert not _figures(_report(1000, MAX_OVERRUN_PCT + 0.1, 20.0), 1000, None)["holds"]
    assert not _figures(_report(1000, 1.0, 15.0), 1000, None)["holds"]  # frames skipped: clients fell behind


def test_over_workers_the_worst_worker_decides():
    workers = [{"worker": "w0-1", "visitors": 500, "tick_overrun_pct": 0.5},
               {"worker": "w1-2", "visitors": 500, "tick_overrun_pct": 12.0}]
    figures = _figures(_report(1000, 0.5, 20.0, workers), 1000, (2000.0, 20.0))
    assert not figures["holds"] and figures["tick_overrun_pct"] == 12.0
    assert figures["broker_commands_per_s"] == 100.0 and figures["broker_commands_per_s_per_1000"] == 100.0


def test_broker_commands_are_counted_inside_the_hold_only_less_the_counters_own_reads():
    samples = [(99.0, 0.0), (100.5, 1000.0), (110.5, 1500.0), (119.5, 2001.0), (121.0, 9000.0)]
    commands, seconds = _commands_in(samples, 100.0, 120.0)
    assert seconds == 19.0 and commands == 2001.0 - 1000.0 - 2


def test_the_summary_names_what_each_set_up_held():
    alone = _figures(_report(1800, 40.0, 20.0), 1800, None)
    spread = _figures(_report(1800, 2.0, 20.0), 1800, (700.0, 20.0))
    lines = summary_lines({"workers": 2, "rows": [{"visitors": 1800, "alone": alone, "workers": spread}],
                           "held_alone": 0, "held_workers": 1800,
                           "criteria": {"max_overrun_pct": MAX_OVERRUN_PCT, "min_snapshots_per_s": 18.0}})
    assert "no " in lines[1] and "HOLDS" in lines[1] and lines[1].index("no ") < lines[1].index("HOLDS")
    assert lines[-1].startswith("held: one process 0 visitors, 2 workers 1800")


def test_a_run_that_did_not_hold_says_why_and_where_its_logs_are():
    report = _report(2198, 0.6, 20.0)
    report["errors"] = {"event_full": 2, "no_session": 7}
    report["joins"]["rejoined"] = 2
    spread = _figures(report, 2200, (700.0, 20.0))
    spread["logs"] = "/tmp/showroom-bench-cluster-workers-x"
    alone = _figures(_report(2200, 0.5, 20.0), 2200, None)
    lines = summary_lines({"workers": 2, "rows": [{"visitors": 2200, "alone": alone, "workers": spread}],
                           "held_alone": 2200, "held_workers": 0,
                           "criteria": {"max_overrun_pct": MAX_OVERRUN_PCT, "min_snapshots_per_s": 18.0}})
    assert "workers: event_full 2, no_session 7; 2 rejoined after losing their worker" in lines[2]
    assert lines[3].endswith("workers: did not hold; logs and report in /tmp/showroom-bench-cluster-workers-x")
    assert not any("one process:" in line for line in lines)  # the run that held says nothing more
