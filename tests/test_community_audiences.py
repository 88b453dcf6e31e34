"""A community manager's report and audiences at a live event, over real sockets on 127.0.0.1.

The server runs the anniversary show of Maison Lumen Circle on the data directory that
tests/test_community_report.py seeds (500 members, months of engagement and redemptions), with
one seeded member replaced by a visitor the test connects as. The host asks for the report and
targets audiences with a voucher-like entitlement and an invite wave; what the members get is
checked against the report's own per-member figures, filtered here in plain Python.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import ANNIVERSARY
from test_community_report import CID, CIRCLE
from test_community_server import TOKEN, ask, host
from wsclient import Client

from server.event.rewards import wallet_key
from server.net.app import start_server
from server.storage.community_files import ledger_db
from server.storage.community_report import community_report, report_text
from server.storage.community_sqlite import SqliteCommunityStore
from showroom.community import load_community
from showroom.community.rfm import SEGMENTS
from showroom.scene import parse_scene

ADA = "ada-wallet-token-0123456789abcdef"
"""The token of the member the test connects as (she replaced a seeded member who left)."""
COMMUNITY = load_community(CIRCLE)
EARLY = "spring-capsule-preview"
"""The circle's early-access entitlement: no stock, so every member of an audience can have it."""


def scene_text() -> str:
    """The anniversary scene (an event of the circle)."""
    text = ANNIVERSARY.read_text()
    assert f'community = "{CID}"' in text
    return text


@pytest.fixture(scope="module")
def seeded(seeded_circle, tmp_path_factory) -> Path:
    """The seeded circle, with Ada in place of m499 (Silver, at every recent event, on a streak) and a place
    free (m498 left too)."""
    data_dir = Path(shutil.copytree(seeded_circle.data_dir, tmp_path_factory.mktemp("audiences") / "data"))
    store = SqliteCommunityStore(data_dir)
    now = time.time()
    store.leave(CID, "m499", now - 40 * 86400)
    store.leave(CID, "m498", now - 40 * 86400)
    store.join(CID, wallet_key(ADA), "Ada", cap=500, role="member", invite=None, now=now - 39 * 86400)
    for week in range(5):
        for block in range(24):
            at = now - (week * 7 + 1) * 86400 + block * 300
            store.log(CID, wallet_key(ADA), "attended_minute", 5, f"attend:salon-{week}:{block}", at)
    store.close()
    return data_dir


@pytest.fixture
def data_dir(seeded, tmp_path) -> Path:
    """A copy of the seeded data directory for one test to write to."""
    return Path(shutil.copytree(seeded, tmp_path / "data"))


def run(scenario, data_dir: Path, limit_s: float = 60.0):
    text = scene_text()

    async def main():
        server = await start_server(parse_scene(text, "show.toml"), scene_text=text, port=0, host_token=TOKEN,
                                    data_dir=data_dir, communities=[COMMUNITY])
        try:
            return await asyncio.wait_for(scenario(server), limit_s)
        finally:
            await server.stop()

    return asyncio.run(main())


def members_as_of(data_dir: Path, at: str) -> list[dict[str, Any]]:
    """Every member's figures as the offline report computes them at ``at``."""
    return community_report(COMMUNITY, data_dir, dt.datetime.fromisoformat(at)).as_dict()["members"]


def awarded(data_dir: Path, entitlement: str) -> list[str]:
    """The wallets the ledger holds ``entitlement`` for (a wallet twice if awarded twice)."""
    with ledger_db(data_dir) as ledger:
        return sorted(row[0] for row in ledger.execute("SELECT visitor FROM awards WHERE entitlement = ?",
                                                       (entitlement,)))


def test_the_host_report_is_the_offline_report_at_the_same_instant(data_dir):
    async def scenario(server):
        boss = await host(server)
        answer = await ask(boss, {"type": "host_report", "community": CID}, "report")
        assert answer["type"] == "report", answer
        return answer

    answer = run(scenario, data_dir)
    offline = community_report(COMMUNITY, data_dir, dt.datetime.fromisoformat(answer["at"]))
    assert answer["members"] == 499 and answer["currency"] == "CNY"
    assert [row["segment"] for row in answer["segments"]] == list(SEGMENTS)
    assert {row["segment"]: row["members"] for row in answer["segments"]} == {
        str(s.segment): s.members for s in offline.segments()}
    assert sum(row["members"] for row in answer["segments"]) == 499
    assert answer["text"] == report_text(offline)
    assert answer["text"].startswith(f"Maison Lumen Circle ({CID}): 499 members as of ")


