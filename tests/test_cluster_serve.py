"""``showroom serve --workers``: one event over real worker processes, a front door, Redis and PostgreSQL.

Each test starts the command as a user would (``python -m showroom serve --workers 3``) against a private
Redis and PostgreSQL on 127.0.0.1, reads the front door's URL from its first line, and talks to it the way
bots, the desktop client and the host console do.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from private_redis import PrivateRedis, private_redis

from showroom.bots.swarm import SwarmConfig, run_swarm
from showroom.client.net import Connection
from showroom.host.link import HostLink
from showroom.protocol import client_messages as msg

REPO = Path(__file__).resolve().parents[1]
SCENE = REPO / "scenes" / "anniversary-runway.toml"
TOKEN = "cluster-host-token"


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


class Cluster:
    """``showroom serve --workers N`` in a process group of its own; ``url`` is its front door."""

    def __init__(self, process: subprocess.Popen[str], url: str, log: Path, data_dir: Path) -> None:
        self.process, self.url, self.log, self.data_dir = process, url, log, data_dir
        self.database = ""
        self.http = url.replace("ws://", "http://").rstrip("/")

    def metrics(self) -> dict:
        with urllib.request.urlopen(self.http + "/metrics", timeout=5) as answer:
            return json.loads(answer.read())

    def wait_for(self, what: str, check, timeout_s: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout_s
        doc: dict = {}
        while time.monotonic() < deadline:
            doc = self.metrics()
            if check(doc):
                return doc
            time.sleep(0.2)
        raise AssertionError(f"{what} within {timeout_s:g} s; last /metrics: {json.dumps(doc)[:600]}\n"
                             f"log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_cluster(tmp: Path, redis_url: str, *extra: str, workers: int = 3, communities: Path | None = None) -> Cluster:
    log = tmp / "serve.log"
    command = [sys.executable, "-m", "showroom", "serve", str(SCENE), "--port", "0", "--data-dir", str(tmp / "data"),
               "--communities", str(communities or tmp / "no-communities"), "--workers", str(workers), "--broker", redis_url,
               "--host-token", TOKEN, "--no-reload", *extra]
    out = log.open("w")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=out, text=True, start_new_session=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if " on ws://" not in line:
        process.kill()
        raise AssertionError(f"serve --workers did not start: {line!r}\n{log.read_text()[-3000:]}")
    url = line.split(" on ", 1)[1].split(" ", 1)[0]
    cluster = Cluster(process, url, log, tmp / "data")
    threading_drain(process)
    cluster.wait_for(f"{workers} live workers", lambda d: d.get("worker_count") == workers and
                     all(w.get("bus_seq", 0) >= 1 for w in d["workers"]))
    return cluster


def fresh_database(postgres_url: str) -> str:
    """A new, empty database on the private PostgreSQL server (the event's ledger schema starts empty)."""
    import psycopg

    name = f"cluster_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def one_seat_workers(tmp_path_factory, redis_server, postgres_url) -> Iterator[Cluster]:
    """Three workers of one single-seat shard each (so three visitors land on three workers), ledger and
    communities on PostgreSQL; shared by the tests below, which leave the event for good when they are done
    (the worker-kill test comes last)."""
    database = fresh_database(postgres_url)
    cluster = start_cluster(tmp_path_factory.mktemp("one-seat"), redis_server.url, "--shard-capacity", "1",
                            "--shards-per-worker", "1", "--database", database, communities=REPO / "communities")
    cluster.database = database
    try:
        yield cluster
    finally:
        cluster.stop()


def leave(visitors: list[Connection]) -> None:
    """Leave for good (the seat goes back at once) and close."""
    for visitor in visitors:
        visitor.send(msg.Leave())
    time.sleep(0.3)
    for visitor in visitors:
        visitor.close()


def threading_drain(process: subprocess.Popen[str]) -> None:
    """Keep reading the command's output, so a full pipe never blocks it."""
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for _line in process.stdout:
            pass
    threading.Thread(target=drain, daemon=True).start()


def test_two_thousand_joining_at_once_fill_every_shard_of_three_workers_exactly(tmp_path, redis_server, postgres_url):
    """3 workers x 2 shards x 300 seats = 1,800: of 2,000 bots joining at once, exactly 1,800 are seated, every
    shard holds exactly 300 (the registry's count and the worker's own), and 200 are told the event is full."""
    cluster = start_cluster(tmp_path, redis_server.url, "--database", fresh_database(postgres_url),
                            "--shard-capacity", "300", "--shards-per-worker", "2")
    try:
        readings: list[dict] = []

        def during_hold(entry: dict) -> None:  # once a second
            if entry.get("phase") == "hold":
                readings.append(cluster.metrics())

        def all_in() -> bool:  # the hold lasts until every worker has published its 600, however slow the machine
            return bool(readings) and readings[-1].get("avatars") == 1800
        config = SwarmConfig(url=cluster.url, clients=2000, ramp_per_s=1e6, duration_s=45.0, move_hz=2.0,
                             mix="watch:1", progress=False)
        result = asyncio.run(run_swarm(config, on_progress=during_hold, hold_done=all_in))
        stats = result.stats
        assert stats.joins_ok == 1800, (stats.joins_ok, dict(stats.errors), stats.connect_failed)
        assert stats.errors["event_full"] == 200, dict(stats.errors)
        assert stats.connect_failed == 0
        assert stats.handovers == 1800
        # the rush is over once every worker has published its 600
        full = [doc for doc in readings if doc.get("avatars") == 1800]
        assert full, f"never 1,800 avatars during the hold: {[doc.get('avatars') for doc in readings]}"
        seen = full[-1]
        assert seen["seats"] == {str(s): 300 for s in (0, 1, 2, 1000, 1001, 1002)}, seen["seats"]
        assert sorted(w["avatars"] for w in seen["workers"]) == [600, 600, 600]
        assert seen["avatars"] == 1800
        # the scene's badge for the first 100 visitors went to exactly 100 of them, over three workers
        assert sum(bot.awards["first-hundred"] for bot in result.bots) == 100
        # the bots left for good: every seat is given back
        cluster.wait_for("every seat given back", lambda d: d["seats_taken"] == 0 and d["avatars"] == 0)
    finally:
        cluster.stop()
    assert cluster.process.returncode == 0, cluster.log.read_text()[-3000:]


def test_a_cue_fired_on_one_worker_reaches_every_worker_in_the_same_tick_and_mascots_agree(one_seat_workers):
    """Three visitors, one per worker (shards of one seat). A host on one worker fires cues and seeks; every
    worker switches on the same tick of the wall-clock grid (frames with the same server time carry the same
    show time, away from the ticks right around a host action), and at any show time the mascots are the same
    on every worker."""
    cluster = one_seat_workers
    visitors: list[Connection] = []
    try:
        visitors = [Connection(cluster.url, f"viewer-{i}") for i in range(3)]
        assert len({v.url for v in visitors}) == 3, [v.url for v in visitors]
        host = HostLink.open(cluster.url, TOKEN)
        received: list[list] = [[], [], []]

        def keep(seconds: float) -> None:  # a visitor's inbox holds 256 messages: empty them as we go
            time.sleep(seconds)
            for visitor, kept in zip(visitors, received):
                kept.extend(visitor.drain(10_000))
        acted: list[float] = []
        try:
            for index in (1, 3, 2, 5):
                acted.append(time.time())
                assert host.request(msg.HostCue(index=index)).type == "host_ok"
                keep(1.0)
            acted.append(time.time())
            host.request(msg.HostSeek(t=30.0))
            keep(1.0)
            acted.append(time.time())
            host.request(msg.HostPause())
            keep(1.0)
            status = host.request(msg.HostStatus())  # the host on one worker sees the whole event
            assert status.visitors == 3 and len(status.shards) == 3, status
            assert sum(shard.visitors for shard in status.shards) == 3, status.shards
        finally:
            host.close()
        frames: list[dict[float, tuple[float, bytes]]] = []
        cues: list[set[int]] = []
        for kept in received:
            by_st: dict[float, tuple[float, bytes]] = {}
            started: set[int] = set()
            for value, _at in kept:
                if isinstance(value, list) and isinstance(value[1], dict) and value[1].get("type") == "snap":
                    cell = value[1]
                    for event in cell.get("events", ()):
                        if event.get("type") == "cue":
                            started.add(int(event["index"]))
                    if cell.get("mascots") is not None:
                        by_st[round(float(cell["st"]), 3)] = (float(cell["t"]), bytes(cell["mascots"]))
            frames.append(by_st)
            cues.append(started)
        # every worker showed every cue the host fired
        for started in cues:
            assert {1, 3, 2, 5} <= started, cues
        # same tick, same show time, except right around a host action (where a late delivery may show)
        common = set(frames[0]) & set(frames[1]) & set(frames[2])
        assert len(common) > 40, len(common)
        quiet = [st for st in common if all(abs(st - a) > 0.2 for a in acted)]
        assert len(quiet) > 20
        for st in quiet:
            assert frames[0][st][0] == frames[1][st][0] == frames[2][st][0], (st, [f[st][0] for f in frames])
        # same show time, same mascots, on every worker
        by_t: dict[float, set[bytes]] = defaultdict(set)
        workers_at: dict[float, int] = defaultdict(int)
        for worker_frames in frames:
            for t in {t for t, _m in worker_frames.values()}:
                workers_at[t] += 1
            for t, mascots in worker_frames.values():
                by_t[t].add(mascots)
        compared = [t for t, n in workers_at.items() if n == 3]
        assert len(compared) > 20, len(compared)
        for t in compared:
            assert len(by_t[t]) == 1, f"mascots differ between workers at show time {t}"
        doc = cluster.metrics()
        assert len({w["bus_seq"] for w in doc["workers"]}) == 1, doc["workers"]
    finally:
        leave(visitors)


def _frames_events(kept: list) -> tuple[set[int], list[tuple[float, int]]]:
    """The cues a visitor's frames started, and (arrival, cue) of each."""
    started: set[int] = set()
    seen: list[tuple[float, int]] = []
    for value, at in kept:
        if isinstance(value, list) and isinstance(value[1], dict) and value[1].get("type") == "snap":
            for event in value[1].get("events", ()):
                if event.get("type") == "cue":
                    started.add(int(event["index"]))
                    seen.append((at, int(event["index"])))
    return started, seen


def test_redis_restarted_mid_show_every_worker_resynchronises_and_no_cue_is_missed(one_seat_workers, redis_server):
    """Redis is stopped and started empty while the show runs, and a host fires a cue while it is down: every
    worker writes the show back and resynchronises, the cue reaches every visitor, later cues too, and the seats
    held survive (the workers put them back)."""
    cluster = one_seat_workers
    visitors: list[Connection] = []
    try:
        visitors = [Connection(cluster.url, f"viewer-{i}") for i in range(3)]
        host = HostLink.open(cluster.url, TOKEN)  # stays on its worker while Redis is away
        received: list[list] = [[], [], []]

        def keep(seconds: float) -> None:
            time.sleep(seconds)
            for visitor, kept in zip(visitors, received):
                kept.extend(visitor.drain(10_000))
        try:
            host.request(msg.HostCue(index=1))
            keep(1.0)
            redis_server.stop()
            down_at = time.time()
            host.request(msg.HostCue(index=3))  # made while Redis is down: waits on its worker
            keep(0.5)
            redis_server.start()
            up_at = time.time()
            keep(3.0)
            host.request(msg.HostCue(index=5))
            keep(1.5)
        finally:
            host.close()
        for kept in received:
            started, _seen = _frames_events(kept)
            assert {1, 3, 5} <= started, started
        doc = cluster.wait_for("every worker's figures after the restart", lambda d: d.get("worker_count") == 3 and
                               all(w.get("bus_reconnects", 0) >= 1 for w in d["workers"]))
        backs = [w["bus_back_at"] - up_at for w in doc["workers"]]
        print(f"\nRedis down {up_at - down_at:.2f} s; workers resynchronised {', '.join(f'{b:.2f}' for b in backs)} s "
              f"after it answered again")
        assert all(b < 10.0 for b in backs), backs
        assert doc["seats_taken"] == 3, doc["seats"]  # the three visitors' seats were put back
        assert len({w["bus_seq"] for w in doc["workers"]}) == 1, [w["bus_seq"] for w in doc["workers"]]
    finally:
        leave(visitors)


def test_the_host_dashboard_on_the_front_door_follows_the_handover_and_steers_every_worker(one_seat_workers):
    """The dashboard page comes from the front door; it signs in through the handover to a worker (in headless
    Chromium), and a seek made there moves the show on every worker."""
    from dashboard_harness import CHROMIUM, launch
    from playwright import sync_api as playwright_api

    cluster = one_seat_workers
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)"
    expect = playwright_api.expect
    with playwright_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(15_000)
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(f"{cluster.http}/host#token={TOKEN}")
            expect(page.locator("header.top .conn-text")).to_have_text("connected", timeout=15_000)
            page.get_by_role("button", name="Pause").click()
            expect(page.locator(".big-clock .badge")).to_have_text("paused", timeout=15_000)
            page.get_by_label("Seek to").fill("5:00")
            page.get_by_role("button", name="Seek", exact=True).click()
            expect(page.locator("[data-status-clock]")).to_have_text("5:00", timeout=15_000)
            assert not problems, problems
        finally:
            browser.close()
    doc = cluster.wait_for("every worker at 5:00, held", lambda d: all(
        w.get("show_t") == 300.0 and w.get("playing") is False for w in d["workers"]))
    assert len(doc["workers"]) == 3


