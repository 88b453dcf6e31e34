"""One event's seats shared by workers over Redis: atomic reservations on the first shard with room,
signed short-lived tokens, confirmation once by the owning worker, and dead workers dropped within
their heartbeat's TTL.

Everything runs against a private ``redis-server`` on 127.0.0.1 (``tests/private_redis.py``); the race
runs in four forked OS processes, each with its own client.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import json
import multiprocessing
import random
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from private_redis import PrivateRedis, private_redis

from server.cluster.seats import Seat, SeatRegistry, SeatToken, SeatTokenError
from showroom.errors import ShowroomError

SECRET = b"front-door-and-workers-share-me!"
PROCESSES = 4
RESERVATIONS_EACH = 500
RACE_WORKERS = {"w0": {0: 300, 1: 300}, "w1": {2: 300, 3: 300}, "w2": {4: 300, 5: 300}}  # 1,800 seats
BEAT_S = 0.1
CANCELS = 500


@pytest.fixture(scope="module")
def redis_server() -> Iterator[PrivateRedis]:
    """A private Redis for this module's tests; each test uses its own event, so their keys never meet."""
    with private_redis() as server:
        yield server


@contextlib.asynccontextmanager
async def beating(registry: SeatRegistry, workers: set[str]) -> AsyncIterator[None]:
    """Heartbeat every worker still in the set every BEAT_S, as a worker's loop would; drop one to 'kill' it."""

    async def loop() -> None:
        while True:
            for worker in list(workers):
                await registry.heartbeat(worker)
            await asyncio.sleep(BEAT_S)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_for(check, limit_s: float) -> float:
    """Poll the async check until it is true; the seconds it took, or fail after limit_s."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > limit_s:
            raise AssertionError(f"not true within {limit_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def _reserving_process(url: str, event: str, proc: int, barrier, out) -> None:
    """One front-door process: its own client, RESERVATIONS_EACH reserve() calls in flight at once."""

    async def rush() -> list[tuple | None]:
        async with SeatRegistry(url, event, worker_ttl_s=30, reservation_ttl_s=30) as registry:
            barrier.wait(timeout=60)  # every process connected: all rush at once
            seats = await asyncio.gather(*(registry.reserve(f"visitor-{proc}-{i:03d}")
                                           for i in range(RESERVATIONS_EACH)))
        return [None if s is None else (s.shard, s.reservation_id, s.worker_id, s.worker_url, s.expires_at_s)
                for s in seats]

    try:
        out.put((proc, asyncio.run(rush())))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        out.put((proc, f"error {exc!r}"))


def test_2000_visitors_from_4_processes_get_exactly_the_1800_seats_and_each_is_honoured_once(redis_server):
    event = "race"

    async def setup() -> None:
        async with SeatRegistry(redis_server.url, event, worker_ttl_s=30, reservation_ttl_s=30) as registry:
            for worker, shards in RACE_WORKERS.items():
                await registry.register_worker(worker, f"ws://127.0.0.1:90{worker[1]}0/", shards)

    asyncio.run(setup())
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_reserving_process, args=(redis_server.url, event, p, barrier, out))
             for p in range(PROCESSES)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    errors = [r for r in results.values() if isinstance(r, str)]
    assert not errors, errors
    outcomes = [r for p in range(PROCESSES) for r in results[p]]
    won = [Seat(event, *r) for r in outcomes if r is not None]
    capacity = sum(c for shards in RACE_WORKERS.values() for c in shards.values())
    assert len(outcomes) == 2000 and len(won) == min(2000, capacity) == 1800
    assert len({(s.shard, s.reservation_id) for s in won}) == len({s.reservation_id for s in won}) == 1800
    per_shard = collections.Counter(s.shard for s in won)
    assert per_shard == {shard: 300 for shard in range(6)}  # full, never over
    owner = {shard: worker for worker, shards in RACE_WORKERS.items() for shard in shards}
    assert all(s.worker_id == owner[s.shard] and s.worker_url == f"ws://127.0.0.1:90{s.worker_id[1]}0/"
               for s in won)
    print(f"\nseats won per process: {[sum(r is not None for r in results[p]) for p in range(PROCESSES)]}")

    async def honour() -> None:
        async with SeatRegistry(redis_server.url, event, worker_ttl_s=30, reservation_ttl_s=30) as registry:
            assert await registry.counts() == {shard: 300 for shard in range(6)}
            assert await asyncio.gather(*(registry.confirm(s) for s in won)) == [True] * 1800
            assert await asyncio.gather(*(registry.confirm(s) for s in won)) == [False] * 1800  # once only
            assert await registry.counts() == {shard: 300 for shard in range(6)}
            assert await registry.reserve("latecomer") is None  # held seats count: still full
            assert await registry.release(won[0].shard, won[0].reservation_id) is True  # a visitor leaves
            seat = await registry.reserve("latecomer")
            assert seat is not None and seat.shard == won[0].shard
            assert await registry.reserve("one-too-many") is None

    asyncio.run(honour())


def test_a_worker_that_stops_heartbeating_loses_its_seats_within_its_ttl_and_visitors_go_to_live_ones(redis_server):
    ttl_s = 1.0  # heartbeats every BEAT_S keep a worker alive even when a busy machine delays a few of them

    async def scenario() -> None:
        async with SeatRegistry(redis_server.url, "dead-worker", worker_ttl_s=ttl_s) as registry:
            await registry.register_worker("alpha", "ws://127.0.0.1:9001/", {0: 2, 1: 2})
            await registry.register_worker("beta", "ws://127.0.0.1:9002/", {2: 10})
            alive = {"alpha", "beta"}
            async with beating(registry, alive):
                seats = [await registry.reserve(f"v{i}") for i in range(3)]
                assert [(s.shard, s.worker_id) for s in seats if s] == [(0, "alpha"), (0, "alpha"), (1, "alpha")]
                assert [await registry.confirm(s) for s in seats if s] == [True, True, True]
                assert await registry.counts() == {0: 2, 1: 1, 2: 0}
                await asyncio.sleep(3 * ttl_s)  # heartbeats keep alpha alive well past its TTL
                assert await registry.counts() == {0: 2, 1: 1, 2: 0}

                alive.discard("alpha")  # alpha dies
                await asyncio.sleep(BEAT_S)  # a beat already under way ends
                await wait_for(lambda: _counts_are(registry, {2: 0}), ttl_s + 2.0)  # within seconds, not for good
                seat = await registry.reserve("newcomer")
                assert seat is not None and (seat.shard, seat.worker_id, seat.worker_url) == (
                    2, "beta", "ws://127.0.0.1:9002/")
                assert await registry.confirm(seats[2]) is False  # alpha's old reservations are gone
                assert await registry.heartbeat("alpha") is False  # a late beat tells alpha to register again

                await registry.register_worker("alpha", "ws://127.0.0.1:9001/", {0: 2, 1: 2})
                alive.add("alpha")
                assert await registry.counts() == {0: 0, 1: 0, 2: 1}  # it came back empty
                back = await registry.reserve("after-restart")
                assert back is not None and (back.shard, back.worker_id) == (0, "alpha")

    asyncio.run(scenario())


async def _counts_are(registry: SeatRegistry, expected: dict[int, int]) -> bool:
    return await registry.counts() == expected


def test_unconfirmed_reservations_expire_and_free_their_seats_and_cannot_be_confirmed_late(redis_server):
    async def scenario() -> None:
        async with SeatRegistry(redis_server.url, "expiry", worker_ttl_s=30, reservation_ttl_s=0.5) as registry:
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 2})
            kept, lapsing = await registry.reserve("kept"), await registry.reserve("lapsing")
            assert kept is not None and lapsing is not None
            assert await registry.reserve("waiting") is None
            assert await registry.confirm(kept) is True
            took = await wait_for(lambda: _counts_are(registry, {0: 1}), 3.0)
            assert took >= 0.3, f"the reservation lapsed after {took:.2f} s, before its 0.5 s"
            assert await registry.confirm(lapsing) is False
            assert await registry.reserve("waiting") is not None  # the freed seat
            assert await registry.reserve("another") is None  # the held seat never lapses
            assert await registry.counts() == {0: 2}

    asyncio.run(scenario())


def test_a_seat_goes_from_front_door_to_worker_as_a_token_and_a_retried_reservation_keeps_one_seat(redis_server):
    async def scenario() -> None:
        async with SeatRegistry(redis_server.url, "front-door", worker_ttl_s=30) as registry:
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 1, 1: 1})
            seat = await registry.reserve("ada")
            again = await registry.reserve("ada")  # the visitor's request was retried
            assert seat is not None and again is not None and again.shard == seat.shard
            assert again.expires_at_s >= seat.expires_at_s
            assert await registry.counts() == {0: 1, 1: 0}

            token = SeatToken.sign(seat, SECRET, registry.reservation_ttl_s)
            arrived = SeatToken.verify(token, SECRET)  # at the worker, whose URL the token names
            assert arrived == seat and arrived.worker_url == "ws://127.0.0.1:9001/"
            assert await registry.confirm(arrived) is True
            held = await registry.reserve("ada")  # a held seat stays that visitor's one seat
            assert held is not None and held.shard == seat.shard and held.expires_at_s == float("inf")
            assert await registry.confirm(held) is False
            assert await registry.counts() == {0: 1, 1: 0}

    asyncio.run(scenario())


def _cancelling_process(url: str, out) -> None:
    """Start and cancel a worker's heartbeat loop CANCELS times at random moments; report how many
    cancels were lost (it stops at the first) and how many landed while a heartbeat was in flight.
    A lost cancel can leave the loop unclosable, hence a process of its own that the test can kill."""

    async def scenario() -> None:
        async with SeatRegistry(url, "cancelled", worker_ttl_s=30) as registry:
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 5})
            stuck, mid_call = 0, 0
            calling = False

            async def loop() -> None:
                nonlocal calling
                while True:
                    calling = True
                    await registry.heartbeat("solo")
                    calling = False

            for _ in range(CANCELS):
                calling = False
                task = asyncio.create_task(loop())
                await asyncio.sleep(random.random() * 0.002)  # mid-call, between calls, before the first
                mid_call += calling
                task.cancel()
                done, _ = await asyncio.wait([task], timeout=0.5)
                if not done:
                    stuck += 1
                    break
            out.put((stuck, mid_call))

    asyncio.run(scenario())


def test_a_worker_heartbeat_loop_stops_as_soon_as_it_is_cancelled_whenever_that_happens(redis_server):
    """A worker cancels its heartbeat task on shutdown; a task that swallowed the cancel would beat forever."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    proc = ctx.Process(target=_cancelling_process, args=(redis_server.url, out))
    proc.start()
    try:
        stuck, mid_call = out.get(timeout=30)
    finally:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    assert stuck == 0, "a cancelled heartbeat loop kept running"
    assert mid_call > CANCELS // 4, mid_call  # the cancels did land while calls were in flight


