"""Communities at a live event, over real sockets on 127.0.0.1: invites and the member cap under a
race, members-only shows, live polls in every shard, and a whole challenge from entries to
featured awards."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import time
from typing import Any

import msgpack
import numpy as np
import websockets
from conftest import ANNIVERSARY, ROOT
from PIL import Image
from wsclient import TIMEOUT_S, Client

from server.net.app import start_server
from showroom.community import load_community
from showroom.scene import parse_scene

TOKEN = "community-host-token"
CIRCLE = "maison-lumen-circle"
COMMUNITIES = [load_community(ROOT / "communities" / f"{name}.toml") for name in (CIRCLE, "weekend-residency-club")]


def scene_text(capacity: int = 1500, members_only: bool = False) -> str:
    """The anniversary scene (an event of the Maison Lumen Circle), for members only if asked."""
    text = ANNIVERSARY.read_text().replace("shard_capacity = 1500", f"shard_capacity = {capacity}", 1)
    link = f'community = "{CIRCLE}"\n'
    assert link in text
    return text.replace(link, link + ("members_only = true\n" if members_only else ""), 1)


def run(scenario, data_dir, *, capacity: int = 1500, members_only: bool = False, limit_s: float = 90.0):
    """Start a server with the example communities and a data directory; run ``scenario(server)``."""
    text = scene_text(capacity, members_only)

    async def main():
        server = await start_server(parse_scene(text, "show.toml"), scene_text=text, port=0, host_token=TOKEN,
                                    data_dir=data_dir, communities=COMMUNITIES)
        try:
            return await asyncio.wait_for(scenario(server), limit_s)
        finally:
            await server.stop()

    return asyncio.run(main())


async def host(server) -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join("stage", role="host", token=TOKEN)
    assert welcome["type"] == "welcome", welcome
    return client


async def ask(client: Client, message: dict[str, Any], *answers: str) -> dict[str, Any]:
    """Send a message and wait for its answer (one of ``answers`` or an error)."""
    await client.send(message)
    return await client.next_message(lambda m: m["type"] in (*answers, "error"))


async def invite(boss: Client, uses: int = 20, days: float | None = None) -> str:
    message = {"type": "host_invite", "community": CIRCLE, "max_uses": uses}
    if days is not None:
        message["days"] = days
    answer = await ask(boss, message, "invite")
    assert answer["type"] == "invite", answer
    return answer["code"]


async def first_answer(url: str, join: dict[str, Any]) -> dict[str, Any]:
    """Open a connection, send ``join`` and return the first message the server answers with."""
    async with websockets.connect(url, compression=None, max_size=2**22, open_timeout=TIMEOUT_S) as ws:
        await ws.send(msgpack.packb(join))
        return msgpack.unpackb(await asyncio.wait_for(ws.recv(), 30), raw=False)


def join_message(name: str, invite: str | None = None, wallet: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "join", "v": 3, "name": name, "role": "visitor"}
    if invite:
        message["invite"] = invite
    if wallet:
        message["wallet"] = wallet
    return message


# ---- membership --------------------------------------------------------------------------------------
def test_600_racing_joiners_with_valid_invites_leave_exactly_500_members(tmp_path):
    async def scenario(server):
        boss = await host(server)
        codes = []
        for _ in range(30):  # the circle's invites admit 20 each; a host sends 10 messages a second at most
            codes.append(await invite(boss, uses=20))
            await asyncio.sleep(0.11)
        joins = [join_message(f"fan{k}", invite=codes[k % 30]) for k in range(600)]
        answers = await asyncio.gather(*(first_answer(server.url, j) for j in joins))
        welcomed = [a for a in answers if a["type"] == "welcome"]
        refused = [a for a in answers if a["type"] == "error"]
        assert len(welcomed) == 500 and len(refused) == 100
        assert all(a["code"] == "refused" and a["message"].startswith("full:") and a["ref"] == "join" for a in refused)
        store = server.event.communities.store
        assert store.count(CIRCLE) == 500
        assert sum(i.uses for i in store.invites(CIRCLE)) == 500
    run(scenario, tmp_path / "data", limit_s=120)


def test_a_members_only_show_refuses_a_non_member_and_admits_one_with_an_invite(tmp_path):
    async def scenario(server):
        boss = await host(server)
        code = await invite(boss, uses=5)
        refused = await first_answer(server.url, join_message("stranger"))
        assert (refused["type"], refused["code"], refused["ref"]) == ("error", "members_only", "join")
        assert "members of Maison Lumen Circle" in refused["message"]
        member = Client(await websockets.connect(server.url, compression=None, max_size=2**22))
        welcome = await member.join("friend", wallet="friend-wallet-token-0123")
        assert welcome["type"] == "error" and welcome["code"] == "members_only"  # the same connection may try again
        await member.send({**join_message("friend", invite=code, wallet="friend-wallet-token-0123")})
        welcome = await member.next_message(lambda m: m["type"] in ("welcome", "error"))
        assert welcome["type"] == "welcome", welcome
        again = await first_answer(server.url, join_message("friend", wallet="friend-wallet-token-0123"))
        assert again["type"] == "welcome"  # a member now: no invite needed
    run(scenario, tmp_path / "data", members_only=True)


def test_a_used_up_or_expired_invite_is_refused_with_the_reason(tmp_path):
    async def scenario(server):
        boss = await host(server)
        once = await invite(boss, uses=1)
        brief = await invite(boss, uses=10, days=1e-5)  # under a second
        assert (await first_answer(server.url, join_message("first", invite=once)))["type"] == "welcome"
        second = await first_answer(server.url, join_message("second", invite=once))
        assert second["type"] == "error" and second["message"].startswith("invite_used_up:"), second
        await asyncio.sleep(1.2)
        late = await first_answer(server.url, join_message("late", invite=brief))
        assert late["type"] == "error" and late["message"].startswith("invite_expired:"), late
        unknown = await first_answer(server.url, join_message("guess", invite="not-a-code"))
        assert unknown["type"] == "error" and unknown["message"].startswith("unknown_invite:"), unknown
    run(scenario, tmp_path / "data")


def test_a_member_sees_the_community_and_may_invite_friends(tmp_path):
    async def scenario(server):
        boss = await host(server)
        code = await invite(boss)
        ada = await Client.connect(server.url)
        assert (await ada.join("ada"))["type"] == "welcome"
        joined = await ask(ada, {"type": "community_join", "community": CIRCLE, "invite": code}, "community")
        assert joined["type"] == "community" and joined["status"] == "member" and joined["role"] == "member"
        assert (joined["members"], joined["cap"], joined["entry"]) == (1, 500, "invite")
        refused = await ask(ada, {"type": "invite_create", "community": CIRCLE, "max_uses": 3}, "invite")
        assert refused["type"] == "error" and refused["code"] == "forbidden"  # a plain member of the circle may not
        wallet = server.event.member(ada.id).wallet
        promoted = await ask(boss, {"type": "host_role", "community": CIRCLE, "wallet": wallet, "role": "ambassador"},
                             "host_ok")
        assert promoted["type"] == "host_ok", promoted
        issued = await ask(ada, {"type": "invite_create", "community": CIRCLE, "max_uses": 3}, "invite")
        assert issued["type"] == "invite" and issued["max_uses"] == 3
        bob = await Client.connect(server.url)
        await bob.join("bob")
        joined = await ask(bob, {"type": "community_join", "community": CIRCLE, "invite": issued["code"]}, "community")
        assert joined["status"] == "member" and joined["members"] == 2
        refused = await ask(bob, {"type": "community_join", "community": "weekend-residency-club"}, "community")
        assert refused["type"] == "error" and refused["message"].startswith("invite_only:")
    run(scenario, tmp_path / "data")


# ---- polls -----------------------------------------------------------------------------------------
def test_a_live_poll_reaches_both_shards_in_the_same_tick_and_counts_one_answer_per_wallet(tmp_path):
    async def scenario(server):
        visitors = []
        for k in range(4):
            client = await Client.connect(server.url)
            assert (await client.join(f"v{k}", wallet=f"poll-wallet-{k:02d}-0123456"))["type"] == "welcome"
            visitors.append(client)
        assert [v.welcome["shard"] for v in visitors] == [0, 0, 1, 1]
        boss = await host(server)
        started = await ask(boss, {"type": "host_poll", "question": "Which colour for the next drop?",
                                   "options": ["rose", "gold", "midnight"], "results": "live"}, "poll")
        assert started["type"] == "poll" and started["options"] == ["rose", "gold", "midnight"]
        poll = started["poll"]
        seen = []
        for client in (visitors[0], visitors[2]):
            snap = await client.next_frame(lambda s: any(e["type"] == "poll" for e in s.events))
            seen.append(snap.server_time)
        assert seen[0] == seen[1]  # the same event tick (shards count their own ticks; the tick's time is shared)
        for k, client in enumerate(visitors):
            await client.send({"type": "poll_answer", "poll": poll, "option": k % 2})
        for client in visitors:
            await client.next_frame(lambda s, c=client: any(e["type"] == "poll_answered" for e in c.personal))
        twice = await ask(visitors[0], {"type": "poll_answer", "poll": poll, "option": 2})
        assert twice["type"] == "error" and twice["message"].startswith("already_answered:"), twice
        live = await visitors[3].next_frame(lambda s: any(e["type"] == "poll_results" for e in s.events))
        counts = next(e for e in live.events if e["type"] == "poll_results")["counts"]
        assert counts == [2, 2, 0]
        closed = await ask(boss, {"type": "host_poll_close", "poll": poll}, "poll")
        assert closed["type"] == "poll"
        final = await visitors[1].next_frame(lambda s: any(e["type"] == "poll_results" and e["final"]
                                                           for e in s.events))
        assert next(e for e in final.events if e["type"] == "poll_results")["counts"] == [2, 2, 0]
        assert server.event.communities.store.tally(poll) == [2, 2, 0]
    run(scenario, tmp_path / "data", capacity=2)


# ---- a whole challenge ----------------------------------------------------------------------------
CLUB = "weekend-residency-club"
SKETCH = "weekly-sketch-w1"
"""A ranked-ballot challenge of the weekend residency club."""


def png(seed: int, size: int = 48) -> bytes:
    """A small picture, different for every seed."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def upload(client: Client, title: str, data: bytes, declared: int | None = None) -> dict[str, Any]:
    """Upload an entry in parts; the ``entry`` answer or the error."""
    return await client.enter(CLUB, SKETCH, title, data, size=declared or len(data))