def test_every_worker_shows_the_event_wide_audience_and_a_poll_opened_on_one_is_answered_on_all(one_seat_workers):
    """Three visitors, one per worker. Each is told the whole event's audience (3 visitors, and the reactions
    sent on every worker). The host's worker opens a live poll: every visitor is shown it, each answers on its
    own worker, every visitor sees the counts of all three answers, and the host closes it: every visitor gets
    the same final counts."""
    from showroom.protocol import community as cm

    cluster = one_seat_workers
    visitors: list[Connection] = []
    kept: list[list] = [[], [], []]

    def events_of(index: int) -> list[dict]:
        kept[index].extend(visitors[index].drain(10_000))
        found = []
        for value, _at in kept[index]:
            if isinstance(value, dict):
                found.append(value)
            elif isinstance(value, list):
                for part in value:
                    if isinstance(part, dict):
                        found.extend(e for e in part.get("events", ()) if isinstance(e, dict))
        return found

    def wait_all(what: str, check) -> list[dict]:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            matches = [next((e for e in events_of(i) if check(e)), None) for i in range(3)]
            if all(matches):
                return matches  # type: ignore[return-value]
            time.sleep(0.1)
        raise AssertionError(f"not every visitor saw {what}: {[[e.get('type') for e in events_of(i)][-8:] for i in range(3)]}")
    try:
        visitors = [Connection(cluster.url, f"voter-{i}") for i in range(3)]
        assert len({v.url for v in visitors}) == 3
        for visitor in visitors:
            visitor.send(msg.React(reaction="heart"))
        wait_all("the event's audience", lambda e: e.get("type") == "audience" and e.get("visitors") == 3
                 and e.get("reactions") == {"heart": 3})
        host = HostLink.open(cluster.url, TOKEN)
        try:
            opened = host.request(cm.HostPoll(question="Which look closes the show?", options=["gold", "pearl"]))
            assert opened.type == "poll", opened
            poll = opened.poll
            wait_all("the poll", lambda e: e.get("type") == "poll" and e.get("poll") == poll)
            for i, visitor in enumerate(visitors):
                visitor.send(cm.PollAnswer(poll=poll, option=1 if i else 0))
            wait_all("their answer counted", lambda e: e.get("type") == "poll_answered" and e.get("poll") == poll)
            wait_all("the event-wide live counts", lambda e: e.get("type") == "poll_results" and e.get("poll") == poll
                     and e.get("counts") == [1, 2])
            final = host.request(cm.HostPollClose(poll=poll))
            assert final.type == "poll" and final.counts == [1, 2], final
            wait_all("the final counts", lambda e: e.get("type") == "poll_results" and e.get("final")
                     and e.get("counts") == [1, 2])
        finally:
            host.close()
    finally:
        leave(visitors)


