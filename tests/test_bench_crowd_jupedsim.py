"""``showroom bench crowd`` against JuPedSim: timed in the same run when installed, reported missing when not."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from showroom.bench import crowd as bench
from showroom.bench.hall import hall_crowd, hall_side_m
from showroom.cli import main

JUPEDSIM_FIGURES = ("jupedsim_median_ms", "jupedsim_p95_ms", "jupedsim_redraw_median_ms",
                    "ours_median_ms_at_jupedsim_agents", "ratio_to_jupedsim")


def small_run(**kwargs) -> bench.CrowdBench:
    return bench.run(200, 3, reference_agents=20, reference_steps=1, **kwargs)


def _jupedsim():
    """JuPedSim, which the test extra installs: missing, these tests fail saying how to install it."""
    try:
        import jupedsim
    except ImportError:
        pytest.fail("JuPedSim is not installed; these tests need it: pip install -e '.[test]' (or 'showroom[bench]')")
    return jupedsim


@pytest.fixture
def no_jupedsim(monkeypatch):
    monkeypatch.setitem(sys.modules, "jupedsim", None)  # `import jupedsim` raises ImportError


def test_jupedsim_walks_our_hall_from_our_start_positions_to_our_goals():
    jps = _jupedsim()
    crowd, _, _ = hall_crowd(200, seed=0)
    sim, ids = bench._jupedsim_hall(jps, crowd.pos, crowd.goal, hall_side_m(200))
    assert sim.agent_count() == 200 and sim.delta_time() == pytest.approx(0.05)
    np.testing.assert_allclose([sim.agent(int(i)).position for i in ids], crowd.pos)
    np.testing.assert_allclose([sim.agent(int(i)).target for i in ids], crowd.goal)


def test_bench_times_jupedsim_in_the_same_run_when_installed():
    jps = _jupedsim()
    result = small_run()
    assert result.jupedsim_status == "timed"
    assert result.jupedsim_version == jps.__version__
    assert result.jupedsim_agents == 200 and result.jupedsim_steps == 3
    for key in JUPEDSIM_FIGURES:
        value = getattr(result, key)
        assert value is not None and value > 0, key
    assert result.ours_median_ms_at_jupedsim_agents == result.median_ms


def test_jupedsim_agent_count_can_differ_and_ours_is_timed_again_at_it():
    _jupedsim()
    result = small_run(jupedsim_agents=100)
    assert result.agents == 200 and result.jupedsim_agents == 100
    assert result.ours_median_ms_at_jupedsim_agents is not None and result.ours_median_ms_at_jupedsim_agents > 0
    assert result.ratio_to_jupedsim is not None and result.ratio_to_jupedsim > 0


def test_bench_runs_without_jupedsim_and_reports_it_missing(no_jupedsim):
    result = small_run()
    assert result.jupedsim_status == "not installed"
    assert result.median_ms > 0 and result.reference_us_per_agent_step > 0
    assert result.jupedsim_version is None
    for key in JUPEDSIM_FIGURES:
        assert getattr(result, key) is None, key


def test_missing_jupedsim_is_named_with_how_to_install_it(no_jupedsim, capsys):
    assert main(["bench", "crowd", "--agents", "200", "--steps", "3", "--reference-agents", "20",
                 "--reference-steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "JuPedSim is not installed" in out and "pip install 'showroom[bench]'" in out


def test_json_reports_null_jupedsim_figures_when_missing(no_jupedsim, capsys):
    assert main(["bench", "crowd", "--agents", "200", "--steps", "3", "--reference-agents", "20",
                 "--reference-steps", "1", "--json"]) == 0
    captured = capsys.readouterr()
    figures = json.loads(captured.out.strip().splitlines()[-1])
    assert {"median_ms", "p95_ms", "agent_steps_per_s", "speedup_per_agent_step"} <= set(figures)
    assert figures["jupedsim_status"] == "not installed"
    assert all(figures[key] is None for key in (*JUPEDSIM_FIGURES, "jupedsim_version"))
    assert "pip install 'showroom[bench]'" in captured.err


def test_no_jupedsim_option_skips_it(capsys):
    assert main(["bench", "crowd", "--agents", "200", "--steps", "3", "--reference-agents", "20",
                 "--reference-steps", "1", "--no-jupedsim", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["jupedsim_status"] == "skipped"
    assert all(figures[key] is None for key in JUPEDSIM_FIGURES)
