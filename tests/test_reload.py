"""Timeline hot reload: an edited scene file applies at the next cue in every shard, or is refused.

The rules (what may change live, when a change applies) are tested on the sans-I/O
:class:`server.event.reload.SceneReloader`; the whole path (file on disk, the server's watcher,
shards, hosts and visitors) over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import ANNIVERSARY
from wsclient import Client

from server.event.reload import LIVE_ONLY, SceneReloader, live_change_problems, read_edit
from server.net.app import start_server
from showroom.scene import parse_scene
from showroom.sim.timeline import compile_show

TOKEN = "reload-host-token"
TEXT = ANNIVERSARY.read_text()
SCENE = parse_scene(TEXT, "show.toml")
EMBER_POSE_AT_1_59 = 'at = "1:59"\nkind = "pose"\nmascot = "ember"\npose = "twirl"'
"""Ember's first pose at the runway's end, 1:59; her poses are twirl, bow, peek."""
assert TEXT.count(EMBER_POSE_AT_1_59) == 1
PEEK_AT_1_59 = TEXT.replace(EMBER_POSE_AT_1_59, EMBER_POSE_AT_1_59.replace("twirl", "peek"))
TYPO = TEXT.replace('mascot = "ember"\npath = "ember-out"', 'mascot = "embr"\npath = "ember-out"', 1)
WIDER_HALL = TEXT.replace("size = [60.0, 40.0]", "size = [70.0, 40.0]", 1)
EMBER = [m.id for m in SCENE.mascots].index("ember")


# ---- the rules, without sockets ---------------------------------------------------------------

def reloader() -> SceneReloader:
    return SceneReloader(SCENE, TEXT, "show.toml")


def test_a_valid_timeline_edit_waits_for_the_next_cue_start():
    reload = reloader()
    told = reload.offer(read_edit(PEEK_AT_1_59, "show.toml"), show_t=100.0)
    assert told.status == "scheduled" and told.version == 2
    assert told.at == 119.0 and "1:59" in told.message
    assert reload.due(118.95) is None and reload.version == 1
    applied = reload.due(119.0)
    assert applied is not None and applied.version == 2
    assert reload.version == 2 and reload.scene.timeline[14].pose == "peek"
    assert reload.due(200.0) is None  # applied once


def test_an_edit_that_adds_a_cue_before_the_next_one_applies_where_the_new_cue_starts():
    added = TEXT + '\n[[timeline]]\nat = "1:45"\nkind = "announce"\ntext = "Ember is on her way back"\n'
    told = reloader().offer(read_edit(added, "show.toml"), show_t=100.0)
    assert told.status == "scheduled" and told.at == 105.0


def test_an_edit_past_the_last_cue_applies_at_the_next_tick():
    reload = reloader()
    shorter_finale = TEXT.replace("duration = \"8:00\"", "duration = \"7:59\"", 1)
    told = reload.offer(read_edit(shorter_finale, "show.toml"), show_t=470.0)
    assert told.status == "scheduled" and told.at == 470.0 and "next tick" in told.message
    assert reload.due(470.0) is not None and reload.scene.event.duration == 479.0


def test_an_invalid_edit_is_refused_with_file_key_path_and_reason():
    reload = reloader()
    told = reload.offer(read_edit(TYPO, "show.toml"), show_t=100.0)
    assert told.status == "rejected" and told.version == 1 and told.pending is None
    assert any(line.startswith("show.toml: timeline[") and "unknown mascot 'embr'" in line for line in told.errors)
    assert reload.pending is None and reload.scene is SCENE


def test_a_changed_venue_or_mascot_is_refused_naming_what_changed():
    reload = reloader()
    told = reload.offer(read_edit(WIDER_HALL, "show.toml"), show_t=10.0)
    assert told.status == "rejected"
    assert told.errors[0].startswith("show.toml: venue.size[0]: changed from 60.0 to 70.0;")
    assert "restart the server" in told.errors[0]
    bigger_queue = TEXT.replace("selfie_capacity = 20", "selfie_capacity = 30", 1)
    told = reload.offer(read_edit(bigger_queue, "show.toml"), show_t=10.0)
    assert told.status == "rejected"
    assert told.errors[0].startswith("show.toml: mascots[0].selfie_capacity: changed from 20 to 30;")
    fewer = SCENE.model_copy(update={"mascots": SCENE.mascots[:2]})
    assert live_change_problems(SCENE, fewer)[0] == ("mascots", f"2 entries instead of 3; {LIVE_ONLY}")
    assert LIVE_ONLY.startswith("a running show can change only its timeline, looks and event title, host and")


def test_an_invalid_edit_keeps_a_waiting_valid_one():
    reload = reloader()
    reload.offer(read_edit(PEEK_AT_1_59, "show.toml"), show_t=100.0)
    told = reload.offer(read_edit(TYPO, "show.toml"), show_t=101.0)
    assert told.status == "rejected" and told.pending == 2
    assert "version 2 still applies at 1:59" in told.message


def test_editing_back_to_the_running_scene_drops_the_waiting_change():
    reload = reloader()
    reload.offer(read_edit(PEEK_AT_1_59, "show.toml"), show_t=100.0)
    told = reload.offer(read_edit(TEXT + "\n# a comment\n", "show.toml"), show_t=101.0)
    assert told.status == "unchanged" and reload.pending is None
    assert reload.due(500.0) is None


def test_a_seek_moves_a_waiting_change_to_the_first_cue_at_or_after_it():
    reload = reloader()
    reload.offer(read_edit(PEEK_AT_1_59, "show.toml"), show_t=100.0)
    moved = reload.reschedule(60.0)  # teddy's selfie session starts at 1:00
    assert moved is not None and moved.at == 60.0
    assert reload.reschedule(60.0) is None  # nothing moved, nothing said
    assert reload.due(60.0) is not None


def test_a_shorter_show_that_ends_before_the_change_could_apply_is_refused():
    shorter = PEEK_AT_1_59.replace('duration = "8:00"', 'duration = "7:50"', 1)
    told = reloader().offer(read_edit(shorter, "show.toml"), show_t=475.0)  # past the last cue (7:02)
    assert told.status == "rejected"
    assert any("event.duration: 7:50 ends before the change could apply at 7:55" in line for line in told.errors)


# ---- over sockets: the file on disk, the watcher, every shard ----------------------------------

def run(scenario, tmp_path, *, capacity: int = 1):
    """Serve a copy of the anniversary scene (``capacity`` visitors per shard) from a file the server watches."""
    path = tmp_path / "show.toml"
    text = TEXT.replace("shard_capacity = 1500", f"shard_capacity = {capacity}", 1)
    path.write_text(text)

    async def main():
        server = await start_server(parse_scene(text, str(path)), scene_text=text, port=0, host_token=TOKEN,
                                    playing=False, scene_path=path, scene_poll_s=0.05)
        try:
            return await asyncio.wait_for(scenario(server, path, text), 60)
        finally:
            await server.stop()

    return asyncio.run(main())


async def join(server, name: str, role: str = "visitor") -> Client:
    client = await Client.connect(server.url)
    welcome = await client.join(name, role=role, token=TOKEN if role == "host" else "")
    assert welcome["type"] == "welcome", welcome
    return client


async def command(host: Client, message: dict) -> dict:
    await host.send(message)
    answer = await host.next_message(lambda m: m["type"] in ("host_ok", "error", "status"))
    assert answer["type"] != "error", answer
    return answer


async def until_switch(client: Client, limit: int = 400) -> tuple:
    """Read frames until the one carrying ``scene_changed``; return it and the frame before."""
    before = None
    for _ in range(limit):
        snap = await client.next_frame()
        if any(e["type"] == "scene_changed" for e in snap.events):
            return before, snap
        before = snap
    raise AssertionError(f"no scene_changed event in {limit} frames")


def test_a_valid_edit_applies_at_the_next_cue_in_every_shard_in_the_same_tick(tmp_path):
    old, new = compile_show(SCENE), compile_show(parse_scene(PEEK_AT_1_59))

    async def scenario(server, path, text):
        visitors = [await join(server, "ada"), await join(server, "bob")]
        assert [v.welcome["shard"] for v in visitors] == [0, 1]
        assert visitors[0].welcome["scene_version"] == 1
        host = await join(server, "stage", role="host")
        await command(host, {"type": "host_seek", "t": 118.0})
        path.write_text(text.replace(EMBER_POSE_AT_1_59, EMBER_POSE_AT_1_59.replace("twirl", "peek")))
        scheduled = await host.next_message(lambda m: m["type"] == "reload")
        assert (scheduled["status"], scheduled["version"], scheduled["at"]) == ("scheduled", 2, 119.0), scheduled
        status = await command(host, {"type": "host_status"})
        assert status["pending"] == {"version": 2, "at": 119.0} and status["scene_version"] == 1
        paused = await visitors[1].next_frame(lambda s: s.t == 118.0)
        assert paused.mascot_pose[EMBER] == -1  # still walking the old timeline while paused before the cue
        await command(host, {"type": "host_start"})
        applied = await host.next_message(lambda m: m["type"] == "reload")
        assert applied["status"] == "applied" and applied["version"] == 2 and applied["t"] >= 119.0
        switches = [await until_switch(v) for v in visitors]
        assert switches[0][1].server_time == switches[1][1].server_time  # both shards switched in one tick
        for before, after in switches:
            assert before.t < 119.0 <= after.t
            assert after.mascot_pose[EMBER] == SCENE.mascots[EMBER].poses.index("peek")
            assert old.mascots_at(after.t).pose[EMBER] == SCENE.mascots[EMBER].poses.index("twirl")
            np.testing.assert_allclose(after.mascot_pos, new.mascots_at(after.t).pos, atol=0.011)
            changed = next(e for e in after.events if e["type"] == "scene_changed")
            assert changed["version"] == 2
        later = await visitors[0].next_frame(lambda s: s.t >= 120.0)
        assert later.mascot_pose[EMBER] == SCENE.mascots[EMBER].poses.index("peek")
        await visitors[1].send({"type": "scene"})
        fetched = await visitors[1].next_message(lambda m: m["type"] in ("scene", "error"))
        assert fetched["type"] == "scene" and fetched["version"] == 2
        assert 'pose = "peek"' in fetched["text"]
        await visitors[1].send({"type": "scene"})
        again = await visitors[1].next_message(lambda m: m["type"] in ("scene", "error"))
        assert again["code"] == "rate_limited"  # once per version
        late = await join(server, "late")
        assert late.welcome["scene_version"] == 2 and 'pose = "peek"' in late.welcome["scene"]
    run(scenario, tmp_path)


def test_an_invalid_edit_is_shown_to_every_host_and_the_show_goes_on(tmp_path):
    show = compile_show(SCENE)

    async def scenario(server, path, text):
        visitor = await join(server, "ada")
        hosts = [await join(server, "stage", role="host"), await join(server, "booth", role="host")]
        await command(hosts[0], {"type": "host_seek", "t": 100.0})
        await command(hosts[0], {"type": "host_start"})
        path.write_text(text.replace('mascot = "ember"\npath = "ember-out"', 'mascot = "embr"\npath = "ember-out"', 1))
        for host in hosts:
            told = await host.next_message(lambda m: m["type"] == "reload")
            assert told["status"] == "rejected" and "the show goes on unchanged" in told["message"]
            assert any(f"{path}: timeline[" in line and "unknown mascot 'embr'" in line for line in told["errors"])
        path.write_text(text.replace("size = [60.0, 40.0]", "size = [60.0, 45.0]", 1))
        told = await hosts[1].next_message(lambda m: m["type"] == "reload")
        assert told["status"] == "rejected" and told["errors"][0].startswith(f"{path}: venue.size[1]: changed")
        first = await visitor.next_frame()
        later = await visitor.next_frame(lambda s: s.t >= first.t + 1.0)
        for snap in (first, later):
            np.testing.assert_allclose(snap.mascot_pos, show.mascots_at(snap.t).pos, atol=0.011)
        assert not any(e["type"] == "scene_changed" for e in visitor.events)
        status = await command(hosts[0], {"type": "host_status"})
        assert status["scene_version"] == 1 and status["pending"] is None and status["playing"] is True
    run(scenario, tmp_path)


@pytest.mark.parametrize("role", ["visitor", "bot"])
def test_the_scene_is_fetched_only_after_it_changed(tmp_path, role):
    async def scenario(server, path, text):
        client = await join(server, "ada", role=role)
        await client.send({"type": "scene"})
        refused = await client.next_message(lambda m: m["type"] in ("scene", "error"))
        assert refused["code"] == "rate_limited" and "scene version 1" in refused["message"]
    run(scenario, tmp_path)


# ---- over workers: one worker's edit is every worker's -------------------------------------------

def test_an_edit_scheduled_on_one_worker_switches_every_worker_at_the_same_cue():
    """Workers on several machines each watch their own copy of the file. The worker that sees an edit
    schedules it and sends its text over the event's bus; every other worker judges the same text against the
    same show time and switches at the same cue. A worker that saw the edit itself does not schedule it twice."""
    import itertools

    from server.event.event import Event

    workers = [Event(SCENE, host_token=TOKEN, scene_text=TEXT, playing=False) for _ in range(3)]
    numbers = itertools.count(1)
    relayed: list[str] = []

    def bus(kind: str, body: dict) -> None:  # every worker, the sender too, in one order
        relayed.append(kind)
        seq = next(numbers)
        for worker in workers:
            worker.apply_relayed(kind, body, seq)
    for worker in workers:
        worker.relay = bus
        worker.show_t = 118.0
    workers[0].offer_scene(read_edit(PEEK_AT_1_59, "show.toml"))
    assert relayed == ["scene"]
    assert [(w.reloader.pending.version, w.reloader.pending.at_s) for w in workers] == [(2, 119.0)] * 3
    workers[2].offer_scene(read_edit(PEEK_AT_1_59, "show.toml"))  # its own watcher saw the edit too
    assert [(w.reloader.pending.version, w.reloader.pending.at_s) for w in workers] == [(2, 119.0)] * 3
    workers[1].apply_relayed("scene", {"text": TYPO}, 99)  # a broken text from a buggy peer changes nothing
    assert workers[1].reloader.pending is not None and workers[1].reloader.pending.text == PEEK_AT_1_59
    for worker in workers:
        worker.playing = True
        for tick in range(25):
            worker.tick(tick * 0.05, 1.7e9 + tick * 0.05)
        assert worker.reloader.version == 2 and worker.scene_text == PEEK_AT_1_59