def test_a_visitor_who_leaves_while_the_worker_confirms_the_seat_gives_it_back_at_once(one_seat_workers):
    """``leave`` right behind ``join`` (one TCP segment) reaches the worker while it confirms the seat with
    Redis: the worker closes with 1000, makes no avatar, and gives the seat back at once (not after the
    30 s a dropped visitor's avatar is kept for). A rush of bots leaving under load did this."""
    import socket

    import msgpack
    import websockets
    from wsclient import Client

    from showroom.protocol.limits import PROTOCOL_VERSION

    cluster = one_seat_workers
    join = {"type": "join", "v": PROTOCOL_VERSION, "name": "quick-visitor", "role": "visitor", "token": ""}

    async def visit() -> tuple[int | None, list]:
        door = await Client.connect(cluster.url)
        try:
            await door.send(join)
            handover = await door.next_message(lambda m: m.get("type") in ("handover", "error"))
        finally:
            await door.ws.close()
        assert handover["type"] == "handover", handover
        async with websockets.connect(handover["url"], compression=None, open_timeout=10) as ws:
            sock = ws.transport.get_extra_info("socket")
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)  # both frames in one segment
            await ws.send(msgpack.packb({**join, "seat": handover["seat"]}))
            await ws.send(msgpack.packb({"type": "leave"}))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
            answers: list = []
            deadline = time.monotonic() + 5.0
            try:
                while time.monotonic() < deadline and len(answers) < 100:
                    data = await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.01))
                    answers.append(msgpack.unpackb(data, strict_map_key=False))
            except (websockets.ConnectionClosed, TimeoutError):
                pass
            kinds = [a.get("type", a.get("code")) if isinstance(a, dict) else "frame" for a in answers]
            return ws.close_code, kinds
    code, answers = asyncio.run(visit())
    assert code == 1000
    assert answers == [], answers  # no welcome, no error: a goodbye
    cluster.wait_for("the seat given back", lambda d: d["seats_taken"] == 0 and d["avatars"] == 0, timeout_s=5)


