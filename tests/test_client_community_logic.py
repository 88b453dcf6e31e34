"""The client's community logic without a window: the poll overlay's state, the community book
(featured set, gallery, ballot, upload in paced parts), the panel's words, the featured wall's
layout and the tour guide's community round; and the scene's featured wall element."""

from __future__ import annotations

import pytest
from conftest import ANNIVERSARY, RESIDENCY
from test_client_logic import _frame_bytes, _welcome

from showroom.client.autopilot import Autopilot
from showroom.client.autopilot_community import LOOK_S, POLL_AFTER_S, TYPE_S, CommunityGuide
from showroom.client.community import CommunityBook
from showroom.client.community_text import ballot_mark, panel_text, tier_label, when
from showroom.client.featured import camera_yaw_deg, face_to_world, layout, route, viewing_spot
from showroom.client.polls import CLOSE_AFTER_S, PollBook
from showroom.client.state import ClientState
from showroom.client.upload import EntryFileError, Pacer, Upload, check_entry_file
from showroom.protocol import community as cm
from showroom.protocol.codec import decode_server
from showroom.scene import load_scene, parse_scene
from showroom.scene.load import SceneError

CIRCLE = "maison-lumen-circle"


def poll_event(poll: str = "p1", options=("rose", "gold", "midnight"), results: str = "live") -> cm.PollState:
    return cm.PollState(poll=poll, question="Which colour?", options=list(options), results=results, closes_at=None,
                        community=None)


def community_state(*phases: str, status: str = "member", tier: str | None = None) -> cm.CommunityState:
    challenges = [cm.ChallengeInfo(id=f"rose-sketch-w{k + 1}", title=f"Sketch {k + 1}", phase=p, ballot="approval",
                                   next_at=None) for k, p in enumerate(phases)]
    return cm.CommunityState(community=CIRCLE, name="Maison Lumen Circle", entry="invite", members=3, cap=500,
                             status=status, role="member" if status == "member" else None, tier=tier, points=240.0,
                             streak=2, residency=cm.ResidencyInfo(id="encore", title="Golden Hour encore",
                                                                  start="2026-12-06T20:00+08:00"),
                             challenges=challenges, polls=[])


def gallery(challenge: str, phase: str, entries, ballot: str = "approval", voted: bool = False) -> cm.Gallery:
    return cm.Gallery(community=CIRCLE, challenge=challenge, phase=phase, ballot=ballot, voted=voted, entries=[
        cm.GalleryEntry(entry=e, title=f"entry {e}", by=f"author {e}", status="approved", mine=mine, width=40,
                        height=30, rank=rank) for e, mine, rank in entries])


def sent(book: CommunityBook, now: float = 100.0) -> list:
    return book.due(now)


# ---- polls ---------------------------------------------------------------------------------------
def test_a_poll_is_answered_once_and_the_number_keys_go_back_to_reactions_when_confirmed():
    polls = PollBook()
    polls.opened(poll_event(), 10.0)
    assert polls.takes_keys and "Press 1-3" in polls.current.footer()
    first = polls.answer(1)
    assert first == cm.PollAnswer(poll="p1", option=1)
    assert polls.answer(1) is None and polls.answer(2) is None  # a second press sends nothing
    assert not polls.takes_keys and polls.current.footer().startswith("Sending")
    polls.answered(cm.PollAnswered(poll="p1", option=1))
    assert polls.current.confirmed and "counted" in polls.current.footer()
    polls.results(cm.PollResultsEvent(poll="p1", counts=[1, 3, 0], final=False), 11.0)
    assert polls.current.bars_shown() and polls.current.shares() == [0.25, 0.75, 0.0]
    polls.results(cm.PollResultsEvent(poll="p1", counts=[1, 4, 0], final=True), 12.0)
    polls.tick(12.0 + CLOSE_AFTER_S - 0.1)
    assert polls.current is not None and polls.current.footer().startswith("Final results")
    polls.tick(12.0 + CLOSE_AFTER_S)
    assert polls.current is None
    polls.opened(poll_event(), 20.0)  # the same poll again (a resumed visit): already shown to the end
    assert polls.current is None


