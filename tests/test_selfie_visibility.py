"""Who is in a selfie, and the selfie desk serving a queue, without sockets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.event.selfie import LEAVE_M, NEAR_M, SelfieDesk
from server.event.visibility import (
    ARM_M,
    HALF_FOV_RAD,
    OCCLUDING_HEIGHT_M,
    RANGE_M,
    Occluders,
    selfie_camera,
    visible_in_photo,
)
from showroom.protocol.codes import Activity
from showroom.sim.geometry import as_points, polyline_segments
from showroom.sim.world import DT_S, World

NONE = Occluders(np.zeros((0, 2)), np.zeros((0, 2)))
ORIGIN = np.array([0.0, 0.0])
EAST = np.array([1.0, 0.0])


def wall(*points: tuple[float, float]) -> Occluders:
    """Occluders from one open polyline, built by hand."""
    p = np.array(points, float)
    return Occluders(p[:-1].copy(), p[1:].copy())


def at_angle(deg: float, dist: float) -> list[float]:
    return [dist * np.cos(np.radians(deg)), dist * np.sin(np.radians(deg))]


# ---- visible_in_photo with hand-built occluders ----------------------------------------------

def test_avatar_in_the_cone_is_seen_and_one_behind_the_camera_is_not():
    points = np.array([[5.0, 1.0], [-3.0, 0.0], [-0.5, 0.2], [4.0, -2.0]])
    assert visible_in_photo(ORIGIN, EAST, points, NONE).tolist() == [True, False, False, True]


def test_the_cone_ends_at_35_degrees_and_12_metres():
    half = np.degrees(HALF_FOV_RAD)
    points = np.array([at_angle(half - 1, 5), at_angle(half + 1, 5), at_angle(-(half - 1), 5),
                       at_angle(-(half + 1), 5), at_angle(0, RANGE_M - 0.1), at_angle(0, RANGE_M + 0.1),
                       at_angle(20, RANGE_M - 0.1), at_angle(90, 2)])
    assert visible_in_photo(ORIGIN, EAST, points, NONE).tolist() == [
        True, False, True, False, True, False, True, False]


def test_avatar_behind_a_wall_segment_is_hidden():
    screen = wall((4.0, -3.0), (4.0, -1.0))
    hidden, beside, in_front = [6.0, -2.0], [5.0, 1.0], [3.0, -1.5]
    points = np.array([hidden, beside, in_front])
    assert visible_in_photo(ORIGIN, EAST, points, NONE).tolist() == [True, True, True]
    assert visible_in_photo(ORIGIN, EAST, points, screen).tolist() == [False, True, True]


def test_any_of_several_segments_hides_and_a_wall_behind_the_avatar_does_not():
    occluders = Occluders(np.array([[20.0, -5.0], [3.0, 1.0], [8.0, -5.0]]),
                          np.array([[20.0, 5.0], [3.0, 3.5], [8.0, -3.0]]))
    points = np.array([[6.0, 3.0], [10.0, -4.5], [7.0, 0.0], [10.0, 2.0]])
    # (6, 3) behind the short screen at x=3; (10, -4.5) behind the one at x=8; the wall at
    # x=20 stands behind everyone and hides no one
    assert visible_in_photo(ORIGIN, EAST, points, occluders).tolist() == [False, False, True, True]


def test_visibility_takes_the_camera_and_look_direction_as_given():
    camera, look = np.array([10.0, 10.0]), np.array([0.0, -1.0])  # looking south
    points = np.array([[10.0, 5.0], [10.0, 15.0], [12.5, 5.0], [20.0, 9.0]])
    blocker = wall((9.0, 7.0), (11.0, 7.0))
    assert visible_in_photo(camera, look, points, NONE).tolist() == [True, False, True, False]
    assert visible_in_photo(camera, look, points, blocker).tolist() == [False, False, True, False]


scalar = st.floats(-15, 15, allow_nan=False)
point_lists = st.lists(st.tuples(scalar, scalar), min_size=1, max_size=20)
segments = st.lists(st.tuples(scalar, scalar, scalar, scalar), min_size=1, max_size=6)


@given(point_lists, segments, st.floats(0, 2 * np.pi))
@settings(max_examples=150, deadline=None)
def test_visibility_is_per_point_and_a_wall_never_reveals_anyone(points, segs, turn):
    pts = np.array(points, float)
    look = np.array([np.cos(turn), np.sin(turn)])
    seg = np.array(segs, float)
    occluders = Occluders(seg[:, :2].copy(), seg[:, 2:].copy())
    open_view = visible_in_photo(ORIGIN, look, pts, NONE)
    walled = visible_in_photo(ORIGIN, look, pts, occluders)
    assert not (walled & ~open_view).any()
    one_by_one = [bool(visible_in_photo(ORIGIN, look, p[None], occluders)[0]) for p in pts]
    assert walled.tolist() == one_by_one
    dist = np.hypot(pts[:, 0], pts[:, 1])
    cos = (pts @ look) / np.maximum(dist, 1e-9)
    clear = (dist < RANGE_M - 1e-6) & (cos > np.cos(HALF_FOV_RAD) + 1e-6)
    far = (dist > RANGE_M + 1e-6) | (cos < np.cos(HALF_FOV_RAD) - 1e-6)
    assert open_view[clear].all() and not open_view[far].any()


def test_selfie_camera_stands_an_arm_beyond_the_visitor_looking_back_at_the_mascot():
    camera, look = selfie_camera(np.array([33.0, 14.5]), np.array([31.0, 14.5]))
    assert camera == pytest.approx([33.0 + ARM_M, 14.5]) and look == pytest.approx([-1.0, 0.0])
    camera, look = selfie_camera(np.array([31.0, 17.5]), np.array([31.0, 14.5]))
    assert camera == pytest.approx([31.0, 17.5 + ARM_M]) and look == pytest.approx([0.0, -1.0])
    camera, look = selfie_camera(np.array([31.0, 14.5]), np.array([31.0, 14.5]))  # on top of the mascot
    assert np.isfinite(camera).all() and np.hypot(*look) == pytest.approx(1.0)


# ---- occluders of the anniversary scene ------------------------------------------------------

def segment_set(a: np.ndarray, b: np.ndarray) -> set[tuple[float, ...]]:
    """Undirected segments as rounded tuples."""
    return {tuple(sorted([tuple(np.round(p, 6)), tuple(np.round(q, 6))])) for p, q in zip(a, b)}


def outline(points, closed: bool) -> set[tuple[float, ...]]:
    return segment_set(*polyline_segments(as_points(points), closed=closed))


def test_occluders_are_the_tall_walls_pillars_and_booths_not_the_rope_lanes(anniversary):
    venue = anniversary.venue
    occluders = Occluders.from_scene(anniversary)
    have = segment_set(occluders.a, occluders.b)
    ropes = [w for w in venue.walls if w.height < OCCLUDING_HEIGHT_M]
    assert len(ropes) == 2 and all(w.height == 1.0 for w in ropes)
    for rope in ropes:
        assert not outline(rope.points, rope.closed) & have, "a 1 m rope lane must not hide anyone"
    expected = set()
    for tall in [w for w in venue.walls if w.height >= OCCLUDING_HEIGHT_M]:
        expected |= outline(tall.points, tall.closed)
    for solid in [*venue.obstacles, *venue.booths]:
        assert solid.height >= OCCLUDING_HEIGHT_M
        expected |= outline(solid.polygon, True)
    assert have == expected
    pillar = next(o for o in venue.obstacles if o.name == "pillar-east")
    assert outline(pillar.polygon, True) <= have
    booth = next(b for b in venue.booths if b.name == "aurora-booth")
    assert outline(booth.polygon, True) <= have
    assert outline([[0, 0], [60, 0], [60, 40], [0, 40]], True) <= have


def test_a_sight_line_over_a_rope_lane_is_clear_and_one_through_a_pillar_is_not(anniversary):
    occluders = Occluders.from_scene(anniversary)
    camera, look = np.array([34.0, 14.5]), np.array([-1.0, 0.0])
    across_rope = np.array([[32.0, 15.4], [32.2, 13.6]])  # crossing the east lane's ropes at y 15.1 and 13.9
    assert visible_in_photo(camera, look, across_rope, occluders).all()
    camera, look = np.array([43.0, 11.8]), np.array([-1.0, 0.0])
    behind_pillar = np.array([[38.5, 11.5]])  # pillar-east spans x 40..41, y 11..12
    assert visible_in_photo(camera, look, behind_pillar, NONE).all()
    assert not visible_in_photo(camera, look, behind_pillar, occluders).any()


# ---- the selfie desk on the anniversary show ---------------------------------------------------

FIRST, SECOND, THIRD = 1000, 1001, 1002
BESIDE, BEHIND_CAMERA, BEHIND_PILLAR, ACROSS_ROPE = 2000, 2001, 2002, 2003


def test_mascot_serves_three_queued_visitors_in_order_and_each_photo_names_who_is_in_frame(anniversary):
    """Teddy's selfie session at the east end (teddy at (31, 14.5)), show time 65 s.

    The first in line is served from the edge of the area, 11.3 m east of teddy (inside
    LEAVE_M, so still in line): the camera, an arm further east, looks back west past
    pillar-east, which then hides whoever stands behind it. The pillar is 9 m or more from
    teddy, so from anywhere nearer the camera has it behind its back or out of its 12 m range.
    """
    world = World(anniversary)
    world.seek(65.0)
    teddy = 0
    assert anniversary.mascots[teddy].id == "teddy"
    frame = world.frame
    assert frame.activity[teddy] == Activity.SELFIE
    assert frame.pos[teddy] == pytest.approx([31.0, 14.5])
    places = {
        FIRST: (42.0, 12.0), SECOND: (33.0, 14.5), THIRD: (34.6, 14.5),
        BESIDE: (41.8, 12.6), BEHIND_CAMERA: (44.5, 11.5), BEHIND_PILLAR: (38.5, 11.28),
        ACROSS_ROPE: (32.0, 15.4),
    }
    ids = np.array(sorted(places))
    world.crowd.add(np.array([places[i] for i in ids]), ids=ids)
    crowd = world.crowd
    assert np.hypot(*(np.array(places[FIRST]) - frame.pos[teddy])) <= LEAVE_M

    desk = SelfieDesk(anniversary)
    assert desk.index("teddy") == teddy
    near_spot = np.array([33.6, 14.5])  # where the line forms, well within NEAR_M
    assert np.hypot(*(near_spot - frame.pos[teddy])) <= NEAR_M
    queued = [desk.request(m, teddy, near_spot, frame) for m in (FIRST, SECOND, THIRD)]
    assert queued == [(1, 1), (2, 2), (3, 3)]

    photos, personal = [], {}
    for t in np.arange(65.0, 80.0, DT_S):
        out = desk.tick(float(t), world.show.mascots_at(float(t)), crowd.ids, crowd.pos)
        photos += out.shared
        for member, events in out.personal.items():
            personal.setdefault(member, []).extend(events)
        if out.shared:
            assert teddy in out.face
    assert [p.visitor for p in photos] == [FIRST, SECOND, THIRD]
    assert all(p.mascot == "teddy" for p in photos)
    times = [p.t for p in photos]
    photo_s = anniversary.mascots[teddy].photo_seconds
    assert times[0] == pytest.approx(65.0) and np.diff(times) == pytest.approx([photo_s, photo_s], abs=0.06)
    assert desk.taken == 3 and desk.queues[teddy].waiting == []
    assert [e.position for e in personal[THIRD] if e.type == "selfie_queue"] == [2, 1, 0]

    first = set(photos[0].visible)
    assert {FIRST, BESIDE} <= first
    assert BEHIND_CAMERA not in first
    assert BEHIND_PILLAR not in first
    camera, look = selfie_camera(np.array(places[FIRST]), frame.pos[teddy])
    in_cone = visible_in_photo(camera, look, np.array([places[BEHIND_PILLAR]]), NONE)
    assert in_cone.all(), "the hidden avatar is inside the cone; only the pillar hides it"

    second = set(photos[1].visible)
    assert {SECOND, ACROSS_ROPE} <= second  # the 1 m rope lane hides no one
    assert all(not set(p.visible) & set(range(len(anniversary.mascots))) for p in photos)  # avatars only, never mascots
    assert THIRD not in second  # 0.6 m behind the camera
    assert BEHIND_PILLAR not in second and FIRST not in second


def test_requests_are_refused_outside_a_session_from_afar_and_past_capacity(anniversary):
    from showroom.protocol.errors import ErrorCode, ProtocolError

    world = World(anniversary)
    desk = SelfieDesk(anniversary)
    world.seek(10.0)
    with pytest.raises(ProtocolError) as refused:
        desk.request(FIRST, 0, np.array([33.0, 14.5]), world.frame)
    assert refused.value.code == ErrorCode.NO_SESSION
    world.seek(65.0)
    with pytest.raises(ProtocolError) as refused:
        desk.request(FIRST, 0, np.array([31.0, 14.5 + NEAR_M + 0.5]), world.frame)
    assert refused.value.code == ErrorCode.NOT_NEAR
    with pytest.raises(ProtocolError) as refused:
        desk.index("tedy")
    assert refused.value.code == ErrorCode.UNKNOWN_TARGET and "teddy" in refused.value.message
    capacity = anniversary.mascots[0].selfie_capacity
    for k in range(capacity):
        assert desk.request(FIRST + k, 0, np.array([33.0, 14.5]), world.frame)[0] == k + 1
    with pytest.raises(ProtocolError) as refused:
        desk.request(FIRST + capacity, 0, np.array([33.0, 14.5]), world.frame)
    assert refused.value.code == ErrorCode.QUEUE_FULL
    assert desk.request(FIRST + 3, 0, np.array([33.0, 14.5]), world.frame)[0] == 4  # asking again keeps the place
