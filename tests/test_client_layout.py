"""Where the camera stands when a visitor arrives, and where name tags go on the screen (plain math)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showroom.client.camera import FOLLOW_DISTANCE_M, FOLLOW_PITCH_DEG, OrbitCamera
from showroom.client.labels import Rect, layout

VERTICAL_HALF_FOV_DEG = 18.0
"""The client's lens: 60° across a 16:9 window is about 36° top to bottom."""


def _elevation(eye, target, point) -> float:
    """Degrees above (+) or below (-) the view's centre at which ``point`` appears."""
    view = np.subtract(target, eye)
    to = np.subtract(point, eye)
    pitch = math.degrees(math.atan2(view[2], math.hypot(view[0], view[1])))
    angle = math.degrees(math.atan2(to[2], math.hypot(to[0], to[1])))
    return angle - pitch


def test_arrival_frames_the_visitor_low_and_the_runway_high_from_behind():
    cam = OrbitCamera()
    me, stage = (30.0, 1.6), (30.0, 25.0)  # the anniversary hall's main entrance and its runway's middle
    cam.frame_arrival(me, stage)
    eye = cam.eye()
    assert eye[1] < me[1] < stage[1], eye  # behind me, on the line from the stage
    assert 5.0 <= eye[2] <= 8.0  # over the crowd's heads
    feet = _elevation(eye, cam.target, (*me, 0.0))
    runway = _elevation(eye, cam.target, (*stage, 0.8))
    far_end = _elevation(eye, cam.target, (30.0, 38.0, 0.8))
    assert -VERTICAL_HALF_FOV_DEG + 4 < feet < 0, feet  # my whole avatar, clear of the reactions bar
    assert 0 < runway < far_end < VERTICAL_HALF_FOV_DEG, (runway, far_end)  # the whole runway above me
    assert cam.me_point(me)[1] > me[1]  # looking ahead, towards the show


def test_arrival_from_a_side_door_turns_towards_the_runway():
    cam = OrbitCamera()
    cam.frame_arrival((1.6, 20.0), (30.0, 25.0))
    fx, fy = cam.forward_xy()
    assert fx > 0.95 and abs(fy) < 0.3  # facing +x, across the hall


def test_the_first_step_hands_the_camera_back_to_the_avatar():
    cam = OrbitCamera()
    cam.frame_arrival((30.0, 1.6), (30.0, 25.0))
    low = cam.pitch_deg
    cam.settle()
    assert cam.me_point((30.0, 1.6)) == (30.0, 1.6, 1.0)
    for _ in range(120):  # two seconds at 60 fps: the camera rises to look over booths and the runway
        cam.track(cam.me_point((30.0, 1.6)), 1 / 60)
    assert cam.pitch_deg == FOLLOW_PITCH_DEG > low and cam.distance_m == FOLLOW_DISTANCE_M
    assert cam.target == pytest.approx((30.0, 1.6, 1.0), abs=0.01)


def test_tilting_by_hand_stops_the_camera_easing():
    cam = OrbitCamera()
    cam.frame_arrival((30.0, 1.6), (30.0, 25.0))
    cam.settle()
    cam.track(cam.me_point((30.0, 1.6)), 1 / 60)
    cam.orbit(0, -5)
    tilted = cam.pitch_deg
    for _ in range(60):
        cam.track(cam.me_point((30.0, 1.6)), 1 / 60)
    assert cam.pitch_deg == tilted


HUD = [Rect(-1.78, 0.9, 0.0, 1.0), Rect(-0.8, -1.0, 0.8, -0.85)]  # a top bar and a bottom bar
WINDOW = Rect(-1.78, -1.0, 1.78, 1.0)


def test_tags_of_figures_side_by_side_stack_instead_of_overlapping():
    spots = layout([(0.0, 0.0), (0.02, 0.0), (0.04, 0.01)], [(0.3, 0.06)] * 3, HUD, WINDOW)
    assert all(s is not None for s in spots)
    placed = [s for s in spots if s is not None]
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            assert not a.overlaps(b), (a, b)
    assert placed[0].y0 < placed[1].y0 or placed[0].x0 != placed[1].x0  # the first keeps the spot over its anchor


def test_a_tag_under_the_hud_moves_clear_of_it_or_is_not_drawn():
    spots = layout([(-0.5, 0.86), (0.0, -0.95), None], [(0.3, 0.06)] * 3, HUD, WINDOW)
    assert spots[0] is None or not any(spots[0].overlaps(r) for r in HUD)
    assert spots[1] is not None and spots[1].y0 > -0.85  # lifted above the bottom bar
    assert spots[2] is None  # not in view: not drawn


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1.7, 1.7), st.floats(-0.95, 0.95)), min_size=1, max_size=12),
       st.floats(0.1, 0.5))
def test_placed_tags_never_cover_each_other_the_hud_or_leave_the_window(anchors, width):
    spots = layout(list(anchors), [(width, 0.06)] * len(anchors), HUD, WINDOW)
    placed = [s for s in spots if s is not None]
    for i, a in enumerate(placed):
        assert a.inside(WINDOW)
        assert not any(a.overlaps(r) for r in HUD)
        for b in placed[i + 1:]:
            assert not a.overlaps(b)
