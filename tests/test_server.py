"""The event server over real sockets on 127.0.0.1: visitors, shards, resume, hosts, selfies."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request

import numpy as np
import pytest
import websockets
from conftest import ANNIVERSARY
from wsclient import Client

from server.event.interest import FAR_EVERY
from server.net.app import start_server
from showroom.scene import parse_scene
from showroom.sim.timeline import compile_show

TOKEN = "test-host-token"
TEXT = ANNIVERSARY.read_text()


def variant(capacity: int | None = None, spawns: str | None = None, photo_s: float | None = None) -> tuple:
    """The anniversary scene, optionally with another shard capacity, other spawn points or quicker selfies."""
    text = TEXT
    if photo_s is not None:
        text = text.replace("photo_seconds = 6", f"photo_seconds = {photo_s}")
    if capacity is not None:
        text = text.replace("shard_capacity = 1500", f"shard_capacity = {capacity}", 1)
    if spawns is not None:
        start = text.index("[[venue.spawns]]")
        end = text.index("[[venue.exits]]")
        text = text[:start] + spawns + text[end:]
    return parse_scene(text, "test.toml"), text


def run(scenario, *, capacity=None, spawns=None, photo_s=None, playing=True, **kw):
    """Start a server on a free port, run ``scenario(server)``, stop the server."""
    scene, text = variant(capacity, spawns, photo_s)

    async def main():
        server = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, playing=playing, **kw)
        try:
            return await asyncio.wait_for(scenario(server), 60)
        finally:
            await server.stop()

    return asyncio.run(main())


async def visitor(server, name: str) -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join(name)
    assert welcome["type"] == "welcome", welcome
    return client


def test_two_visitors_see_each_other_move():
    async def scenario(server):
        ada, bob = await visitor(server, "ada"), await visitor(server, "bob")
        first = await bob.next_frame(lambda s: ada.id in s.ids)
        start = bob.where(first, ada.id)
        await ada.move_to(start[0] + 4.0, start[1] + 3.0)
        moved = await bob.next_frame(lambda s: ada.id in s.ids and np.linalg.norm(bob.where(s, ada.id) - start) > 2.0)
        assert np.linalg.norm(moved.pos[moved.ids == ada.id][0] - start) > 2.0
        seen_bob = await ada.next_frame(lambda s: bob.id in s.ids)
        assert seen_bob.ids.size == 2
        ack = await ada.next_message(lambda m: True) if False else None
        assert ack is None
    run(scenario)


def test_movement_is_acknowledged_in_the_frame():
    async def scenario(server):
        ada = await visitor(server, "ada")
        await ada.move_to(30, 6)
        await ada.move_to(31, 6)

        async def acked():
            while True:
                value = await ada.recv()
                if isinstance(value, list) and value[0]["ack"] == 2:
                    return value[0]
        personal = await asyncio.wait_for(acked(), 5)
        assert personal["you"] == ada.id
    run(scenario)


def test_late_joiner_sees_each_mascot_where_the_show_clock_says():
    scene, _ = variant()
    show = compile_show(scene)

    async def scenario(server):
        server.event.seek(100.0)  # Aurora's look: ember walks the runway, teddy holds selfies
        late = await visitor(server, "late")
        snap = await late.next_frame()
        expected = show.mascots_at(snap.t)
        assert np.abs(snap.mascot_pos - expected.pos).max() < 0.011
        assert snap.mascot_activity.tolist() == expected.activity.tolist()
        assert snap.t >= 100.0
    run(scenario)


FAR_SPAWNS = """
[[venue.spawns]]
name = "west"
at = [3, 37]
radius = 0.8

[[venue.spawns]]
name = "east"
at = [57, 3]
radius = 0.8