async def phase(boss: Client, name: str) -> None:
    assert (await ask(boss, {"type": "host_phase", "community": CLUB, "challenge": SKETCH, "phase": name},
                      "host_ok"))["type"] == "host_ok"


async def club_members(server, boss: Client, count: int) -> list[Client]:
    codes = []
    for _ in range(-(-count // 10)):  # the club's invites admit 10 each
        answer = await ask(boss, {"type": "host_invite", "community": CLUB, "max_uses": 10}, "invite")
        codes.append(answer["code"])
        await asyncio.sleep(0.11)
    members = []
    for k in range(count):
        client = await Client.connect(server.url)
        assert (await client.join(f"artist{k:02d}"))["type"] == "welcome"
        joined = await ask(client, {"type": "community_join", "community": CLUB, "invite": codes[k // 10]},
                           "community")
        assert joined["type"] == "community" and joined["status"] == "member", joined
        members.append(client)
    return members


def ranked_ballots(draw, voters: list[int], authors: dict[int, int], entries: list[int]) -> dict[int, list[int]]:
    """Each voter's ranking of up to eight entries, none of their own (drawn by hypothesis)."""
    from hypothesis import strategies as st

    ballots = {}
    for voter in voters:
        others = [e for e in entries if authors[e] != voter]
        order = draw(st.permutations(others))
        ballots[voter] = list(order[:draw(st.integers(1, min(8, len(order))))])
    return ballots


def test_a_whole_ranked_challenge_from_entries_to_featured_awards(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from test_ballots import reference_irv

    from server.storage.ledger_files import audit_dir

    runs = iter(range(100))

    @given(st.data())
    @settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    def one_season(data):
        data_dir = tmp_path / f"season{next(runs)}"

        async def scenario(server):
            boss = await host(server)
            members = await club_members(server, boss, 30)
            await phase(boss, "submissions")
            too_big = await ask(members[0], {"type": "entry_start", "community": CLUB, "challenge": SKETCH,
                                             "title": "huge", "size": 5 * 2**20}, "upload")
            assert too_big["type"] == "error" and too_big["code"] == "invalid" and "size" in too_big["message"]
            not_an_image = await upload(members[1], "a text file", b"just some words, not a picture " * 20)
            assert not_an_image["type"] == "error" and not_an_image["message"].startswith("bad_image:")
            kept = {}
            for k, member in enumerate(members[2:], start=2):
                answer = await upload(member, f"Feathers #{k}", png(k))
                assert answer["type"] == "entry" and answer["status"] == "pending", answer
                kept[answer["entry"]] = k
            store = server.event.communities.store
            assert len(store.entries(CLUB, SKETCH)) == 28  # the two refused files left nothing behind
            once_more = await upload(members[2], "a second one", png(99))
            assert once_more["type"] == "error" and once_more["message"].startswith("too_many_entries:")

            await phase(boss, "review")
            rejected = sorted(kept)[:2]
            for entry in sorted(kept):
                answer = await ask(boss, {"type": "host_moderate", "entry": entry, "approve": entry not in rejected,
                                          **({"reason": "not the week's prompt"} if entry in rejected else {})},
                                   "host_ok")
                assert answer["type"] == "host_ok", answer
                await asyncio.sleep(0.11)
            told = members[kept[rejected[0]]]
            await told.next_frame(lambda s: any(e["type"] == "entry_moderated" for e in told.personal))
            note = next(e for e in told.personal if e["type"] == "entry_moderated")
            assert (note["status"], note["reason"]) == ("rejected", "not the week's prompt")
            approved = sorted(set(kept) - set(rejected))

            await phase(boss, "voting")
            gallery = await ask(members[5], {"type": "gallery", "community": CLUB, "challenge": SKETCH}, "gallery")
            assert {e["entry"] for e in gallery["entries"] if e["status"] == "approved"} == set(approved)
            assert all(e["rank"] is None for e in gallery["entries"])  # no result shows before the close
            own = await ask(members[5], {"type": "vote", "community": CLUB, "challenge": SKETCH,
                                         "choices": [next(e for e, k in kept.items() if k == 5)]}, "vote_recorded")
            assert own["type"] == "error" and own["message"].startswith("own_entry:")
            ballots = ranked_ballots(data.draw, list(range(30)), {e: kept[e] for e in approved}, approved)
            for voter, ballot in ballots.items():
                answer = await ask(members[voter], {"type": "vote", "community": CLUB, "challenge": SKETCH,
                                                    "choices": ballot}, "vote_recorded")
                assert answer["type"] == "vote_recorded" and answer["choices"] == ballot, answer
            again = await ask(members[3], {"type": "vote", "community": CLUB, "challenge": SKETCH,
                                           "choices": ballots[3]}, "vote_recorded")
            assert again["type"] == "error" and again["message"].startswith("already_voted:")
            early = await ask(boss, {"type": "host_feature", "community": CLUB, "challenge": SKETCH}, "host_ok")
            assert early["type"] == "error" and early["message"].startswith("not_closed:")

            await phase(boss, "closed")
            assert (await ask(boss, {"type": "host_feature", "community": CLUB, "challenge": SKETCH},
                              "host_ok"))["type"] == "host_ok"
            snap = await members[0].next_frame(lambda s: any(e["type"] == "featured" for e in s.events))
            featured = next(e for e in snap.events if e["type"] == "featured")["entries"]
            expected, _ = reference_irv([[str(e) for e in b] for b in ballots.values()], [str(e) for e in approved],
                                        top=3)
            assert [str(f["entry"]) for f in featured] == expected and [f["rank"] for f in featured] == [1, 2, 3]
            winners = {server.event.member(members[kept[f["entry"]]].id).wallet for f in featured}
            ledger = server.event.ledger
            for _ in range(100):  # awards are written at the coming ticks
                if all(any(a.entitlement == "challenge-winner" for a in ledger.wallet(w)) for w in winners):
                    break
                await asyncio.sleep(0.05)
            assert all(any(a.entitlement == "challenge-winner" for a in ledger.wallet(w)) for w in winners)
            gallery = await ask(members[5], {"type": "gallery", "community": CLUB, "challenge": SKETCH}, "gallery")
            assert sorted(e["rank"] for e in gallery["entries"] if e["rank"]) == [1, 2, 3]
        run(scenario, data_dir, limit_s=120)
        problems, entries, _ = audit_dir(data_dir)
        assert problems == [] and entries >= 3
        audit = subprocess.run([sys.executable, "-m", "showroom", "ledger", "audit", "--data-dir", str(data_dir)],
                               capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
        assert audit.returncode == 0, audit.stdout + audit.stderr

    one_season()


# ---- loyalty ---------------------------------------------------------------------------------------
NEAR_TEDDY = 'name = "by-the-east-end"\nat = [34.5, 11.5]\nradius = 1.2\n\n'


def test_a_member_crossing_into_gold_is_told_awarded_and_queues_ahead_for_selfies(tmp_path):
    """A season of engagement before this show left a member 2 points short of Gold; answering a poll
    crosses the line: the member is told, Gold's entitlement is awarded, and its selfie priority
    puts the member ahead of the fans already waiting for Teddy."""
    import datetime as dt

    from server.event.rewards import wallet_key
    from server.storage.community_sqlite import SqliteCommunityStore

    token = "loyal-wallet-token-0123456789"
    wallet = wallet_key(token)
    data_dir = tmp_path / "data"
    store = SqliteCommunityStore(data_dir)
    now = time.time()
    store.join(CIRCLE, wallet, "loyal", cap=500, role="member", invite=None, now=now - 30 * 86400)
    this_monday = dt.datetime.now(COMMUNITIES[0].zone()).replace(hour=12, minute=0) - dt.timedelta(
        days=dt.datetime.now(COMMUNITIES[0].zone()).weekday())
    for week in (1, 2, 3):  # 50 points (attended minutes) in each of the last three weeks: a streak of 3
        at = (this_monday - dt.timedelta(weeks=week)).timestamp()
        store.log(CIRCLE, wallet, "attended_minute", 50, f"attend:earlier-show-{week}:0", at)
    store.log(CIRCLE, wallet, "attended_minute", 848, "attend:the-launch:0", (this_monday - dt.timedelta(weeks=3)).timestamp())
    store.close()  # 998 points: Gold is at 1000

    text = scene_text()
    start, end = text.index("[[venue.spawns]]"), text.index("[[venue.exits]]")
    text = text[:start] + "[[venue.spawns]]\n" + NEAR_TEDDY + text[end:]

    async def main():
        server = await start_server(parse_scene(text, "show.toml"), scene_text=text, port=0, host_token=TOKEN,
                                    data_dir=data_dir, communities=COMMUNITIES)
        try:
            await asyncio.wait_for(scenario(server), 60)
        finally:
            await server.stop()

    async def scenario(server):
        server.event.seek(62.0)  # teddy's selfie session
        loyal = await Client.connect(server.url)
        assert (await loyal.join("loyal", wallet=token))["type"] == "welcome"
        state = await ask(loyal, {"type": "community", "community": CIRCLE}, "community")
        assert (state["status"], state["points"], state["tier"], state["streak"]) == ("member", 998, "silver", 3)
        fans = []
        for k in range(3):  # they queue first
            fan = await Client.connect(server.url)
            await fan.join(f"fan{k}")
            await fan.send({"type": "selfie", "mascot": "teddy"})
            await fan.next_frame(lambda s, c=fan: any(e["type"] == "selfie_queue" for e in c.personal))
            fans.append(fan)
        boss = await host(server)
        poll = (await ask(boss, {"type": "host_poll", "question": "Rose or gold?", "options": ["rose", "gold"]},
                          "poll"))["poll"]
        await loyal.send({"type": "poll_answer", "poll": poll, "option": 1})
        await loyal.next_frame(lambda s: any(e["type"] == "tier" for e in loyal.personal))
        tier = next(e for e in loyal.personal if e["type"] == "tier")
        assert (tier["tier"], tier["community"]) == ("gold", CIRCLE) and "selfie_priority" in tier["perks"]
        await loyal.next_frame(lambda s: any(e["type"] == "awarded" and e["entitlement"] == "gold-circle"
                                             for e in loyal.personal))
        await loyal.send({"type": "selfie", "mascot": "teddy"})
        await loyal.next_frame(lambda s: any(e["type"] == "selfie_queue" for e in loyal.personal))
        place = next(e for e in loyal.personal if e["type"] == "selfie_queue")
        assert place["position"] == 1  # the first fan is in the photo; Gold goes ahead of the other two
        state = await ask(loyal, {"type": "community", "community": CIRCLE}, "community")
        assert (state["points"], state["tier"]) == (1000, "gold")

    asyncio.run(main())


def test_a_community_poll_is_for_members_and_outlives_a_restart(tmp_path):
    """Co-creation between events: a poll of the community, answered by members only, still open
    (with its answers) after the server restarts."""
    data_dir = tmp_path / "data"
    opened: dict[str, Any] = {}

    async def first(server):
        boss = await host(server)
        code = await invite(boss, uses=5)
        member = Client(await websockets.connect(server.url, compression=None, max_size=2**22))
        assert (await member.join("maker", wallet="maker-wallet-token-0123"))["type"] == "welcome"
        joined = await ask(member, {"type": "community_join", "community": CIRCLE, "invite": code}, "community")
        assert joined["status"] == "member"
        poll = await ask(boss, {"type": "host_poll", "question": "Which colour for the spring drop?",
                                "options": ["blush", "sage", "ink"], "results": "on_close", "community": CIRCLE},
                         "poll")
        assert poll["community"] == CIRCLE
        opened["poll"] = poll["poll"]
        outsider = await Client.connect(server.url)
        await outsider.join("passer-by")
        refused = await ask(outsider, {"type": "poll_answer", "poll": poll["poll"], "option": 0})
        assert refused["type"] == "error" and refused["message"].startswith("not_member:")
        await member.send({"type": "poll_answer", "poll": poll["poll"], "option": 1})
        await member.next_frame(lambda s: any(e["type"] == "poll_answered" for e in member.personal))
        state = await ask(member, {"type": "community", "community": CIRCLE}, "community")
        assert state["polls"] == [poll["poll"]]

    async def after_restart(server):
        assert opened["poll"] in server.event.communities.polls.open
        member = Client(await websockets.connect(server.url, compression=None, max_size=2**22))
        assert (await member.join("maker", wallet="maker-wallet-token-0123"))["type"] == "welcome"
        twice = await ask(member, {"type": "poll_answer", "poll": opened["poll"], "option": 2})
        assert twice["type"] == "error" and twice["message"].startswith("already_answered:")
        boss = await host(server)
        closed = await ask(boss, {"type": "host_poll_close", "poll": opened["poll"]}, "poll")
        assert closed["type"] == "poll"
        final = await member.next_frame(lambda s: any(e["type"] == "poll_results" for e in s.events))
        assert next(e for e in final.events if e["type"] == "poll_results")["counts"] == [0, 1, 0]

    run(first, data_dir)
    run(after_restart, data_dir)


# ---- found by a client written from the doc ----------------------------------------------------
def test_a_new_member_below_a_shows_tier_is_answered_and_a_joiner_who_left_gets_no_avatar(tmp_path):
    text = scene_text().replace(f'community = "{CIRCLE}"\n', f'community = "{CIRCLE}"\nmin_tier = "gold"\n', 1)

    async def main():
        server = await start_server(parse_scene(text, "show.toml"), scene_text=text, port=0, host_token=TOKEN,
                                    data_dir=tmp_path / "data", communities=COMMUNITIES)
        try:
            boss = await host(server)
            code = await invite(boss, uses=20)
            answer = await first_answer(server.url, join_message("newcomer", invite=code))
            assert (answer["type"], answer.get("code"), answer.get("ref")) == ("error", "members_only", "join")
            assert "gold tier" in answer["message"]
            for k in range(5):  # joins closed before their membership is written
                ws = await websockets.connect(server.url, compression=None, max_size=2**22)
                await ws.send(msgpack.packb(join_message(f"hasty{k}", invite=code)))
                ws.transport.abort()
            for _ in range(40):
                await asyncio.sleep(0.05)
            assert server.event.visitors == 0 and server.event.communities.store.count(CIRCLE) == 6
        finally:
            await server.stop()

    asyncio.run(main())


def test_entry_rules_a_reviewer_and_a_requester_rely_on(tmp_path):
    async def scenario(server):
        boss = await host(server)
        invite_only = await ask(boss, {"type": "host_requests", "community": CIRCLE}, "requests")
        assert invite_only["type"] == "requests"
        ada = await Client.connect(server.url)
        await ada.join("ada")
        refused = await ask(ada, {"type": "community_request", "community": CIRCLE}, "community")
        assert refused["type"] == "error" and refused["message"].startswith("invite_only:")
        asked = await ask(ada, {"type": "community_request", "community": CLUB}, "community")
        assert asked["status"] == "pending"
        wallet = server.event.member(ada.id).wallet
        assert (await ask(boss, {"type": "host_decide", "community": CLUB, "wallet": wallet, "approve": True},
                          "host_ok"))["type"] == "host_ok"
        await ada.next_frame(lambda s: any(e["type"] == "membership" for e in ada.personal))
        told = next(e for e in ada.personal if e["type"] == "membership")
        assert (told["community"], told["status"], told["role"]) == (CLUB, "member", "member")

        await phase(boss, "submissions")
        first = await upload(ada, "first go", png(1))
        assert first["type"] == "entry"
        await phase(boss, "review")
        looked = await ask(boss, {"type": "entry_image", "entry": first["entry"]}, "entry_image")
        assert looked["type"] == "entry_image" and looked["image"][:3] == b"\xff\xd8\xff"  # the host sees it to judge
        listed = await ask(boss, {"type": "gallery", "community": CLUB, "challenge": SKETCH}, "gallery")
        assert [e["status"] for e in listed["entries"]] == ["pending"]
        assert (await ask(boss, {"type": "host_moderate", "entry": first["entry"], "approve": False,
                                 "reason": "blurred"}, "host_ok"))["type"] == "host_ok"
        await phase(boss, "submissions")
        second = await upload(ada, "second go", png(2))  # a rejected entry gives its place back
        assert second["type"] == "entry", second
        points = server.event.communities.loyalty.points(CLUB, wallet)
        await phase(boss, "review")
        assert (await ask(boss, {"type": "host_moderate", "entry": second["entry"], "approve": True},
                          "host_ok"))["type"] == "host_ok"
        for _ in range(40):  # an entry earns its points once accepted
            if server.event.communities.loyalty.points(CLUB, wallet) > points:
                break
            await asyncio.sleep(0.05)
        entry_points = COMMUNITIES[1].loyalty.points_for("entry")
        assert server.event.communities.loyalty.points(CLUB, wallet) == points + entry_points
        await phase(boss, "submissions")
        started = await ask(ada, {"type": "entry_start", "community": CLUB, "challenge": SKETCH, "title": "late",
                                  "size": 10}, "upload")
        assert started["type"] == "error" and started["message"].startswith("too_many_entries:")
        left = await ask(ada, {"type": "community_leave", "community": CLUB}, "community")
        assert left["status"] == "left"
    run(scenario, tmp_path / "data")


def test_a_visitor_who_arrives_during_a_poll_is_shown_it(tmp_path):
    async def scenario(server):
        boss = await host(server)
        started = await ask(boss, {"type": "host_poll", "question": "Encore?", "options": ["yes", "no"]}, "poll")
        late = await Client.connect(server.url)
        await late.join("late")
        await late.next_frame(lambda s: any(e["type"] == "poll" for e in late.personal))
        shown = next(e for e in late.personal if e["type"] == "poll")
        assert (shown["poll"], shown["options"]) == (started["poll"], ["yes", "no"])
    run(scenario, tmp_path / "data")


def test_a_banned_member_is_told_loses_the_members_only_show_and_cannot_come_back(tmp_path):
    """The host bans a member of the circle (a members-only show): they are told, the community
    says banned, no invite lets them back in (this show or the community), and the ban outlives a
    restart."""
    from server.event.rewards import wallet_key

    data_dir = tmp_path / "data"
    token = "banned-wallet-token-0123456789"

    async def first(server):
        boss = await host(server)
        codes = [await invite(boss, uses=5) for _ in range(2)]
        mal = Client(await websockets.connect(server.url, compression=None, max_size=2**22))
        await mal.send(join_message("mal", invite=codes[0], wallet=token))
        assert (await mal.next_message(lambda m: m["type"] in ("welcome", "error")))["type"] == "welcome"
        wallet = wallet_key(token)
        assert (await ask(boss, {"type": "host_expel", "community": CIRCLE, "wallet": wallet},
                          "host_ok"))["type"] == "host_ok"
        await mal.next_frame(lambda s: any(e["type"] == "membership" for e in mal.personal))
        told = next(e for e in mal.personal if e["type"] == "membership")
        assert (told["community"], told["status"], told["role"]) == (CIRCLE, "banned", None)
        state = await ask(mal, {"type": "community", "community": CIRCLE}, "community")
        assert (state["status"], state["role"], state["members"]) == ("banned", None, 0)
        again = await ask(mal, {"type": "community_join", "community": CIRCLE, "invite": codes[1]}, "community")
        assert again["type"] == "error" and again["message"].startswith("banned:"), again
        return wallet

    async def after_restart(server):
        back = await first_answer(server.url, join_message("mal", wallet=token))
        assert (back["type"], back["code"]) == ("error", "members_only"), back
        boss = await host(server)
        code = await invite(boss, uses=5)
        with_code = await first_answer(server.url, join_message("mal", invite=code, wallet=token))
        assert with_code["type"] == "error" and with_code["message"].startswith("banned:"), with_code
        assert server.event.communities.store.count(CIRCLE) == 0

    wallet = run(first, data_dir, members_only=True)
    run(after_restart, data_dir, members_only=True)
    assert wallet.startswith("w-")
