"""Load-test bots in the event's community: they answer polls once, join with invite codes, submit a
sketch of their own and vote; the report counts what they sent and what the server confirmed.

The decisions are checked without a socket; the whole loop against a real server on 127.0.0.1
serving the Maison Lumen Circle, with a host driving it."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
import time
from collections import Counter

import msgpack
import numpy as np
import pytest
from PIL import Image
from test_community_server import CIRCLE, TOKEN, ask, host, invite, run

from showroom.bots.community import Participant
from showroom.bots.community_plan import Plan, draw_plan, parse_acts
from showroom.bots.invites import InvitePool, read_invites
from showroom.bots.preferences import ballot, poll_option
from showroom.bots.sketch import MAX_ENTRY_BYTES, sketch_png
from showroom.bots.stats import Stats
from showroom.cli import main
from showroom.protocol import community as cm
from showroom.protocol.codec import encode
from showroom.protocol.server_messages import ErrorReply

LUMEN = ("#1c2340", "#d4af37", "#f6f1e7")
CHALLENGE = "rose-sketch-w1"
"""The circle's first weekly sketch challenge (approval ballot)."""
QUICK = "0.2:1"
"""Think time for the tests: people who answer within a second."""


def participant(plan: Plan, pool: InvitePool | None = None, name: str = "bot-7") -> tuple[Participant, list]:
    """A participant whose sent messages are collected (decoded back to maps)."""
    sent: list[dict] = []
    acts = Participant(name, plan, Stats(), random.Random(7), pool or InvitePool(),
                       lambda m: sent.append(msgpack.unpackb(encode(m), raw=False)), lambda: LUMEN)
    return acts, sent


def poll_event(poll: str = "p-1", options: int = 3, community: str | None = None) -> cm.PollState:
    return cm.PollState(poll=poll, question="Which colour?", options=[f"o{k}" for k in range(options)],
                        results="live", closes_at=None, community=community)


# ---- decisions, without a socket --------------------------------------------------------------
def test_a_poll_is_answered_once_after_a_human_pause():
    acts, sent = participant(Plan(polls=True, think_s=(1.0, 8.0)))
    acts.receive(poll_event(), 100.0)
    acts.receive(poll_event(), 100.5)  # the same poll again (a frame event, then the personal one at join)
    acts.due(100.99)
    assert sent == []  # nobody answers within a second of the question
    acts.due(108.0)
    assert [m["type"] for m in sent] == ["poll_answer"] and sent[0]["poll"] == "p-1" and 0 <= sent[0]["option"] < 3
    acts.receive(cm.PollAnswered(poll="p-1", option=sent[0]["option"]), 109.0)
    assert acts.stats.community == Counter(polls_seen=1, poll_answers_sent=1, poll_answers_confirmed=1)


def test_a_community_poll_is_left_to_members():
    acts, sent = participant(Plan(polls=True))
    acts.receive(poll_event("p-2", community=CIRCLE), 0.0)
    acts.due(60.0)
    assert sent == []  # a non-member would only be refused


def test_the_crowd_leans_to_a_favourite_answer_but_uses_them_all():
    rng = random.Random(3)
    counts = Counter(poll_option("p-colour", 4, rng) for _ in range(2000))
    assert set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) > 1.25 * 2000 / 4  # a chart with a winner, not four equal bars
    assert poll_option("p-colour", 4, random.Random(1)) == poll_option("p-colour", 4, random.Random(1))


def test_a_ballot_holds_approved_entries_of_others_and_ranks_at_most_eight():
    entries = [cm.GalleryEntry(entry=k, title=f"t{k}", by=f"bot-{k}", status="approved" if k % 5 else "pending",
                               mine=k == 3, width=180, height=240) for k in range(1, 16)]
    for kind in ("approval", "ranked"):
        gallery = cm.Gallery(community=CIRCLE, challenge=CHALLENGE, phase="voting", ballot=kind, entries=entries,
                             voted=False)
        for seed in range(30):
            choices = ballot(gallery, random.Random(seed))
            assert 1 <= len(choices) <= 8 and len(set(choices)) == len(choices)
            assert 3 not in choices and not {5, 10, 15} & set(choices)  # not mine, nothing pending
    only_mine = cm.Gallery(community=CIRCLE, challenge=CHALLENGE, phase="voting", ballot="approval",
                           entries=entries[2:3], voted=False)
    assert ballot(only_mine, random.Random(1)) == []