"""


def test_a_walker_far_away_is_refreshed_once_a_second_and_one_nearby_every_tick():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(6)]
        snaps = [await c.next_frame() for c in clients]
        west = [c for c, s in zip(clients, snaps) if c.where(s, c.id)[0] < 30]
        east = [c for c, s in zip(clients, snaps) if c.where(s, c.id)[0] > 30]
        assert len(west) >= 2 and east
        watcher, neighbour, stranger = west[0], west[1], east[0]
        await neighbour.move_to(9.0, 31.0)
        await stranger.move_to(50.0, 12.0)
        seen: dict[int, list[tuple[int, int]]] = {neighbour.welcome["slot"]: [], stranger.welcome["slot"]: []}
        await watcher.next_frame(lambda s: s.tick > snaps[0].tick + 10)  # both have started walking
        for _ in range(60):  # three seconds of frames
            snap = await watcher.next_frame()
            tier = snap.snap.tier_of_rows()
            for slot, rows in seen.items():
                hit = np.flatnonzero(snap.snap.slots == slot)
                if hit.size:
                    rows.append((snap.tick, int(tier[hit[0]])))
        near, far = seen[neighbour.welcome["slot"]], seen[stranger.welcome["slot"]]
        assert len(near) >= 57 and {t for _, t in near} == {0}  # every tick, as a near avatar
        assert 2 <= len(far) <= 4 and {t for _, t in far} == {2}  # once a second, as a far one
        assert np.all(np.diff([tick for tick, _ in far]) == FAR_EVERY)
        assert watcher.where(snap, stranger.id)[0] > 30  # the far walker is still drawn where it is
    run(scenario, spawns=FAR_SPAWNS)


def test_fourth_visitor_lands_in_shard_two_and_sees_the_same_show():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        assert [c.welcome["shard"] for c in clients] == [0, 0, 0, 1]
        server.event.seek(30.0)
        a = await clients[0].next_frame(lambda s: s.t >= 30.0)
        b = await clients[3].next_frame(lambda s: s.t == a.t)
        assert np.array_equal(a.mascot_pos, b.mascot_pos)
        assert clients[0].id not in b.ids and clients[3].id not in a.ids
    run(scenario, capacity=3)


def test_every_shard_sees_the_whole_events_audience_and_reaction_totals():
    """Shards of 2: four visitors in two shards. Each is told the event's audience (all 4 connected, not its
    shard's 2) and the reactions sent in every shard since the start; a visitor leaving changes the count."""
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        assert sorted(c.welcome["shard"] for c in clients) == [0, 0, 1, 1]
        await clients[0].send({"type": "react", "reaction": "heart"})
        await clients[3].send({"type": "react", "reaction": "heart"})
        await clients[3].send({"type": "react", "reaction": "wow"})

        def audience(client: Client, check) -> object:
            return client.next_frame(lambda s: any(e["type"] == "audience" and check(e) for e in s.events), limit_s=5)
        for client in clients:
            await audience(client, lambda e: e["visitors"] == 4 and e["reactions"] == {"heart": 2, "wow": 1})
        await clients[1].send({"type": "leave"})
        await audience(clients[2], lambda e: e["visitors"] == 3 and e["reactions"] == {"heart": 2, "wow": 1})
    run(scenario, capacity=2)


def test_host_seek_moves_the_show_in_every_shard():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        host = await Client.connect(server.url)
        assert (await host.join("stage-manager", role="host", token=TOKEN))["type"] == "welcome"
        await host.send({"type": "host_seek", "t": 200.0})
        ok = await host.next_message(lambda m: m["type"] == "host_ok")
        assert ok["ref"] == "host_seek"
        for client in (clients[0], clients[3]):
            snap = await client.next_frame(lambda s: s.t >= 200.0, limit_s=2)
            assert any(e["type"] == "show" and e["t"] == 200.0 for e in client.events)
            assert snap.t < 201.0
    run(scenario, capacity=3)


def test_dropped_visitor_resumes_its_avatar_and_shard():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        last = clients[3]
        token, old_id, shard = last.welcome["resume"], last.id, last.welcome["shard"]
        await last.ws.transport.abort() if False else await last.close()
        await asyncio.sleep(0.3)
        again = await Client.connect(server.url)
        welcome = await again.join("v3", resume=token)
        assert (welcome["you"], welcome["shard"]) == (old_id, shard)
        snap = await again.next_frame(lambda s: old_id in s.ids)
        assert old_id in snap.ids
        stranger = await Client.connect(server.url)
        refused = await stranger.join("v9", resume="not-a-token")
        assert refused["code"] == "resume_failed"
    run(scenario, capacity=3)


def test_banned_visitor_is_gone_from_every_shard_within_one_tick():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        target = clients[1]
        watcher = clients[2]
        await watcher.next_frame(lambda s: target.id in s.ids)
        host = await Client.connect(server.url)
        await host.join("host", role="host", token=TOKEN)
        tick_before = server.event.tick_no
        await host.send({"type": "host_ban", "visitor": target.id})
        await host.next_message(lambda m: m["type"] == "host_ok")
        snap = await watcher.next_frame(lambda s: s.tick > tick_before)
        assert target.id not in snap.ids
        assert all(target.id not in s.members for s in server.event.shards)
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                await target.recv()
        assert closed.value.rcvd.code == 1008
        again = await Client.connect(server.url)
        assert (await again.join("V1"))["code"] == "banned"
    run(scenario, capacity=3)


NEAR_SELFIE = """
[[venue.spawns]]
name = "by-the-east-end"
at = [34.5, 11.5]
radius = 1.2

"""


def test_three_visitors_queue_for_one_mascot_and_are_served_in_order():
    async def scenario(server):
        server.event.seek(62.0)  # teddy's selfie session at the east end
        clients = [await visitor(server, f"fan{k}") for k in range(3)]
        for position, client in enumerate(clients, start=1):
            await client.send({"type": "selfie", "mascot": "teddy"})
            queued = await client.next_frame(lambda s: any(e["type"] == "selfie_queue" for e in client.personal))
            assert queued is not None
            first = next(e for e in client.personal if e["type"] == "selfie_queue")
            assert first["position"] in (position, position - 1)  # the first may be served at once
        taken: list[int] = []

        async def photos():
            while len(taken) < 3:
                await clients[0].next_frame()
                taken[:] = [e["visitor"] for e in clients[0].events if e["type"] == "selfie_taken"]
        await asyncio.wait_for(photos(), 25)
        assert taken == [c.id for c in clients]
        photo = next(e for e in clients[0].events if e["type"] == "selfie_taken")
        assert photo["mascot"] == "teddy" and clients[0].id in photo["visible"]
    run(scenario, spawns=NEAR_SELFIE, photo_s=1.5)  # three turns of 1.5 s, not 6