def test_bots_whose_worker_is_killed_join_again_through_the_front_door(one_seat_workers):
    """A load test against the front door; one bot's worker is SIGKILLed during the hold: the bot joins again
    through the door, with its wallet, on a worker with room, and the run goes on."""
    import threading

    cluster = one_seat_workers
    config = SwarmConfig(url=cluster.url, clients=2, ramp_per_s=100, duration_s=8.0, move_hz=2.0, mix="watch:1",
                         progress=False)
    outcome: dict = {}
    runner = threading.Thread(target=lambda: outcome.update(result=asyncio.run(run_swarm(config))), daemon=True)
    runner.start()
    doc = cluster.wait_for("both bots seated", lambda d: sum(w.get("avatars", 0) for w in d["workers"]) == 2)
    victim = next(w for w in doc["workers"] if w.get("avatars", 0) == 1)
    killed_at = time.time()
    os.kill(int(victim["worker"].rsplit("-", 1)[1]), signal.SIGKILL)
    runner.join(60)
    assert not runner.is_alive(), "the load test did not finish"
    result = outcome["result"]
    assert result.stats.rejoins == 1, (result.stats.rejoins, dict(result.stats.errors))
    rejoined = [bot for bot in result.bots if bot.rejoins]
    assert len(rejoined) == 1 and rejoined[0].welcomes == 2
    print(f"\nthe bot joined again {rejoined[0].joined_at - killed_at:.1f} s after its worker was killed")


