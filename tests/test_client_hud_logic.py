"""What the visitor reads on the HUD, without a window: the caption says the look once, counts
use the singular for one, the camera mode is named, and the selfie flow says where to go,
walks there on a second P, shows the queue place and the time to the turn, and drops the
button once the photo is taken."""

from __future__ import annotations

from conftest import ANNIVERSARY
from test_client_community_logic import CIRCLE, community_state
from test_client_logic import _frame_bytes, _welcome

from showroom.client.community import CommunityBook
from showroom.client.community_text import panel_text
from showroom.client.hud_text import camera_label, look_caption, plural, reaction_total, short_holder, status_line
from showroom.client.selfie_guide import SelfieGuide, queue_label, selfie_label
from showroom.client.state import ClientState
from showroom.protocol import decode_server
from showroom.scene.load import parse_scene

SCENE = parse_scene(ANNIVERSARY.read_text(), "anniversary")
LOOK = "Maison Lumen: Golden Hour"


def _state(me=(34.0, 12.0), mascot_act=(0, 0, 0), personal_events=(), cell_events=(), tick=3) -> ClientState:
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    st.receive(decode_server(_frame_bytes([1001], [list(me)], mascot_act=mascot_act, tick=tick,
                                          personal_events=personal_events, cell_events=cell_events)), 0.1)
    return st


def test_caption_names_the_look_once_and_the_music_only_when_it_says_something_else():
    assert look_caption(SCENE, {"look": 0, "music": LOOK}) == LOOK
    assert look_caption(SCENE, {"look": 0, "music": "Overture"}) == f"{LOOK}  \u2014  Music: Overture"
    assert look_caption(SCENE, {"look": -1, "music": "Overture"}) == "Music: Overture"
    assert look_caption(SCENE, {"look": -1, "music": None}) == ""
    st = _state()
    st.show["music"] = LOOK
    assert st.look_caption() == LOOK and st.look_caption().count("Golden Hour") == 1


def test_counts_say_one_visitor_and_two_visitors():
    assert plural(1, "visitor") == "1 visitor" and plural(0, "visitor") == "0 visitors"
    assert plural(2, "person", "people") == "2 people" and plural(1200, "point") == "1,200 points"
    one = status_line(title="Gala", show_t=75.0, playing=True, seen=1, shard=0, fps=60.0)
    assert one == "Gala  |  1:15  |  1 visitor in view  |  shard 0  |  60 fps"
    assert "2 visitors in view" in status_line(title="Gala", show_t=0, playing=False, seen=2, shard=1, fps=30)
    everyone = status_line(title="Gala", show_t=75.0, playing=True, seen=12, shard=3, fps=60.0, at_event=18_342)
    assert everyone == "Gala  |  1:15  |  12 visitors in view  |  18,342 at the event  |  shard 3  |  60 fps"
    book = CommunityBook(community=CIRCLE)
    book.start()
    book.receive(community_state("closed", status="member", tier="gold").model_copy(update={"points": 1.0,
                                                                                          "streak": 1}))
    assert panel_text(book, "x").loyalty == "Gold  |  1 point  |  streak 1 week"


def test_camera_mode_names_what_f_follows():
    assert camera_label("me", SCENE) == "Camera: following you (F)"
    assert camera_label("mascot:0", SCENE) == "Camera: Teddy Lumen (F)"
    assert camera_label("free", SCENE) == "Camera: free (F)"


def test_p_away_from_a_mascot_says_where_a_session_is_open_and_p_again_walks_there():
    st = _state(me=(10.0, 30.0), mascot_act=(5, 0, 0))  # teddy holds a session; the visitor is far off
    st.mascots[-1].pos[0] = (31, 14.5)
    guide = SelfieGuide()
    assert selfie_label(st, guide, 0.0) is None
    said = guide.press(st, 1.0)
    assert said.kind == "say" and said.text == "Teddy Lumen takes selfies 26 metres away: press P again to walk there"
    assert selfie_label(st, guide, 2.0) == "Walk to Teddy Lumen's selfie queue (P)"  # the button offers it too
    walk = guide.press(st, 3.0)
    assert walk.kind == "walk" and (walk.x, walk.y) == (33.6, 14.5)  # the east spot's queue start
    assert guide.press(st, 4.0).kind == "say"  # offered again, not walked twice
    assert guide.press(st, 4.0 + 11.0).kind == "say"  # an offer goes stale: P says it again first


def test_p_with_no_session_open_says_when_the_next_one_opens():
    st = _state()  # show time 1:00 in these frames, nobody in a session
    step = SelfieGuide().press(st, 0.0)
    assert step.kind == "say"
    assert step.text == "No selfie session is open now: Ember the Fox's opens at 2:10 (in 70 seconds)"
    st.show_t = 300.0
    assert SelfieGuide().press(st, 0.0).text == "No selfie session is open now, and none is left in the show"


def test_p_near_a_session_asks_that_mascot():
    st = _state(mascot_act=(5, 0, 0))
    st.mascots[-1].pos[0] = (31, 14.5)
    step = SelfieGuide().press(st, 0.0)
    assert (step.kind, step.mascot) == ("ask", "teddy")
    assert selfie_label(st, SelfieGuide(), 0.0) == "Ask Teddy Lumen for a selfie (P)"


def test_queue_shows_the_place_and_the_time_to_the_turn():
    st = _state(personal_events=[{"type": "selfie_queue", "mascot": "teddy", "position": 3, "size": 5}])
    assert queue_label(st) == (
        "Selfie queue for Teddy Lumen\n3 people ahead, your turn in about 18 s")
    st = _state(personal_events=[{"type": "selfie_queue", "mascot": "teddy", "position": 1, "size": 2}])
    assert selfie_label(st, SelfieGuide(), 0.0) == (
        "Selfie queue for Teddy Lumen\nyou are next, your turn in about 6 s")
    st = _state(personal_events=[{"type": "selfie_queue", "mascot": "teddy", "position": 0, "size": 1}])
    assert queue_label(st) == "Selfie with Teddy Lumen: now, smile!"


def test_selfie_button_goes_once_the_photo_is_taken():
    st = _state(mascot_act=(5, 0, 0), cell_events=[
        {"type": "selfie_taken", "mascot": "teddy", "visitor": 1001, "t": 61.0, "visible": [1001]}])
    st.mascots[-1].pos[0] = (31, 14.5)  # still near teddy, whose session is still open
    assert st.photographed == {"teddy"} and st.selfie is None
    assert selfie_label(st, SelfieGuide(), 0.0) is None


def test_the_wallet_panel_is_as_tall_as_its_rows():
    from showroom.client.hud_text import WALLET_MAX_ROWS, wallet_panel_bottom

    heights = [-0.33 - wallet_panel_bottom(n) for n in range(WALLET_MAX_ROWS + 3)]
    assert heights[0] < heights[1] < heights[2]  # an empty wallet is a title; each row adds its height
    assert heights[1] < 0.35  # one voucher: a small panel (it was 1.07 units, over a third of the view, always)
    assert heights[WALLET_MAX_ROWS] == heights[WALLET_MAX_ROWS + 2]  # no taller than the rows it can show


def test_a_long_wallet_holder_id_is_shortened_to_fit_the_panel():
    assert short_holder("w-07be8400ff9e93af54a091") == "w-07be840…a091"
    assert short_holder("w-short") == "w-short"


def test_reaction_totals_above_the_buttons_stay_short():
    assert [reaction_total(n) for n in (0, 7, 9_999, 12_345, 999_949, 1_250_000)] == [
        "", "7", "9,999", "12.3k", "999.9k", "1.2M"]