def test_selfie_refused_without_a_session_or_from_afar():
    async def scenario(server):
        server.event.seek(10.0)
        fan = await visitor(server, "fan")
        await fan.send({"type": "selfie", "mascot": "teddy"})
        error = await fan.next_message(lambda m: m["type"] == "error")
        assert error["code"] == "no_session"
        await fan.send({"type": "selfie", "mascot": "tedy"})
        error = await fan.next_message(lambda m: m["type"] == "error")
        assert error["code"] == "unknown_target" and "teddy" in error["message"]
    run(scenario)


def test_health_and_metrics_answer_plain_http():
    async def scenario(server):
        await visitor(server, "ada")
        await asyncio.sleep(1.2)

        def fetch(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
                return r.read()
        assert (await asyncio.to_thread(fetch, "/healthz")).strip() == b"ok"
        doc = json.loads(await asyncio.to_thread(fetch, "/metrics"))
        assert doc["visitors"] == 1 and doc["shards"] == 1
        assert doc["ticks"] > 10 and doc["tick_ms_p99"] > 0
        assert {"messages_in_per_s", "bytes_out_per_s", "tick_overruns"} <= set(doc)
    run(scenario)


def test_a_stalled_tick_counts_the_slots_it_skipped_and_overruns_stay_a_share_of_the_slots():
    async def scenario(server):
        await visitor(server, "ada")
        tick, stalled = server.event.tick, []

        def slow_once(now: float, wall: float) -> None:
            if not stalled:
                stalled.append(now)
                time.sleep(0.6)  # twelve slots' worth: the loop skips ahead rather than run them all
            tick(now, wall)
        server.event.tick = slow_once
        await asyncio.sleep(1.0)

        def fetch():
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
                return json.loads(r.read())
        doc = await asyncio.to_thread(fetch)
        assert doc["tick_overruns"] >= 10 and doc["tick_slots"] >= doc["ticks"] + 5
        assert 0 < doc["tick_overrun_pct"] <= 100
    run(scenario)


def test_metrics_count_as_visitors_only_the_avatars_whose_connection_is_open():
    async def scenario(server):
        stays = await visitor(server, "stays")
        drops = await visitor(server, "drops")
        drops.ws.transport.abort()  # gone without leave: the avatar waits for a resume
        await stays.next_frame(lambda s: s.tick > 0)

        def metrics():
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
                return json.loads(r.read())
        for _ in range(50):  # the drop reaches the server within a few ticks
            doc = await asyncio.to_thread(metrics)
            if doc["visitors"] == 1:
                break
            await asyncio.sleep(0.05)
        assert (doc["visitors"], doc["avatars"]) == (1, 2)  # the dropped avatar waits to resume, unconnected
        assert server.event.visitors == 2
    run(scenario)


def test_host_pause_announce_cue_and_drop_reach_every_shard():
    async def scenario(server):
        clients = [await visitor(server, f"v{k}") for k in range(4)]
        host = await Client.connect(server.url)
        await host.join("host", role="host", token=TOKEN)
        for message in ({"type": "host_pause"}, {"type": "host_announce", "text": "Doors close in 5 minutes"},
                        {"type": "host_cue", "index": 5}, {"type": "host_drop", "entitlement": "lumen-scarf", "open": True}):
            await host.send(message)
            ok = await host.next_message(lambda m: m["type"] in ("host_ok", "error"))
            assert ok["type"] == "host_ok", ok
        cue_at = server.event.scene.timeline[5].at
        for client in (clients[0], clients[3]):  # shard 0 and shard 1
            first = await client.next_frame(lambda s: s.t == cue_at)
            later = await client.next_frame(lambda s: s.tick >= first.tick + 5)
            assert later.t == cue_at and later.show["playing"] is False  # paused at the cue
            kinds = {e["type"] for e in client.events}
            assert {"show", "announce", "drop"} <= kinds
            assert any(e.get("text") == "Doors close in 5 minutes" for e in client.events)
        await host.send({"type": "host_drop", "entitlement": "no-such-voucher", "open": True})
        error = await host.next_message(lambda m: m["type"] == "error")
        assert error["code"] == "unknown_target" and "lumen-scarf" in error["message"]
        await host.send({"type": "host_kick", "visitor": clients[2].id})
        await host.next_message(lambda m: m["type"] == "host_ok")
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(100):
                await clients[2].recv()
        again = await Client.connect(server.url)
        assert (await again.join("v2"))["type"] == "welcome"  # a kick is not a ban
    run(scenario, capacity=3)