class ReplyCutter:
    """A TCP proxy in front of Redis that, once armed, forwards the next command and then cuts the
    connection before the reply: the reply is lost after Redis has run the command."""

    def __init__(self, port: int) -> None:
        self.port, self.armed, self.cuts = port, False, 0
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/0"

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.port)
        cutting = False

        async def pump(r: asyncio.StreamReader, w: asyncio.StreamWriter, to_server: bool) -> None:
            nonlocal cutting
            while data := await r.read(65536):
                if to_server and self.armed:
                    self.armed, self.cuts, cutting = False, self.cuts + 1, True
                if not to_server and cutting:
                    continue  # Redis ran the command; its reply goes nowhere
                w.write(data)
                await w.drain()
                if cutting:
                    await asyncio.sleep(0.2)
                    return

        tasks = [asyncio.create_task(pump(client_r, server_w, True)),
                 asyncio.create_task(pump(server_r, client_w, False))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (client_w, server_w):
            w.close()


def test_a_confirm_whose_reply_is_lost_is_retried_and_still_honours_the_visitor_once(redis_server):
    async def scenario() -> None:
        cutter = ReplyCutter(int(redis_server.url.rsplit(":", 1)[1].split("/")[0]))
        url = await cutter.start()
        async with SeatRegistry(url, "lost-reply", worker_ttl_s=30) as registry:
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 1})
            seat = await registry.reserve("ada")
            assert seat is not None
            cutter.armed = True
            assert await registry.confirm(seat) is True  # held by the first try, reported by the retry
            assert cutter.cuts == 1
            assert await registry.confirm(seat) is False  # any later confirm is a second one
            assert await registry.counts() == {0: 1}
            cutter.armed = True
            assert await registry.reserve("ada") == Seat("lost-reply", 0, "ada", "solo", "ws://127.0.0.1:9001/",
                                                         float("inf"))  # a retried reserve keeps one seat
            assert cutter.cuts == 2 and await registry.counts() == {0: 1}

    asyncio.run(scenario())


