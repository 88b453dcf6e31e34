"""``showroom bench awards``: every award of the run reaches its visitor exactly once, and the figures print as JSON."""

from __future__ import annotations

import json

from showroom.cli import main


def test_bench_awards_tells_every_visitor_and_prints_its_figures_as_json(capsys):
    rc = main(["bench", "awards", "--awards", "300", "--baseline-awards", "30", "--drop-visitors", "120",
               "--trickle-visitors", "40", "--trickle-seconds", "1", "--json"])
    assert rc == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    sustained, drop, trickle = figures["sustained"], figures["drop"], figures["trickle"]
    assert sustained["writer_awards"] == 300 and sustained["writer_awards_per_s"] > 0
    assert sustained["single_awards"] == 30 and sustained["old_cap_per_s"] == 500
    assert drop["visitors"] == drop["delivered"] == 120 and drop["ticks_during"]["ticks"] >= 1
    assert trickle["visitors"] == 40 and trickle["p50_ms"] <= trickle["p99_ms"] <= trickle["max_ms"]
    assert 0 <= trickle["alone_pct"] <= 100
    assert set(figures["goals"]) == {"sustained_awards_per_s", "drop_s", "drop_overruns", "trickle_p99_ms"}


def test_bench_awards_prints_each_figure_beside_its_goal(capsys):
    rc = main(["bench", "awards", "--awards", "100", "--baseline-awards", "10", "--drop-visitors", "30",
               "--trickle-visitors", "10", "--trickle-seconds", "0.5"])
    assert rc == 0
    out = capsys.readouterr().out
    for goal in ("goal >= 2,000/s", "goal <= 3 s", "goal: no overrun caused by", "goal p99 < 50 ms"):
        assert goal in out
    assert "30 of 30 visitors told" in out