def state(status: str, phase: str = "draft", entry: str = "open") -> cm.CommunityState:
    return cm.CommunityState(community=CIRCLE, name="Circle", entry=entry, members=3, cap=500, status=status,
                             role="member" if status == "member" else None, tier=None, points=0.0, streak=0,
                             residency=None, polls=[],
                             challenges=[cm.ChallengeInfo(id=CHALLENGE, title="Sketch", phase=phase, ballot="ranked",
                                                          next_at=None)])


def test_a_member_submits_one_sketch_in_parts_and_casts_one_ballot():
    acts, sent = participant(Plan(join=True, submit=True, vote=True, think_s=(0.5, 1.0)))
    acts.welcomed(CIRCLE, 0.0)
    acts.receive(state("none"), 0.1)  # an open community: no code needed
    acts.receive(state("member", "submissions"), 0.2)
    acts.receive(cm.ChallengePhase(community=CIRCLE, challenge=CHALLENGE, phase="submissions"), 0.3)
    acts.due(2.0)
    assert [m["type"] for m in sent] == ["community", "community_join", "entry_start"]
    assert "invite" not in sent[1] or sent[1]["invite"] is None
    size = sent[2]["size"]
    acts.receive(cm.UploadReady(upload=4, part_bytes=1000, parts=-(-size // 1000)), 2.1)
    parts = [m for m in sent if m["type"] == "entry_part"]
    assert b"".join(p["data"] for p in parts)[:8] == b"\x89PNG\r\n\x1a\n" and sum(len(p["data"]) for p in parts) == size
    assert [p["index"] for p in parts] == list(range(len(parts))) and sent[-1] == {"type": "entry_done", "upload": 4}
    acts.receive(cm.EntryReceived(entry=9, community=CIRCLE, challenge=CHALLENGE, title="t", status="pending",
                                  width=180, height=240), 2.2)
    acts.receive(cm.ChallengePhase(community=CIRCLE, challenge=CHALLENGE, phase="voting"), 3.0)
    acts.receive(cm.ChallengePhase(community=CIRCLE, challenge=CHALLENGE, phase="voting"), 3.1)
    acts.due(5.0)
    assert [m["type"] for m in sent[-1:]] == ["gallery"]
    entries = [cm.GalleryEntry(entry=k, title="t", by="b", status="approved", mine=k == 9, width=1, height=1)
               for k in (7, 8, 9)]
    gallery = cm.Gallery(community=CIRCLE, challenge=CHALLENGE, phase="voting", ballot="ranked", entries=entries,
                         voted=False)
    acts.receive(gallery, 5.1)
    acts.receive(gallery, 5.2)  # asked once, voted once
    votes = [m for m in sent if m["type"] == "vote"]
    assert len(votes) == 1 and set(votes[0]["choices"]) == {7, 8}
    acts.receive(cm.VoteRecorded(community=CIRCLE, challenge=CHALLENGE, choices=votes[0]["choices"]), 5.3)
    assert acts.stats.community == Counter(join_attempts=1, members_joined=1, entries_sent=1, entries_confirmed=1,
                                           votes_sent=1, votes_confirmed=1)


def test_a_refused_invite_is_dropped_and_the_bot_joins_as_a_plain_visitor():
    pool = InvitePool(["spent-code-0001"])
    acts, _ = participant(Plan(join=True), pool)
    assert acts.join_code(7) == "spent-code-0001"
    again, code = acts.join_refused(ErrorReply(code="refused", message="invite_used_up: it admitted 20", ref="join"),
                                    7)
    assert (again, code) == (True, None) and pool.codes == []
    assert acts.stats.community_refused == Counter({"join: invite_used_up": 1})
    assert acts.join_refused(ErrorReply(code="no_store", message="no communities", ref="join"), 7) == (False, None)


def test_an_invite_a_member_is_handed_is_shared_with_the_others():
    pool = InvitePool()
    acts, _ = participant(Plan(join=True), pool)
    acts.receive(cm.InviteIssued(community=CIRCLE, code="friend-code-01", max_uses=5,
                                 expires_at="2026-12-02T18:45:26Z"), 0.0)
    assert pool.take(3) == "friend-code-01" and acts.stats.community["invites_received"] == 1


def test_shares_parse_and_plans_follow_them():
    assert parse_acts("") == {}
    assert parse_acts("poll:0.5,submit") == {"join": 1.0, "poll": 0.5, "submit": 1.0}
    for bad, words in (("dance:1", "unknown community action 'dance'"), ("vote:2", "from 0 to 1")):
        with pytest.raises(ValueError, match=words):
            parse_acts(bad)
    rng = random.Random(5)
    plans = [draw_plan(parse_acts("poll:0.5,submit:0.25"), rng) for _ in range(800)]
    assert 330 < sum(p.polls for p in plans) < 470 and 140 < sum(p.submit for p in plans) < 260
    assert all(p.join and not p.vote for p in plans)


def test_entry_sketches_are_small_distinct_pictures_in_the_brand_palette():
    files = [sketch_png(f"bot-{k}/{CHALLENGE}", LUMEN) for k in range(24)]
    assert all(f[:8] == b"\x89PNG\r\n\x1a\n" and len(f) <= MAX_ENTRY_BYTES for f in files)
    assert len({hashlib.sha256(f).digest() for f in files}) == 24
    for data in files[:6]:
        pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).reshape(-1, 3)
        colours, counts = np.unique(pixels, axis=0, return_counts=True)
        assert counts[(colours == (0x1c, 0x23, 0x40)).all(axis=1)].sum() > 200  # the brand's ink draws the figure
        assert len(colours) >= 3 and np.sort(counts)[-2] > 0.05 * len(pixels)  # a dress, not a blank page


def test_an_invite_file_and_bad_options_are_one_line_errors(tmp_path, capsys):
    codes = tmp_path / "codes.txt"
    codes.write_text("# wave 1\nabcd-efgh-ijkl\n\nmnop_qrst_uvwx  # for friends\n")
    assert read_invites(codes) == ("abcd-efgh-ijkl", "mnop_qrst_uvwx")
    codes.write_text("good-code-001\nnot a code\n")
    for args, words in ((["--invite-file", str(codes)], f"{codes}:2: 'not a code' is not an invite code"),
                        (["--community-mix", "dance:1"], "unknown community action 'dance'"),
                        (["--think-s", "8:1"], "--think-s: expected 0 <= MIN <= MAX"),
                        (["--invite", "x"], "--invite: 'x' is not an invite code")):
        assert main(["loadtest", "ws://127.0.0.1:1/", "--clients", "1", *args]) == 1
        assert words in capsys.readouterr().err


# ---- against a real server ----------------------------------------------------------------------
async def loadtest(server, tmp_path, *args: str) -> tuple[int, dict, str]:
    """Run ``showroom loadtest`` (its own thread and event loop) against the server; (exit code, report, summary)."""
    path = tmp_path / f"report-{time.monotonic_ns()}.json"
    out = io.StringIO()

    def go() -> int:
        from contextlib import redirect_stdout

        with redirect_stdout(out):
            return main(["loadtest", server.url, "--ramp", "50", "--seed", "4", "--think-s", QUICK, "--report",
                         str(path), *args])

    rc = await asyncio.to_thread(go)
    return rc, json.loads(path.read_text()), out.getvalue()


async def until(test, what: str, limit_s: float = 8.0):
    """Wait (bounded) until ``test()`` is truthy; its value."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited {limit_s:.0f} s for {what}")


def test_bots_answer_an_open_poll_and_a_new_one_once_each(tmp_path):
    bots = 6

    async def scenario(server):
        boss = await host(server)
        early = (await ask(boss, {"type": "host_poll", "question": "Which look opens the show?",
                                  "options": ["rose", "gold", "midnight"]}, "poll"))["poll"]
        run_ = asyncio.ensure_future(loadtest(server, tmp_path, "--clients", str(bots), "--duration", "4",
                                              "--community-mix", "poll:1", "--behaviour", "watch"))
        await until(lambda: server.event.visitors == bots, "the bots to join")
        later = (await ask(boss, {"type": "host_poll", "question": "Encore?", "options": ["yes", "no"],
                                  "results": "on_close"}, "poll"))["poll"]
        store = server.event.communities.store
        await until(lambda: sum(store.tally(early)) == bots and sum(store.tally(later)) == bots, "every answer")
        for poll in (early, later):
            closed = await ask(boss, {"type": "host_poll_close", "poll": poll}, "poll")
            assert sum(closed["counts"]) == bots, closed  # one answer per bot, however often it saw the poll
        rc, report, summary = await run_
        assert rc == 0, report["thresholds"]
        assert report["community"]["polls"] == {"seen": 2 * bots, "answers_sent": 2 * bots,
                                                "answers_confirmed": 2 * bots}
        assert report["community"]["refused"] == {}
        assert f"{2 * bots} seen, {2 * bots} answers sent, {2 * bots} confirmed" in summary

    run(scenario, tmp_path / "data")


def test_bots_with_an_invite_join_submit_sketches_and_vote_in_the_challenge(tmp_path):
    bots = 7

    async def scenario(server):
        boss = await host(server)
        code = await invite(boss, uses=5)  # five join with the code; the sixth is refused and drops it
        store = server.event.communities.store
        run_ = asyncio.ensure_future(loadtest(server, tmp_path, "--clients", str(bots), "--duration", "9",
                                              "--invite", code, "--community-mix", "submit:1,vote:1",
                                              "--behaviour", "wander", "--ramp", "10"))
        started = time.monotonic()
        await until(lambda: server.event.visitors == bots and store.count(CIRCLE) == 5, "the bots to join")
        await asyncio.sleep(0.3)  # their `community` answers (all in draft) come back
        assert (await ask(boss, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                                 "phase": "submissions"}, "host_ok"))["type"] == "host_ok"
        await until(lambda: len(store.entries(CIRCLE, CHALLENGE)) == 5, "five entries")
        listed = await ask(boss, {"type": "host_entries", "community": CIRCLE, "challenge": CHALLENGE}, "gallery")
        entries = listed["entries"]
        assert sorted(e["by"] for e in entries) == sorted({e["by"] for e in entries})  # one entry per bot
        images = []
        for entry in entries[:3]:
            image = await ask(boss, {"type": "entry_image", "entry": entry["entry"]}, "entry_image")
            images.append(image["image"])
        assert len(set(images)) == 3  # different sketches, not one picture three times
        assert (await ask(boss, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                                 "phase": "review"}, "host_ok"))["type"] == "host_ok"
        for k, entry in enumerate(entries):
            await asyncio.sleep(0.11)  # a host's ten messages a second
            assert (await ask(boss, {"type": "host_moderate", "entry": entry["entry"], "approve": k > 0},
                              "host_ok"))["type"] == "host_ok"
        assert (await ask(boss, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                                 "phase": "voting"}, "host_ok"))["type"] == "host_ok"
        ballots = await until(lambda: len(store.ballots(CIRCLE, CHALLENGE)) == 5 and store.ballots(CIRCLE, CHALLENGE),
                              "every member's ballot")
        approved = {e["entry"] for e in entries[1:]}
        assert all(set(b.choices) <= approved for b in ballots)
        assert (await ask(boss, {"type": "host_phase", "community": CIRCLE, "challenge": CHALLENGE,
                                 "phase": "closed"}, "host_ok"))["type"] == "host_ok"
        assert (await ask(boss, {"type": "host_feature", "community": CIRCLE, "challenge": CHALLENGE},
                          "host_ok"))["type"] == "host_ok"
        assert time.monotonic() - started < 8.5, "the loop outlasted the bots' hold"
        rc, report, summary = await run_
        assert rc == 0, report["thresholds"]
        community = report["community"]
        assert community["members"] == {"join_attempts": 6, "joined": 5, "codes_issued": 0, "invites_received": 0}
        assert community["entries"] == {"sent": 5, "confirmed": 5, "approved": 4, "rejected": 1, "featured": 4}
        assert community["votes"] == {"sent": 5, "confirmed": 5, "nothing_to_vote_for": 0}
        assert community["refused"] == {"join: invite_used_up": 1}  # the seventh no longer tried the spent code
        assert report["joins"]["ok"] == bots  # the last two came in as plain visitors
        assert "community refused join: invite_used_up 1" in summary

    run(scenario, tmp_path / "data")


def test_with_the_host_token_the_run_issues_its_own_invites_and_members_answer_a_members_poll(tmp_path):
    bots = 4

    async def scenario(server):
        boss = await host(server)
        store = server.event.communities.store
        run_ = asyncio.ensure_future(loadtest(server, tmp_path, "--clients", str(bots), "--duration", "4",
                                              "--host-token", TOKEN, "--community-mix", "poll:1",
                                              "--behaviour", "watch"))
        await until(lambda: server.event.visitors == bots and store.count(CIRCLE) == bots, "the bots to join")
        poll = (await ask(boss, {"type": "host_poll", "question": "Which sketch next week?",
                                 "options": ["petals", "drape"], "community": CIRCLE}, "poll"))["poll"]
        await until(lambda: sum(store.tally(poll)) == bots, "the members' answers")
        rc, report, _ = await run_
        assert rc == 0, report["thresholds"]
        community = report["community"]
        assert community["members"]["joined"] == bots and community["members"]["codes_issued"] == 1
        assert community["polls"]["answers_confirmed"] == bots
        assert community["refused"] == {}
        assert len(store.invites(CIRCLE)) == 1  # one code admits twenty to the circle
        rc, report, _ = await loadtest(server, tmp_path, "--clients", "1", "--duration", "1", "--host-token", "wrong",
                                       "--community-mix", "poll:1")
        assert rc == 0 and report["joins"]["ok"] == 1  # the bot came as a plain visitor
        assert report["community"]["refused"] == {"host_invite: bad_token": 1}

    run(scenario, tmp_path / "data")