def test_seat_tokens_round_trip_and_refuse_tampering_a_wrong_secret_expiry_and_garbage():
    seat = Seat("gala", 3, "ada-7f3c", "w1", "ws://10.0.0.5:9001/", 1_700_000_010.25)
    token = SeatToken.sign(seat, SECRET, ttl_s=10, now=1_700_000_000.0)
    assert len(token) < 300 and token.count(".") == 1
    assert SeatToken.verify(token, SECRET, now=1_700_000_009.9) == seat
    held = Seat("gala", 0, "bob", "w0", "ws://10.0.0.4:9001/", float("inf"))
    assert SeatToken.verify(SeatToken.sign(held, SECRET, now=5.0), SECRET, now=6.0) == held

    body, mac = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["s"] = 0  # a visitor moves themselves to a better shard
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode() + "." + mac
    cases = {
        "bad signature": [(forged, SECRET), (token, b"another-secret-of-32-bytes-long!")],
        "expired": [(token, SECRET)],
        "malformed": [("", SECRET), ("not a token", SECRET), (body, SECRET), (token + "!", SECRET),
                      (token.replace(".", ".@"), SECRET)],
    }
    for reason, tokens in cases.items():
        for text, secret in tokens:
            with pytest.raises(SeatTokenError) as refused:
                SeatToken.verify(text, secret, now=1_700_000_010.0)
            assert refused.value.reason == reason, (text, refused.value)
            assert str(refused.value).startswith(f"seat token rejected: {reason}")
    with pytest.raises(SeatTokenError, match=r"expired \(0\.5 s ago\)"):
        SeatToken.verify(token, SECRET, now=1_700_000_010.5)
    with pytest.raises(ShowroomError, match="at least 16 bytes"):
        SeatToken.sign(seat, b"short")