def test_results_at_close_show_no_bars_until_the_poll_closes_and_polls_queue_behind_each_other():
    polls = PollBook()
    polls.opened(poll_event("a", results="on_close"), 0.0)
    polls.opened(poll_event("b"), 0.5)
    polls.answer(0)
    polls.answered(cm.PollAnswered(poll="a", option=0))
    assert "results at close" in polls.current.footer() and not polls.current.bars_shown()
    polls.results(cm.PollResultsEvent(poll="a", counts=[2, 1, 0], final=True), 1.0)
    assert polls.current.bars_shown()
    polls.dismiss()
    assert polls.current.poll == "b" and polls.takes_keys


def test_a_refused_answer_says_why_and_an_earlier_answer_counts_as_confirmed():
    polls = PollBook()
    polls.opened(poll_event(), 0.0)
    polls.answer(0)
    polls.refused("not_member: this poll is for members of maison-lumen-circle")
    assert polls.current.footer().startswith("Not counted: not_member")
    polls.opened(poll_event("p2"), 1.0)
    polls.dismiss()
    polls.answer(2)
    polls.refused("already_answered: you answered this poll")
    assert polls.current.confirmed


def test_client_state_routes_poll_events_from_frames():
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    event = poll_event().wire()
    st.receive(decode_server(_frame_bytes([1001], [[34, 12]], cell_events=[event])), 1.0)
    assert st.polls.current is not None and st.polls.current.opened_s == 1.0
    st.receive(decode_server(_frame_bytes([1001], [[34, 12]], tick=4, personal_events=[
        {"type": "poll_answered", "poll": "p1", "option": 2}])), 1.2)
    assert st.polls.current.confirmed and st.polls.current.chosen == 2


# ---- the community book ---------------------------------------------------------------------------
def test_on_arrival_the_book_finds_the_featured_set_of_the_newest_closed_challenge_with_ranks():
    book = CommunityBook(community=CIRCLE)
    book.start()
    assert sent(book) == [cm.CommunityAsk(community=CIRCLE)]
    book.receive(community_state("closed", "closed", "draft", status="none"))
    asks = sent(book, 101.0)
    assert cm.GalleryAsk(community=CIRCLE, challenge="rose-sketch-w2") in asks
    book.receive(gallery("rose-sketch-w2", "closed", []))  # closed but never featured: look one further back
    assert cm.GalleryAsk(community=CIRCLE, challenge="rose-sketch-w1") in sent(book, 102.0)
    book.receive(gallery("rose-sketch-w1", "closed", [(4, False, 2), (7, False, 1), (9, False, None)]))
    assert book.featured is not None and [e.entry for e in book.featured.entries] == [7, 4]
    assert book.featured_version == 1
    asks = sent(book, 110.0)
    assert {m.entry for m in asks if isinstance(m, cm.ImageAsk)} == {4, 7}
    book.receive(cm.EntryImage(entry=7, image=b"\xff\xd8\xff jpeg"))
    assert book.images[7].startswith(b"\xff\xd8\xff")
    notice = book.receive(cm.FeaturedEvent(community=CIRCLE, challenge="rose-sketch-w2",
                                           entries=[cm.FeaturedEntry(entry=12, title="t", by="b", rank=1)]))
    assert notice == "new featured entries: Sketch 2"
    assert book.featured.challenge == "rose-sketch-w2" and book.featured_version == 2
    assert cm.ImageAsk(entry=12) in sent(book, 120.0)
    book.receive(cm.FeaturedEvent(community="another", challenge="x", entries=[]))
    assert book.featured.challenge == "rose-sketch-w2"


def test_the_pacer_keeps_community_requests_under_the_servers_rate():
    book = CommunityBook(community=CIRCLE)
    for entry in range(20):
        book.pacer.send(cm.ImageAsk(entry=entry))
    book.pacer.send(cm.ImageAsk(entry=3))  # a repeat of one still waiting is dropped
    assert len(book.pacer.queue) == 20
    assert len(sent(book, 0.0)) == 6  # the burst
    assert len(sent(book, 0.1)) == 0
    assert len(sent(book, 1.1)) == 4  # four a second


