"""Validation scenarios run with JuPedSim (the 'bench' extra), measured by our recorder."""

from __future__ import annotations

import numpy as np
import pytest

from showroom.validation import jps
from showroom.validation.run import scenario


@pytest.fixture(scope="module", autouse=True)
def jupedsim_installed() -> None:
    if jps.available() is None:
        pytest.fail("JuPedSim is not installed; these tests need it: pip install 'showroom[bench]'")


def test_rimea_1_one_person_walks_the_40_m_in_26_to_34_s():
    rec = jps.run_jupedsim(scenario("rimea-01-corridor"), 60.0)
    start, finish = rec.first_crossings("start"), rec.first_crossings("finish")
    assert start.size == 1 and finish.size == 1
    assert 26.0 <= finish[0] - start[0] <= 34.0
    assert rec.present[-1] == 0  # out through the exit, and the run stopped there
    assert rec.end_s < 40.0


def test_all_150_people_pass_the_1_m_bottleneck_within_3_minutes():
    # JuPedSim steps 0.025 s here, not 0.01 s, to keep the test short: the flow differs by a few per cent.
    rec = jps.run_jupedsim(scenario("bottleneck-100"), 180.0, substeps=2)
    door = rec.first_crossings("door")
    assert rec.present[0] == 150
    assert door.size == 150 and door[-1] <= 180.0
    assert len({agent for _, agent in rec.crossings["door"]}) == 150
    assert rec.max_overlap_m < 0.02


def test_the_ring_corridor_keeps_its_hole_and_its_people():
    area = jps.walkable_area(scenario("rimea-04-fundamental-diagram"))
    assert len(area.interiors) == 1  # the corridor, not the disc inside it or the floor round it
    assert area.area == pytest.approx(np.pi * (11**2 - 8**2), rel=0.02)  # 3 m wide, 8 to 11 m from the centre


def test_people_walk_the_ring_from_gate_to_gate_counter_clockwise():
    rec = jps.run_jupedsim(scenario("rimea-04-fundamental-diagram", density=1.0), 8.0)
    assert rec.present[0] == rec.present[-1] == 176  # everyone placed in the ring, and on a loop nobody leaves
    sector = rec.areas["sector"]
    speed = np.array(sector.speed)[np.array(sector.time) >= 4.0]
    assert np.nanmean(speed) > 0.4  # north on the east side: counter-clockwise, the way the gates go
    assert rec.max_overlap_m < 0.02 and rec.max_wall_m < 0.05
