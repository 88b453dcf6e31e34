"""The client's logic without a window: its copy of the crowd and how it draws it, the state
it keeps from server messages, the wallet panel's rows, the camera and the tour guide."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest
from conftest import ANNIVERSARY

from showroom.client.autopilot import Autopilot
from showroom.client.camera import OrbitCamera
from showroom.client.interp import CrowdFrame, SnapshotBuffer, interpolate
from showroom.client.state import ClientState
from showroom.client.wallet import time_left, wallet_rows
from showroom.protocol import TICK_HZ, decode_server, frame
from showroom.protocol.server_messages import read_event
from showroom.protocol.snapshot import CellSnapshot, pack_cell, pack_mascots

FLOOR = (60.0, 40.0)


def snap(slots, pos, *, tick=1, tiers=None, key=False, new=(), gone=(), heading=None, events=()):
    """A decoded frame carrying rows for ``slots`` (all near unless ``tiers`` says), mapping ``new`` (slot, id)."""
    n = len(slots)
    new_slots = np.array([s for s, _ in new], np.int64)
    new_ids = np.array([i for _, i in new], np.int64)
    return CellSnapshot(
        tick=tick, t=tick / TICK_HZ, server_time=0.0, key=key, tiers=tiers or (n, 0, 0),
        slots=np.asarray(slots, np.int64), pos=np.asarray(pos, float).reshape(-1, 2),
        heading=np.zeros(n) if heading is None else np.asarray(heading), anim=np.zeros(n, np.uint8),
        new_slots=new_slots, new_ids=new_ids,
        gone=np.asarray(gone, np.int64), mascot_pos=np.zeros((0, 2)), mascot_heading=np.zeros(0),
        mascot_activity=np.zeros(0, np.uint8), mascot_pose=np.zeros(0, np.int8), mascot_phase=np.zeros(0),
        show=None, events=list(events))


def test_a_frame_updates_the_avatars_it_carries_and_keeps_the_others_as_last_told():
    buf = SnapshotBuffer(FLOOR)
    buf.push(snap([0, 1, 2], [[20, 20], [50, 38], [2, 2]], key=True, new=[(0, 5), (1, 7), (2, 9)]), 0.05, 100.05)
    assert buf.latest.ids.tolist() == [5, 7, 9]
    buf.push(snap([2], [[3, 3]], tick=2, gone=[0], new=[(3, 11)]), 0.1, 100.1)
    latest = buf.latest
    assert latest.ids.tolist() == [7, 9]  # 5 left; 11 is not drawn until its first row comes
    assert latest.pos[latest.ids == 9].tolist() == [[3, 3]] and latest.pos[latest.ids == 7].tolist() == [[50, 38]]
    buf.push(snap([3], [[17, 17]], tick=3), 0.15, 100.15)
    assert buf.latest.ids.tolist() == [7, 9, 11]
    buf.push(snap([1], [[1, 1]], tick=4, key=True, new=[(1, 7)]), 0.2, 100.2)
    assert buf.latest.ids.tolist() == [7]  # a keyframe replaces everything


def test_interpolation_blends_positions_headings_along_the_short_arc_and_phases_forward():
    a = CrowdFrame(0.0, np.array([1, 2]), np.array([[0, 0], [10, 10]], np.float32),
                   np.array([0.1, 6.2], np.float32), np.zeros(2, np.uint8), np.array([0.9, 0.2], np.float32))
    b = CrowdFrame(0.1, np.array([1, 2]), np.array([[1, 0], [10, 12]], np.float32),
                   np.array([6.2, 0.1], np.float32), np.zeros(2, np.uint8), np.array([0.1, 0.4], np.float32))
    mid = interpolate(a, b, 0.05)
    assert np.allclose(mid.pos, [[0.5, 0], [10, 11]])
    short = (0.1 + 6.2 + 2 * math.pi) / 2 % (2 * math.pi)
    assert all(min(abs(h - short), 2 * math.pi - abs(h - short)) < 0.01 for h in mid.heading)
    assert np.allclose(mid.phase, [0.0, 0.3], atol=1e-5) or np.allclose(mid.phase, [1.0, 0.3], atol=1e-5)


def test_a_near_walker_is_drawn_a_tenth_of_a_second_behind_where_the_server_has_it():
    buf = SnapshotBuffer(FLOOR, delay_s=0.1)
    buf.push(snap([0], [[1.06, 1]], key=True, new=[(0, 100)]), 1 / TICK_HZ, 1000 + 1 / TICK_HZ)
    for tick in range(2, 9):  # walking 1.2 m/s (6 cm a tick), frames arriving on time
        buf.push(snap([0], [[1 + 0.06 * tick, 1]], tick=tick), tick / TICK_HZ, 1000 + tick / TICK_HZ)
    t = buf.render_time(1000 + 8 / TICK_HZ)
    assert t == pytest.approx(8 / TICK_HZ - 0.1)
    assert buf.sample(t).pos[0].tolist() == pytest.approx([1.36, 1], abs=0.005)  # where it was at tick 6
    assert buf.sample(t + 0.025).pos[0].tolist() == pytest.approx([1.39, 1], abs=0.005)
    buf.push(snap([0], [[9, 1]], tick=4), 4 / TICK_HZ, 1001)  # a late, older frame changes nothing
    assert buf.latest.pos[0].tolist() == pytest.approx([1.48, 1])


def test_a_far_walker_glides_smoothly_and_a_jump_never_shows():
    buf = SnapshotBuffer(FLOOR, delay_s=0.1)
    tick_s = 1 / TICK_HZ
    buf.push(snap([0], [[10, 10]], key=True, new=[(0, 100)], tiers=(0, 0, 1)), tick_s, 1000 + tick_s)
    buf.push(snap([0], [[11.3, 10]], tick=21, tiers=(0, 0, 1)), 21 * tick_s, 1000 + 21 * tick_s)  # a second later
    xs = [buf.sample(buf.render_time(1000 + 21 * tick_s + k * tick_s)).pos[0][0] for k in range(24)]
    steps = np.diff(xs)
    assert np.all(steps >= 0) and steps.max() < 1.3 / 10  # it walks there over the second, no jump
    assert xs[-1] == pytest.approx(11.3, abs=0.01)
    buf.push(snap([0], [[40, 10]], tick=41, tiers=(1, 0, 0)), 41 * tick_s, 1000 + 41 * tick_s)  # 29 m in a blink
    ys = [buf.sample(buf.render_time(1000 + 41 * tick_s + k * tick_s)).pos[0][0] for k in range(200)]
    assert np.diff(ys).max() <= 4.0 * tick_s + 1e-6 and ys[-1] == pytest.approx(40)  # at most GLIDE_MPS


def _welcome(text: str, you: int = 1001, version: int = 1) -> dict:
    return {"type": "welcome", "v": 1, "you": you, "shard": 0, "role": "visitor", "resume": "r", "wallet": "w" * 32,
            "tick_hz": TICK_HZ, "event": {"id": "e", "title": "T", "duration": 480.0}, "scene": text, "playing": True,
            "t": 0.0, "scene_version": version}


def _frame_bytes(ids, pos, *, personal_events=(), cell_events=(), tick=3, mascot_act=(0, 0, 0)) -> bytes:
    m = len(mascot_act)
    mascots = pack_mascots(np.full((m, 2), 30.0), np.zeros(m), np.asarray(mascot_act, np.uint8),
                           np.full(m, -1, np.int16), np.zeros(m))
    cell = pack_cell(tick=tick, t=60.0, server_time=0.0, ids=np.asarray(ids), pos=np.asarray(pos, float),
                     heading=np.zeros(len(ids)), anim=np.zeros(len(ids), np.uint8),
                     mascots=mascots,
                     show={"cue": 3, "look": 0, "playing": True, "music": "Overture", "announce": None,
                           "lights": {"house": [1, 1, 1, 1], "runway": [1, 1, 1, 1]}},
                     events=list(cell_events))
    return frame(7, ids[0], [read_event(e) for e in personal_events], cell)


def test_state_follows_the_server_queue_photo_awards_and_scene_edits():
    text = ANNIVERSARY.read_text()
    st = ClientState()
    st.receive(_welcome(text), 0.0)
    assert st.scene is not None and st.scene.event.id == "anniversary-runway"
    st.receive(decode_server(_frame_bytes([1001], [[31, 12]], personal_events=[
        {"type": "selfie_queue", "mascot": "teddy", "position": 2, "size": 5}])), 0.1)
    assert st.selfie is not None and (st.selfie.position, st.selfie.size) == (2, 5)
    assert st.me().tolist() == [31, 12]
    assert st.look_caption() == "Maison Lumen: Golden Hour  \u2014  Music: Overture"
    st.receive(decode_server(_frame_bytes([1001], [[31, 12]], tick=4, personal_events=[
        {"type": "selfie_queue", "mascot": "teddy", "position": 0, "size": 4},
        {"type": "awarded", "seq": 4, "entitlement": "lumen-scarf", "kind": "voucher", "name": "Scarf", "valid_until": None},
    ], cell_events=[{"type": "selfie_taken", "mascot": "teddy", "visitor": 1001, "t": 61.0, "visible": [1001, 1002]},
                    {"type": "scene_changed", "version": 2, "t": 61.0}])), 0.2)
    assert st.selfie is None  # photographed: out of the queue
    assert [p.mascot for p in st.photos_due] == ["teddy"] and st.photos_due[0].visible == (1001, 1002)
    assert st.awards[0]["entitlement"] == "lumen-scarf"
    assert st.scene_due == 2
    edited = text.replace('name = "Maison Lumen: Golden Hour"', 'name = "Maison Lumen: Midnight Gold"')
    st.receive({"type": "scene", "version": 2, "text": edited}, 0.3)
    assert st.scene_version == 2 and st.scene_due is None
    assert st.look_caption().startswith("Maison Lumen: Midnight Gold")


def test_state_keeps_the_events_audience_as_last_told():
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    assert st.audience is None  # not told yet: the status line says nothing about the event
    st.receive(decode_server(_frame_bytes([1001], [[31, 12]], cell_events=[
        {"type": "audience", "visitors": 18342, "reactions": {"heart": 1200, "wow": 3}}])), 0.1)
    assert st.audience is not None and st.audience.visitors == 18342 and st.audience.reactions["heart"] == 1200
    st.receive(decode_server(_frame_bytes([1001], [[31, 12]], tick=3)), 0.2)  # frames without it keep it
    assert st.audience.visitors == 18342


def test_a_second_welcome_after_joining_again_on_another_worker_starts_the_crowd_afresh():
    """The desktop client joined again through the front door after its worker died: the new worker's slots
    mean other avatars, so nobody from the old worker may stay drawn (and the old selfie queue is gone)."""
    text = ANNIVERSARY.read_text()
    st = ClientState()
    st.receive(_welcome(text), 0.0)
    st.receive(decode_server(_frame_bytes([1001, 1002, 1003], [[31, 12], [32, 12], [33, 12]], personal_events=[
        {"type": "selfie_queue", "mascot": "teddy", "position": 2, "size": 5}])), 0.1)
    assert st.crowd is not None and sorted(st.crowd.copy.ids[st.crowd.copy.present()].tolist()) == [1001, 1002, 1003]
    st.receive(_welcome(text, you=2_000_001), 5.0)
    st.receive(decode_server(_frame_bytes([2_000_001], [[20, 20]], tick=90_000)), 5.1)
    assert st.crowd.copy.ids[st.crowd.copy.present()].tolist() == [2_000_001]
    assert st.me().tolist() == [20, 20] and st.selfie is None


def test_wallet_rows_give_status_and_time_left():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    items = [
        {"seq": 3, "entitlement": "lumen-scarf", "name": "Scarf voucher", "kind": "voucher", "unit": 0,
         "valid_from": "2026-11-22T11:00:00Z", "valid_until": "2026-11-25T11:00:00Z", "redeemed_at": None},
        {"seq": 5, "entitlement": "aurora-perfume", "name": "Perfume voucher", "kind": "voucher", "unit": 4,
         "valid_from": "2026-11-23T00:00:00Z", "valid_until": "2027-01-31T23:59:59Z", "redeemed_at": None},
        {"seq": 1, "entitlement": "first-hundred", "name": "First 100", "kind": "badge", "unit": None,
         "valid_from": "2026-11-22T11:00:00Z", "valid_until": None, "redeemed_at": None},
        {"seq": 2, "entitlement": "lumen-scarf", "name": "Old voucher", "kind": "voucher", "unit": 1,
         "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2026-11-02T00:00:00Z", "redeemed_at": None},
    ]
    rows = wallet_rows(items, now)
    assert [r.seq for r in rows] == [5, 3, 2, 1]
    assert (rows[0].status, rows[0].time_left, rows[0].redeemable) == ("not yet valid", "opens in 12h 0m", False)
    assert (rows[1].title, rows[1].status, rows[1].time_left, rows[1].redeemable) == \
        ("Scarf voucher  #1", "valid", "2d 23h left", True)
    assert rows[2].status == "expired" and not rows[2].redeemable
    assert (rows[3].kind, rows[3].time_left) == ("Badge", "no expiry")
    assert time_left(42) == "42s" and time_left(3720) == "1h 2m"


def test_camera_orbits_zooms_within_limits_and_walks_relative_to_the_view():
    cam = OrbitCamera(target=(30, 20, 1), yaw_deg=0, pitch_deg=30, distance_m=10)
    x, y, z = cam.eye()
    assert (x, y) == pytest.approx((30, 20 - 10 * math.cos(math.radians(30))))
    assert z == pytest.approx(1 + 5)
    cam.orbit(90, 200)
    assert cam.pitch_deg == 85 and cam.forward_xy() == pytest.approx((-1, 0), abs=1e-9)
    cam.zoom(100)
    assert cam.distance_m == 80
    cam.follow_target("mascot:1")
    assert cam.follow == "mascot:1" and cam.distance_m == 11


def test_tour_guide_queues_for_an_open_selfie_session_then_opens_the_wallet():
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    pilot = Autopilot()
    # teddy (mascot 0) holds a selfie session at the east end; the visitor stands 4 m away
    st.receive(decode_server(_frame_bytes([1001], [[34, 12]], mascot_act=(5, 0, 0))), 0.0)
    st.mascots[-1].pos[0] = (31, 14.5)
    actions = pilot.step(st, 10.0)
    assert ("selfie", "teddy") in [(a.kind, a.name) for a in actions]
    moves = [a for a in actions if a.kind == "move"]
    assert moves and (moves[0].x, moves[0].y) == (33.6, 14.5)  # the east spot's queue start
    st.receive(decode_server(_frame_bytes([1001], [[34, 12]], tick=5, mascot_act=(5, 0, 0), personal_events=[
        {"type": "awarded", "seq": 4, "entitlement": "lumen-scarf", "kind": "voucher", "name": "Scarf",
         "valid_until": None}], cell_events=[
        {"type": "selfie_taken", "mascot": "teddy", "visitor": 1001, "t": 61.0, "visible": [1001]}])), 0.5)
    actions = pilot.step(st, 11.0)
    assert "wallet" in [a.kind for a in actions]
    assert "selfie" not in [a.kind for a in pilot.step(st, 20.0)]  # done with teddy


def test_client_reports_an_unreachable_server_in_one_line(capsys):
    from showroom.cli import main

    assert main(["client", "ws://127.0.0.1:9/", "--offscreen", "--seconds", "1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["cannot reach ws://127.0.0.1:9/: [Errno 111] Connection refused"]
    assert main(["client", "ws://127.0.0.1:9/", "--offscreen"]) == 1
    assert "--offscreen needs --seconds" in capsys.readouterr().err
