"""The pure-Python yardstick of ``showroom bench crowd`` walks the benchmark hall as the vectorised step does."""

from __future__ import annotations

import numpy as np
import pytest

from showroom.bench.hall import WALL_HALF_M, hall_crowd, hall_environment, hall_side_m
from showroom.bench.reference import ReferenceCrowd
from showroom.sim.crowd import VISITOR_RADIUS_M
from showroom.sim.step import StepParams, step
from showroom.sim.world import DT_S

AGENTS = 60
SPEED_MPS = 1.34


def both(goal: str, params: StepParams | None = None):
    crowd, env, _ = hall_crowd(AGENTS, seed=3)
    side = hall_side_m(AGENTS)
    crowd.max_speed[:] = SPEED_MPS
    if goal == "behind a wall":  # everyone presses against the wall at y = 0: pinned agents, neighbours yielding
        crowd.goal[:] = [side / 2, -5.0]
    if goal == "into a standing group":
        # Lattice rows 3 and 4 stand in a tight block in the middle, at their goals: at rest from
        # the first step on (before they have arrived). Rows 2 and 5 start right behind it and
        # everyone else follows, all walking through to the far side: the block makes way, the
        # walkers it holds up look for a way round.
        row, col = np.divmod(np.arange(AGENTS), int(np.ceil(np.sqrt(AGENTS))))
        stand = (row == 3) | (row == 4)
        crowd.pos[stand] = np.stack([side / 2 + (col[stand] - 3.5) * 0.55, side / 2 + (row[stand] - 3.5) * 0.55], 1)
        crowd.pos[row == 2, 1] = side / 2 - 0.275 - 0.6
        crowd.pos[row == 5, 1] = side / 2 + 0.275 + 0.6
        crowd.goal[:] = crowd.pos
        crowd.goal[row < 3, 1] = side - 1.0
        crowd.goal[row > 4, 1] = 1.0
    if params is not None:
        env = hall_environment(side, params)
    ref = ReferenceCrowd(crowd.pos.tolist(), crowd.goal.tolist(), VISITOR_RADIUS_M, SPEED_MPS, side, WALL_HALF_M)
    return crowd, env, ref


def assert_same(crowd, ref) -> None:
    np.testing.assert_allclose(ref.pos, crowd.pos, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ref.vel, crowd.vel, rtol=0, atol=1e-6 / DT_S)
    turn = np.angle(np.exp(1j * (np.array(ref.heading) - crowd.heading)))
    np.testing.assert_allclose(turn, 0.0, atol=1e-6)
    np.testing.assert_array_equal(ref.arrived, crowd.arrived)


@pytest.mark.parametrize(("goal", "steps"), [("random", 40), ("behind a wall", 80), ("into a standing group", 80)])
def test_reference_steps_agree_with_the_vectorised_step(goal, steps):
    # The two agree to rounding (about 1e-14 m here, often bit for bit); 1e-6 m leaves room for
    # summation order. Behind a wall, agents pinned by it make their neighbours give way
    # from about step 45 on (a reference that skipped that would be centimetres off).
    crowd, env, ref = both(goal)
    start = crowd.pos.copy()
    for _ in range(steps):
        step(crowd, env, DT_S)
        ref.step(DT_S)
        assert_same(crowd, ref)
    moved = np.linalg.norm(crowd.pos - start, axis=1)
    assert moved.max() > 1.0  # they walked, so the agreement means something
    if goal == "behind a wall":
        assert np.isclose(crowd.pos[:, 1], WALL_HALF_M + VISITOR_RADIUS_M).sum() >= 5
    if goal == "into a standing group":  # the block stepped aside for the walkers (about 0.2 m at most here)
        standing = np.all(crowd.goal == start, axis=1)
        assert standing.sum() == 16 and moved[standing].max() > 0.1


def test_reference_follows_the_parameters_it_is_given():
    params = StepParams(time_gap_s=0.3, look_m=1.0, personal_m=0.15, projection_passes=3)
    crowd, env, ref = both("random", params)
    for _ in range(20):
        step(crowd, env, DT_S)
        ref.step(DT_S, params)
    assert_same(crowd, ref)


def test_reference_of_an_empty_hall_does_nothing():
    ref = ReferenceCrowd([], [], VISITOR_RADIUS_M, SPEED_MPS, 10.0, WALL_HALF_M)
    ref.step(DT_S)
    assert ref.pos == [] and ref.arrived == []
