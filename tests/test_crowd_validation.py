"""The crowd walks like people: scenario scenes, routing through narrow doors and to clicked points,
and the published references of ``showroom validate crowd`` on short runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_shard_frames import SHOW, _shard_with

from showroom.cli import main
from showroom.protocol.codes import MOVE_TO
from showroom.scene import SceneError, load_scene, parse_scene
from showroom.scene.summary import summarise
from showroom.sim.crowd import NO_FIELD, State
from showroom.sim.groups import place_apart
from showroom.sim.world import DT_S, World
from showroom.validation.crowd import FLOW_BAND, door_routed, specific_flow, weidmann_speed
from showroom.validation.run import SCENES, mean_after, run_ours, scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = """
[event]
id = "drill"
title = "Exit drill"
duration = "1:00"

[venue]
size = [20.0, 10.0]

[[venue.walls]]
points = [[10, 0], [10, {door_from}]]
thickness = 0.2

[[venue.walls]]
points = [[10, {door_to}], [10, 10]]
thickness = 0.2

[[venue.exits]]
name = "out"
at = [18.0, 5.0]
radius = 1.0

[[crowd.groups]]
name = "inside"
area = [[1, 1], [8, 1], [8, 9], [1, 9]]
count = {count}
route = ["out"]
"""


def _drill(door_m: float, offset_m: float, count: int = 20) -> str:
    """A room whose partition wall has a door ``door_m`` wide, its lower edge ``offset_m`` above y = 4."""
    low = 4.0 + offset_m
    return SCENARIO.format(door_from=f"{low - 0.1:.3f}", door_to=f"{low + door_m + 0.1:.3f}", count=count)


@pytest.mark.parametrize("path", sorted(SCENES.glob("*.toml")), ids=lambda p: p.stem)
def test_validation_scenes_are_scenes_without_a_show(path: Path) -> None:
    scene = load_scene(path)
    assert scene.venue.runway is None and not scene.mascots and scene.crowd.groups


def test_a_scenario_reports_each_mistake_with_its_place() -> None:
    text = _drill(1.0, 0.0).replace('route = ["out"]', 'route = ["out", "nowhere"]\nloop = true\ndensity = 2.0')
    text += '\n[[crowd.waypoints]]\nname = "gate"\nat = [5, 5]\nline = [[5, 1], [5, 9]]\n'
    with pytest.raises(SceneError) as info:
        parse_scene(text, "drill.toml")
    lines = "\n".join(info.value.lines())
    assert "crowd.groups[0]" in lines and "either count or density" in lines
    assert "crowd.waypoints[0]" in lines and "either at (a spot) or line (a gate)" in lines
    fixed = text.replace("count = 20\n", "").replace('\n[[crowd.waypoints]]\nname = "gate"\nat = [5, 5]\n', '\n[[crowd.waypoints]]\nname = "gate"\n')
    with pytest.raises(SceneError) as info:
        parse_scene(fixed, "drill.toml")
    lines = "\n".join(info.value.lines())
    assert "crowd.groups[0].route[1]: unknown place 'nowhere'" in lines
    assert "crowd.groups[0].route: a loop walks round and round: it cannot pass an exit" in lines


def test_an_event_with_mascots_needs_its_runway(anniversary) -> None:
    text = (ROOT / "scenes/anniversary-runway.toml").read_text(encoding="utf-8")
    start = text.index("[venue.runway]")
    end = text.index("\n\n", start)
    with pytest.raises(SceneError) as info:
        parse_scene(text[:start] + text[end:], "show.toml")
    assert any("venue.runway: mascots walk on the runway" in line for line in info.value.lines())


def test_a_gap_narrower_than_a_person_is_warned_by_name() -> None:
    text = _drill(1.0, 0.0) + '\n[[venue.obstacles]]\nname = "crate"\npolygon = [[10.4, 7], [11, 7], [11, 8], [10.4, 8]]\n'
    summary = summarise(parse_scene(text, "drill.toml"), "drill.toml")
    assert ("warning   the gap between venue.walls[1] and venue.obstacles[0] 'crate' near (10.20, 7.00) is 0.30 m wide: "
            "narrower than a visitor (0.40 m): nobody passes") in summary
    assert "warning" not in summarise(parse_scene(_drill(1.0, 0.0), "drill.toml"), "drill.toml")


@settings(max_examples=40, deadline=None)
@given(width=st.floats(0.7, 1.2), offset=st.floats(0.0, 0.5), angle=st.floats(0.0, 90.0))
def test_every_door_a_person_fits_through_is_routed_at_any_alignment(width: float, offset: float, angle: float) -> None:
    assert door_routed(width, offset, angle)


@settings(max_examples=25, deadline=None)
@given(offset=st.floats(0.0, 0.5), angle=st.floats(0.0, 90.0), width=st.sampled_from([0.0, 0.3]))
def test_no_route_passes_a_wall_or_a_gap_narrower_than_a_body(offset: float, angle: float, width: float) -> None:
    assert not door_routed(width, offset, angle)


@pytest.mark.parametrize("offset", [0.0, 0.13, 0.26, 0.38])
def test_people_leave_through_a_narrow_door_wherever_it_falls_on_the_grid(offset: float) -> None:
    world = World(parse_scene(_drill(0.75, offset), "drill.toml"))
    for _ in range(int(90 / DT_S)):
        world.step()
        if world.groups_started.all() and world.crowd.n == 0:
            break
    assert world.left_by_route == 20 and world.crowd.n == 0


def test_people_are_placed_apart_even_at_four_per_square_metre() -> None:
    area = np.array([[0, 0], [5, 0], [5, 5], [0, 5]], float)
    pos = place_apart(np.random.default_rng(3), area, 100, 0.2)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(100) * 9
    assert d.min() >= 0.4 and (pos >= 0.2 - 1e-9).all() and (pos <= 4.8 + 1e-9).all()
    with pytest.raises(ValueError, match="do not fit"):
        place_apart(np.random.default_rng(3), area, 200, 0.2)


def test_visitors_walk_at_speeds_spread_as_people_do(anniversary) -> None:
    world = World(anniversary, seed=4)
    ids = world.populate(4000)
    speed = world.crowd.max_speed[world.crowd.index_of(ids)]
    assert abs(speed.mean() - 1.34) < 0.02 and abs(speed.std() - 0.26) < 0.02
    assert speed.min() >= 0.5 and speed.max() <= 2.2
    person = world.spawn(3, state=State.CONTROLLED)  # people at the keys all walk at the mean speed
    assert (world.crowd.max_speed[world.crowd.index_of(person)] == 1.34).all()
    steady = scenario("rimea-01-corridor")
    assert steady.crowd.desired_speed.sd == 0 and steady.crowd.desired_speed.mean == 1.33


def test_rimea_1_one_person_keeps_its_speed_down_the_corridor() -> None:
    record = run_ours(scenario("rimea-01-corridor"), 60)
    took = record.first_crossings("finish")[0] - record.first_crossings("start")[0]
    assert 26 <= took <= 34


def test_speed_falls_with_density_along_weidmanns_curve() -> None:
    speeds = []
    for rho in (1.0, 3.0):
        sector = run_ours(scenario("rimea-04-fundamental-diagram", rho), 40).areas["sector"]
        density, speed = mean_after(sector.density, sector.time, 15), mean_after(sector.speed, sector.time, 15)
        assert abs(speed - weidmann_speed(density)) <= 0.25 * weidmann_speed(density), (rho, density, speed)
        speeds.append(speed)
    assert speeds[0] > 2 * speeds[1]


def test_flow_through_a_one_metre_bottleneck_is_in_the_measured_band() -> None:
    record = run_ours(scenario("bottleneck-100"), 200)
    assert len(record.crossings["door"]) == 150
    assert FLOW_BAND[0] <= specific_flow(record, "door", 1.0) <= FLOW_BAND[1]
    assert record.max_overlap_m <= 0.02 and record.max_wall_m <= 0.001


def test_a_pressed_crowd_keeps_bodies_apart() -> None:
    record = run_ours(scenario("bottleneck-pressed"), 200)
    assert record.present[-1] == 0
    assert record.max_overlap_m <= 0.02 and record.max_wall_m <= 0.001


def test_counterflow_forms_lanes_without_the_crowd_standing_still(capsys) -> None:
    assert main(["validate", "crowd", "--only", "counterflow,corner", "--no-jupedsim", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    names = [c["name"] for c in report["checks"]]
    assert names[0].startswith("RiMEA 6") and "standstill" in names[1] and "lane order" in names[2]
    assert report["passed"] and all(c["passed"] for c in report["checks"]) and report["jupedsim"] is None


def test_a_point_behind_a_rope_lane_is_walked_to_round_it(anniversary) -> None:
    shard, (ada,), _ = _shard_with(anniversary, [(40.0, 12.8)])  # south of the east selfie lane's ropes
    crowd = shard.world.crowd
    goal = np.array([40.0, 16.2])  # north of them: straight ahead is rope
    for k in range(int(40 / DT_S)):
        shard.queue_move_at(ada.slot, MOVE_TO, k, float(goal[0]), float(goal[1]))
        shard.tick(k * DT_S, SHOW, 1.7e9 + k * DT_S)
        row = crowd.index_of(np.array([ada.id]))[0]
        if k == 2:
            assert crowd.nav_field[row] != NO_FIELD  # routed, not steered straight into the rope
        if np.linalg.norm(crowd.pos[row] - goal) < 0.5:
            break
    assert np.linalg.norm(crowd.pos[row] - goal) < 0.5


def test_a_crowd_scenario_is_simulated_not_served(capsys) -> None:
    path = "scenes/validation/rimea-09-four-exits.toml"
    assert main(["serve", path]) == 1
    assert "venue.runway: this is a crowd scenario (no runway, no show): run it with `showroom sim" in capsys.readouterr().err


def test_sim_reports_the_flow_through_each_exit(capsys) -> None:
    assert main(["sim", "scenes/validation/bottleneck-100.toml", "--seconds", "150", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = figures["exits"]["out"]
    assert out["left"] == 150 and figures["agents"] == 0
    assert 0.5 < out["peak_per_s"] < 3.0 and out["rim_m"] == pytest.approx(np.pi * 0.8, abs=1e-3)