def test_a_worker_killed_mid_show_its_visitor_is_seated_on_another_with_wallet_and_awards(one_seat_workers):
    """SIGKILL the worker holding a visitor whose wallet holds an award: `serve` starts another worker, and the
    desktop client's connection joins again through the front door by itself, with its wallet, and is seated
    there with the same award."""
    from server.event.rewards import wallet_key
    from server.storage.ledger import Ledger
    from showroom.scene import load_event

    cluster = one_seat_workers
    visitors: list[Connection] = []
    try:
        visitors = [Connection(cluster.url, f"viewer-{i}") for i in range(3)]
        victim = visitors[1]
        welcome = next(v for v, _at in _wait_for(victim, "welcome"))
        ledger = Ledger(cluster.data_dir, load_event(SCENE), database=cluster.database)
        try:
            award = ledger.award("selfie-with-teddy", wallet_key(welcome["wallet"]))
        finally:
            ledger.close()
        doc = cluster.metrics()
        lost_url = victim.url
        worker = next(w for w in doc["workers"] if w["url"] == lost_url)
        pid = int(worker["worker"].rsplit("-", 1)[1])
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        again = next(v for v, _at in _wait_for(victim, "welcome", timeout_s=30))
        seated_s = time.monotonic() - killed_at
        print(f"\nseated again on {victim.url} {seated_s:.1f} s after its worker was killed")
        assert victim.closed_reason is None and victim.rejoins == 1
        assert again["wallet"] == welcome["wallet"] and victim.url not in {lost_url, visitors[0].url, visitors[2].url}
        victim.send(msg.Wallet())
        contents = next(v for v, _at in _wait_for(victim, "wallet"))
        held = [(item["seq"], item["entitlement"]) for item in contents["items"]]
        assert award.seq in [seq for seq, _e in held], held
        assert [e for _s, e in held].count("first-hundred") == 1, held  # the arrival badge once, not twice
    finally:
        leave(visitors)


def _wait_for(connection: Connection, *types: str, timeout_s: float = 10.0) -> list[tuple[dict, float]]:
    """The first message of one of these types the connection receives (in a list), within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for value, at in connection.drain(10_000):
            if isinstance(value, dict) and value.get("type") in types:
                return [(value, at)]
        time.sleep(0.05)
    raise AssertionError(f"no {' or '.join(types)} within {timeout_s:g} s ({connection.closed_reason})")