def test_an_entry_goes_up_in_paced_parts_and_its_moderation_shows():
    book = CommunityBook(community=CIRCLE)
    book.receive(community_state("submissions"))
    data = b"\x89PNG\r\n\x1a\n" + bytes(10_000)
    assert book.submit(data, "my rose") is None
    assert book.submit(data, "again") == "an entry is on its way already"
    start = [m for m in sent(book) if isinstance(m, cm.EntryStart)]
    assert start == [cm.EntryStart(community=CIRCLE, challenge="rose-sketch-w1", title="my rose", size=len(data))]
    book.receive(cm.UploadReady(upload=5, part_bytes=3072, parts=4))
    out = sent(book, 101.0)
    parts = [m for m in out if isinstance(m, cm.EntryPart)]
    assert [p.index for p in parts] == [0, 1, 2, 3] and b"".join(p.data for p in parts) == data
    assert isinstance(out[-1], cm.EntryDone) and book.upload.done_sent
    book.receive(cm.EntryReceived(entry=31, community=CIRCLE, challenge="rose-sketch-w1", title="my rose",
                                  status="pending", width=10, height=10))
    assert book.upload is None and book.my_entry().status == "pending"
    assert book.receive(cm.EntryModerated(entry=31, status="rejected", reason="blurry")) == \
        "your entry was rejected (blurry)"
    assert panel_text(book, "your last selfie").entry == "Your entry 'my rose': rejected: blurry"


def test_a_big_upload_is_paced_at_the_part_rate():
    upload = Upload(CIRCLE, "c", "t", bytes(3072 * 400))
    upload.ready(cm.UploadReady(upload=1, part_bytes=3072, parts=400))
    pacer = Pacer()
    first = pacer.due(0.0, upload)
    second = sum(len(pacer.due(k / 20, upload)) for k in range(1, 21))  # a second of frames at 20 fps
    assert len(first) == 60 and second == pytest.approx(150, abs=2)  # the burst, then 150 a second (the server: 200)


def test_entry_files_the_server_would_refuse_are_refused_first():
    check_entry_file(b"\xff\xd8\xff\xe0 jpeg", "a.jpg")
    for data, why in ((b"", "empty"), (b"GIF89a", "not a PNG or JPEG"), (b"\x89PNG\r\n\x1a\n" + bytes(5 * 2**20), "MiB")):
        with pytest.raises(EntryFileError, match=why):
            check_entry_file(data, "x")


def test_ballots_approval_picks_and_ranked_order_and_one_vote():
    book = CommunityBook(community=CIRCLE)
    book.receive(community_state("voting"))
    book.receive(gallery("rose-sketch-w1", "voting", [(1, True, None), (2, False, None), (3, False, None)]))
    assert [e.entry for e in book.votable()] == [2, 3]  # not my own
    assert book.cast() == "pick at least one entry first"
    book.toggle(3)
    book.toggle(2)
    assert ballot_mark(book, 3) == "yes" and ballot_mark(book, 1) == ""
    assert book.cast() is None and book.cast() == "your ballot is cast already"
    assert cm.Vote(community=CIRCLE, challenge="rose-sketch-w1", choices=[3, 2]) in sent(book)
    book.receive(cm.VoteRecorded(community=CIRCLE, challenge="rose-sketch-w1", choices=[2, 3]))
    assert book.voted and "counted" in panel_text(book, "x").gallery_hint
    ranked = CommunityBook(community=CIRCLE)
    ranked.receive(community_state("voting").model_copy(update={"challenges": [cm.ChallengeInfo(
        id="rose-sketch-w1", title="S", phase="voting", ballot="ranked", next_at=None)]}))
    ranked.receive(gallery("rose-sketch-w1", "voting", [(2, False, None), (3, False, None)], ballot="ranked"))
    ranked.toggle(3)
    ranked.toggle(2)
    assert [ballot_mark(ranked, e) for e in (2, 3)] == ["2", "1"]
    assert "order of preference" in panel_text(ranked, "x").gallery_hint


def test_the_panel_reads_membership_loyalty_residency_and_results():
    book = CommunityBook(community=CIRCLE)
    assert panel_text(book, "x").membership == "asking the server..."
    book.receive(community_state("draft", status="none"))
    text = panel_text(book, "x")
    assert text.can_join and text.membership.startswith("Not a member") and text.loyalty == ""
    assert text.residency == "Next residency: Golden Hour encore, Sun 6 Dec 20:00"
    assert tier_label(book) == ""
    assert book.receive(community_state("closed", status="member", tier="gold")) == "welcome to Maison Lumen Circle"
    assert tier_label(book) == "Gold"
    text = panel_text(book, "x")
    assert not text.can_join and text.loyalty == "Gold  |  240 points  |  streak 2 weeks"
    book.receive(gallery("rose-sketch-w1", "closed", [(4, False, 2), (7, False, 1)]))
    assert panel_text(book, "x").results == ["#1  entry 7  by author 7", "#2  entry 4  by author 4"]
    assert book.join("no") == "an invite code is 4-32 letters, digits, - or _"
    assert when("2026-12-13T22:00:00+08:00") == "Sun 13 Dec 22:00"


