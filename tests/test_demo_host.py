"""The demo's scripted host runs a whole round against a real server on 127.0.0.1: it issues the
invite the visitors join with, takes entries, approves them, opens and closes the voting,
features the round (every visitor gets the featured entries) and asks a poll; a second demo on
the same data directory takes the next round, and once every round is published it shows the
last one again without losing any.
"""

from __future__ import annotations

import asyncio

from conftest import ANNIVERSARY, ROOT
from test_host_community import png
from wsclient import Client

from server.net.app import start_server
from showroom.community import load_community
from showroom.host.demo_script import POLL_QUESTION, DemoHost, Timing
from showroom.scene import parse_scene

TOKEN = "demo-host-token"
CIRCLE = "maison-lumen-circle"
COMMUNITIES = [load_community(ROOT / "communities" / f"{CIRCLE}.toml")]
QUICK = Timing(approve_from=0.2, voting=1.0, closed=1.7, poll=2.0, poll_seconds=30.0)
LIMIT_S = 60.0


async def member(url: str, name: str, invite: str) -> Client:
    client = await Client.connect(url)
    await client.join(name)
    await client.send({"type": "community_join", "community": CIRCLE, "invite": invite})
    joined = await client.next_message(lambda m: m["type"] in ("community", "error"))
    assert joined.get("status") == "member", joined
    return client


async def submit(client: Client, challenge: str, title: str, data: bytes) -> int:
    kept = await client.enter(CIRCLE, challenge, title, data)
    assert kept["type"] == "entry", kept
    return int(kept["entry"])


def run(scenario, data_dir):
    text = ANNIVERSARY.read_text()

    async def main():
        server = await start_server(parse_scene(text, "anniversary-runway.toml"), scene_text=text, port=0,
                                    host_token=TOKEN, data_dir=data_dir, communities=COMMUNITIES)
        try:
            return await asyncio.wait_for(scenario(server), LIMIT_S)
        finally:
            await server.stop()
    return asyncio.run(main())


def demo_round(server, said: list[str], entries: int) -> tuple[str, list[int]]:
    """One demo's host against ``server`` with ``entries`` members entering; the round and the featured ids."""
    async def scenario():
        host = DemoHost(server.url, TOKEN, CIRCLE, timing=QUICK, say=said.append)
        invite = await asyncio.to_thread(host.prepare)
        assert invite is not None and host.round is not None
        challenge = host.round.challenge
        members = [await member(server.url, f"artist{k}", invite) for k in range(entries)]
        await asyncio.to_thread(host.start)
        if not host.round.published:
            ids = [await submit(m, challenge, f"Rose study {k}", png(k)) for k, m in enumerate(members)]
        watcher = members[0] if members else await member(server.url, "watcher", invite)
        await watcher.next_frame(lambda s: any(e["type"] == "poll" for e in watcher.events), limit_s=20)
        featured = next(e for e in watcher.events if e["type"] == "featured")
        poll = next(e for e in watcher.events if e["type"] == "poll")
        assert featured["challenge"] == challenge and poll["question"] == POLL_QUESTION
        await asyncio.to_thread(host.stop)
        shown = [f["entry"] for f in featured["entries"]]
        if not host.round.published:
            assert sorted(shown) == sorted(ids)  # approval ballot, nobody voted: every approved entry, five at most
        return challenge, shown
    return scenario()


def test_the_demo_host_runs_a_round_then_the_next_and_then_shows_the_last_again(tmp_path):
    said: list[str] = []

    async def scenario(server):
        first, shown = await demo_round(server, said, entries=3)
        assert first.endswith("w1") and len(shown) == 3
        assert any("approved" in line for line in said) and any("moved to voting" in line for line in said)
        store = server.event.communities.store
        assert [e.status for e in store.entries(CIRCLE, first)] == ["approved"] * 3
        return first, shown

    first, shown = run(scenario, tmp_path / "data")

    async def again(server):
        rounds = [await demo_round(server, said, entries=1) for _ in range(3)]
        assert [r[0][-2:] for r in rounds] == ["w2", "w3", "w4"]
        last, repeat = await demo_round(server, said, entries=0)
        assert last == rounds[-1][0] and repeat == rounds[-1][1]  # every round published: the last one again
        assert [(f.entry, f.rank) for f in server.event.communities.store.featured(CIRCLE, first)] == [
            (entry, rank) for rank, entry in enumerate(shown, 1)]  # the first demo's round is kept as published
    run(again, tmp_path / "data")