def test_targeting_an_audience_awards_exactly_its_members_once_and_hands_each_an_invite(data_dir):
    """Early access for the silver-and-up members of the segments Ada is in (and champions and loyal) on a
    streak of 2 weeks or more: exactly they get it in the ledger, each gets an invite code, Ada (present)
    is told hers, a friend joins with it, and a second wave awards nobody twice."""
    ada_wallet = wallet_key(ADA)

    async def scenario(server):
        boss = await host(server)
        ada = await Client.connect(server.url)
        assert (await ada.join("Ada", wallet=ADA))["type"] == "welcome"
        now = dt.datetime.now(dt.UTC).isoformat()
        segments = sorted({next(m["segment"] for m in members_as_of(data_dir, now) if m["wallet"] == ada_wallet),
                           "champions", "loyal"})
        message = {"type": "host_target", "community": CID, "segments": segments, "min_tier": "silver",
                   "min_streak": 2, "grant": EARLY, "invites": 3}
        first = await ask(boss, message, "targeted")
        assert first["type"] == "targeted", first
        await ada.next_frame(lambda s: any(e["type"] == "invite" for e in ada.personal))
        told = next(e for e in ada.personal if e["type"] == "invite")
        friend = await Client.connect(server.url)
        assert (await friend.join("Friend of Ada", wallet="friend-of-ada-token-000"))["type"] == "welcome"
        joined = await ask(friend, {"type": "community_join", "community": CID, "invite": told["code"]}, "community")
        second = await ask(boss, message, "targeted")
        for _ in range(100):  # the ledger's writer commits what it was handed in the background
            if not server.event.writer.waiting:
                break
            await asyncio.sleep(0.1)
        return segments, first, told, joined, second

    segments, first, told, joined, second = run(scenario, data_dir)

    def audience(targeted: dict[str, Any]) -> list[str]:
        """The audience recomputed from the members' figures at the instant the server drew it."""
        return sorted(m["wallet"] for m in members_as_of(data_dir, targeted["at"])
                      if m["segment"] in segments and m["tier"] in ("silver", "gold", "black") and m["streak"] >= 2)

    expected = audience(first)
    assert ada_wallet in expected and 1 < len(expected) < 400
    assert first["members"] == len(expected) and first["granted"] == EARLY
    assert sorted(i["wallet"] for i in first["invites"]) == expected
    assert len({i["code"] for i in first["invites"]}) == len(expected)
    mine = next(i for i in first["invites"] if i["wallet"] == ada_wallet)
    assert (told["code"], told["community"], told["max_uses"]) == (mine["code"], CID, 3) and mine["name"] == "Ada"
    assert joined["type"] == "community" and joined["status"] == "member" and joined["members"] == 500, joined
    assert sorted(i["wallet"] for i in second["invites"]) == audience(second)
    assert awarded(data_dir, EARLY) == sorted(set(expected) | set(audience(second)))  # nobody twice
    store = SqliteCommunityStore(data_dir)
    try:
        invite = next(i for i in store.invites(CID) if i.code == mine["code"])
        assert (invite.issued_by, invite.uses, invite.max_uses) == (ada_wallet, 1, 3)
    finally:
        store.close()


def test_a_target_that_names_nothing_to_give_or_an_unknown_tier_or_entitlement_is_refused(data_dir):
    async def scenario(server):
        boss = await host(server)
        answers = []
        for fields in ({"segments": ["champions"]}, {"grant": "free-bag"}, {"min_tier": "platinum", "invites": 2},
                       {"segments": ["sleepy"], "grant": EARLY}):
            answers.append(await ask(boss, {"type": "host_target", "community": CID, **fields}, "targeted"))
            await asyncio.sleep(0.11)
        return answers, server.event.communities.store.invites(CID)

    answers, invites = run(scenario, data_dir)
    assert [(a["type"], a["code"]) for a in answers] == [("error", "invalid"), ("error", "unknown_target"),
                                                         ("error", "unknown_target"), ("error", "invalid")]
    assert "needs grant" in answers[0]["message"]
    assert "no entitlement 'free-bag'" in answers[1]["message"] and EARLY in answers[1]["message"]
    assert "no tier 'platinum'" in answers[2]["message"] and "silver, gold, black" in answers[2]["message"]
    assert "segments.0" in answers[3]["message"] and "champions" in answers[3]["message"]
    assert [i for i in invites if i.issued_by != "host" and i.created_at > time.time() - 600] == []


def test_the_protocol_names_the_segments_the_report_computes():
    from typing import get_args

    from showroom.protocol.community import Segment

    assert get_args(Segment) == tuple(str(s) for s in SEGMENTS)