def test_registry_errors_name_the_broker_and_the_fault_but_never_the_password(redis_server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        silent = s.getsockname()[1]  # nothing listens once the socket closes

    async def scenario() -> None:
        with pytest.raises(ShowroomError) as unreachable:
            await SeatRegistry(f"redis://:hunter2@127.0.0.1:{silent}/0", "gala").connect()
        message = str(unreachable.value)
        assert f"Redis at redis://:***@127.0.0.1:{silent}/0: could not connect for event 'gala'" in message
        assert "hunter2" not in message
        with pytest.raises(ShowroomError, match="not a Redis URL: http://127.0.0.1/"):
            await SeatRegistry("http://127.0.0.1/", "gala").connect()
        with pytest.raises(ShowroomError, match="worker_ttl_s must be a positive number of seconds, not 0"):
            SeatRegistry(redis_server.url, "gala", worker_ttl_s=0)

        async with SeatRegistry(redis_server.url, "conflict", worker_ttl_s=30) as registry:
            await registry.register_worker("alpha", "ws://127.0.0.1:9001/", {0: 5, 1: 5})
            with pytest.raises(ShowroomError, match="worker 'beta' cannot take shard 1 of event 'conflict': "
                                                    "live worker 'alpha' owns it"):
                await registry.register_worker("beta", "ws://127.0.0.1:9002/", {1: 5, 2: 5})
            with pytest.raises(ShowroomError, match=r"worker 'beta': shard 2: capacity must be an integer >= 1, not 0"):
                await registry.register_worker("beta", "ws://127.0.0.1:9002/", {2: 0})
            await registry.unregister_worker("alpha")  # a clean shutdown frees its shards at once
            await registry.register_worker("beta", "ws://127.0.0.1:9002/", {1: 5, 2: 5})
            assert await registry.counts() == {1: 0, 2: 0}

    asyncio.run(scenario())


def test_after_redis_restarts_empty_workers_learn_it_from_their_heartbeat_and_register_again(redis_server):
    async def scenario() -> None:
        async with SeatRegistry(redis_server.url, "restart", worker_ttl_s=30) as registry:
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 5})
            assert await registry.reserve("ada") is not None
            redis_server.restart()  # nothing was saved: the registry is gone
            assert await registry.heartbeat("solo") is False  # the same client reconnects by itself
            assert await registry.reserve("bob") is None
            await registry.register_worker("solo", "ws://127.0.0.1:9001/", {0: 5})
            assert await registry.reserve("bob") is not None and await registry.counts() == {0: 1}

    asyncio.run(scenario())