# ---- the featured wall ----------------------------------------------------------------------------
def test_pictures_hang_left_to_right_inside_the_wall_keeping_their_aspect():
    slots = layout(11.0, 4.6, [1.0, 2.0, 0.5, 1.0, 1.0])
    assert len(slots) == 5 and all(-5.5 < s.x0 < s.x1 < 5.5 for s in slots)
    assert [s.x0 for s in slots] == sorted(s.x0 for s in slots)
    assert all(0.7 < s.label_z < s.z0 < s.z1 <= 4.6 - 0.7 for s in slots)
    for slot, aspect in zip(slots, [1.0, 2.0, 0.5]):
        assert (slot.x1 - slot.x0) / (slot.z1 - slot.z0) == pytest.approx(aspect)
    assert layout(8, 4, []) == []


def test_the_walls_face_and_viewing_spot_face_the_entrance():
    scene = load_scene(ANNIVERSARY)
    wall = scene.venue.featured_wall
    assert wall is not None and scene.event.community == CIRCLE
    right = face_to_world(wall, 1.0, 2.0)
    assert right[0] > wall.at[0] and right[2] == 2.0  # facing the entrance, a viewer's right is +x
    x, y = viewing_spot(wall, scene.venue.size)
    assert (x, y) == pytest.approx((wall.at[0], wall.at[1] - 6.0))
    assert camera_yaw_deg(wall) == 0.0  # the orbit camera looks towards +y
    assert route(scene, (35.0, 20.0), (x, y)) == [(x, y)]
    studio = load_scene(RESIDENCY)
    assert studio.venue.featured_wall is not None
    around = route(studio, (10.0, 5.0), (10.0, 13.0))  # from the benches across the runway's short arm
    assert len(around) >= 2 and around[-1] == (10.0, 13.0) and all(p[0] > 15 for p in around[:-1])


def test_a_featured_wall_off_the_floor_or_on_the_runway_is_refused_with_its_key_path():
    text = ANNIVERSARY.read_text()
    with pytest.raises(SceneError, match=r"venue.featured_wall: the featured wall reaches outside the 60 x 40 m floor"):
        parse_scene(text.replace("at = [42.5, 39.75]", "at = [58, 39]"), "x.toml")
    with pytest.raises(SceneError, match=r"venue.featured_wall: the featured wall stands on the runway"):
        parse_scene(text.replace("at = [42.5, 39.75]", "at = [30, 30]"), "x.toml")
    with pytest.raises(SceneError, match=r"venue.featured_wall.width"):
        parse_scene(text.replace("width = 11\n", "width = 1\n"), "x.toml")


# ---- the tour guide ---------------------------------------------------------------------------------
def guided_state() -> ClientState:
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    st.receive(decode_server(_frame_bytes([1001], [[40, 25]])), 0.0)
    return st


def kinds(actions) -> list[tuple[str, object]]:
    return [(a.kind, a.name or (a.seq if a.seq >= 0 else None)) for a in actions]


def test_tour_guide_types_its_invite_code_then_presses_join():
    st = guided_state()
    guide = CommunityGuide(invite="abcd1234")
    pilot = Autopilot(guide=guide)
    st.community.receive(community_state("draft", status="none"))
    assert guide.step(st, 0.0, photo=False) == []
    actions = guide.step(st, 5.0, photo=False)
    assert kinds(actions) == [("panel", "open"), ("type_invite", "abcd1234")]
    assert "join" not in [a.kind for a in guide.step(st, 5.0 + TYPE_S - 0.1, photo=False)]
    assert [a.kind for a in guide.step(st, 5.0 + TYPE_S, photo=False)] == ["join"]
    assert guide.step(st, 20.0, photo=False)[-1].name == "close"
    assert pilot.guide is guide


def test_tour_guide_submits_votes_and_answers_a_poll_once_after_a_pause():
    st = guided_state()
    guide = CommunityGuide()
    st.community.receive(community_state("submissions"))
    assert "submit" not in [a.kind for a in guide.step(st, 1.0, photo=False)]
    assert [a.kind for a in guide.step(st, 2.0, photo=True)] == ["panel", "submit"]
    assert "submit" not in [a.kind for a in guide.step(st, 3.0, photo=True)]  # once per challenge
    st.community.receive(community_state("voting"))
    st.community.receive(gallery("rose-sketch-w1", "voting", [(1, True, None), (2, False, None), (3, False, None),
                                                              (4, False, None)]))
    actions = guide.step(st, 10.0, photo=True)
    assert [(a.kind, a.seq) for a in actions if a.kind == "pick"] == [("pick", 2), ("pick", 3)]
    assert "vote" in [a.kind for a in guide.step(st, 13.5, photo=True)]
    st.polls.opened(poll_event("colour"), 20.0)
    assert "poll" not in [a.kind for a in guide.step(st, 20.0 + POLL_AFTER_S - 0.5, photo=True)]
    answer = [a for a in guide.step(st, 20.0 + POLL_AFTER_S, photo=True) if a.kind == "poll"]
    assert len(answer) == 1 and 0 <= answer[0].seq < 3
    assert "poll" not in [a.kind for a in guide.step(st, 30.0, photo=True)]


def test_tour_guide_walks_up_to_the_wall_when_new_entries_hang_there_and_holds_still():
    st = guided_state()
    guide = CommunityGuide()
    pilot = Autopilot(guide=guide)
    st.community.receive(community_state("closed"))
    st.community.receive(cm.FeaturedEvent(community=CIRCLE, challenge="rose-sketch-w1",
                                          entries=[cm.FeaturedEntry(entry=1, title="t", by="b", rank=1)]))
    st.community.receive(cm.EntryImage(entry=1, image=b"\xff\xd8\xff"))
    actions = pilot.step(st, 50.0)
    moves = [a for a in actions if a.kind == "move"]
    assert moves and (moves[0].x, moves[0].y) == pytest.approx((42.5, 33.75))
    assert guide.busy(50.5) and not [a for a in pilot.step(st, 50.5) if a.kind in ("move", "selfie")]
    st.crowd.copy.pos[st.crowd.copy.ids == st.you] = (42.5, 34.0)  # arrived
    assert "look_wall" in [a.kind for a in pilot.step(st, 60.0)]
    assert guide.busy(60.0 + LOOK_S - 1)
    assert "look_done" in [a.kind for a in pilot.step(st, 60.0 + LOOK_S)]
    assert not guide.busy(60.0 + LOOK_S + 1)


def test_a_server_without_the_community_is_asked_once_and_the_wall_stays_away():
    st = ClientState()
    st.receive(_welcome(ANNIVERSARY.read_text()), 0.0)
    assert st.community.community == CIRCLE and sent(st.community) == [cm.CommunityAsk(community=CIRCLE)]
    st.receive({"type": "error", "code": "no_store", "message": "this server runs no communities",
                "ref": "community"}, 0.5)
    assert st.community.unserved
    st.community.refresh()
    assert sent(st.community, 200.0) == []
    assert panel_text(st.community, "x").membership == "This server does not run the event's community."


def test_the_panel_gives_the_challenge_brief_while_it_takes_entries_and_leaves_room_for_the_gallery_later():
    brief = ("Draw a look inspired by the rose silk gown Teddy Lumen wore in the Golden Hour walk: keep one element "
             "of the rose (its colour, its petals, its drape) and make the rest your own. Any medium.")
    book = CommunityBook(community=CIRCLE)
    state = community_state("submissions")
    book.receive(state.model_copy(update={"challenges": [state.challenges[0].model_copy(update={"brief": brief})]}))
    shown = panel_text(book, "x").brief
    assert shown.startswith("Draw a look inspired by the rose silk gown") and shown.endswith("...")
    assert len(shown) <= 150
    voting = community_state("voting")
    book.receive(voting.model_copy(update={"challenges": [voting.challenges[0].model_copy(update={"brief": brief})]}))
    assert panel_text(book, "x").brief == ""
