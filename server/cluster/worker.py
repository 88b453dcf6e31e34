"""One worker process of an event spread over processes and machines: its shards, seats, bus and figures.

The worker takes a number in the event (``INCR`` in Redis; shard ``index + 1000 * j`` is its ``j``-th shard, so
the seat registry, which fills the lowest-numbered shard with room first, spreads the first visitors over
every worker), registers its shards with the seat registry, heartbeats about every second, honours seat
tokens from the front door (:class:`~server.event.event.SeatGate`), gives seats back when their visitors
leave, relays host actions over the bus and applies everyone's, and publishes its ``/metrics`` figures
(with a TTL) for the front door's event-wide ``/metrics`` and the hosts' status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.cluster.bus import Bus
from server.cluster.seats import SeatRegistry, SeatToken, SeatTokenError, shown_url
from server.event.clock import LEAD_TICKS, Anchor, SharedClock
from server.event.event import FIRST_VISITOR_ID, Event
from showroom.errors import ShowroomError

log = logging.getLogger("showroom.cluster")

HEARTBEAT_S = 1.0
"""How often a worker renews its heartbeat and publishes its figures."""
MAX_WORKERS = 1000
"""Worker numbers in one event (a worker's shards are numbered ``index + MAX_WORKERS * j``)."""
IDS_PER_WORKER = 1_000_000
"""Visitor ids a worker may hand out (``FIRST_VISITOR_ID + index * IDS_PER_WORKER`` on)."""
_LUA_KEEP = """
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('SET', KEYS[2], ARGV[2], 'NX')
return 1
"""
"""Put back what a restarted Redis lost of the event: the worker-number counter (never behind a live worker's
number) and the seat secret (every process of the event holds the same one)."""
MAX_PENDING_CALLS = 10_000
"""Seat confirmations and releases in flight at most; past this a joining visitor is refused."""


def keys(event_id: str) -> dict[str, str]:
    """The event's Redis keys besides the seat registry's and the bus': worker numbers, seat secret, figures."""
    prefix = f"showroom:{{{event_id}}}:"
    return {"index": prefix + "worker-index", "secret": prefix + "seat-secret", "stats": prefix + "stats:",
            "prefix": prefix}


async def seat_secret(client: aioredis.Redis, event_id: str) -> bytes:
    """The event's seat-token secret: made once by whichever process asks first, then shared (Redis)."""
    key = keys(event_id)["secret"]
    await client.set(key, secrets.token_hex(32), nx=True)
    value = await client.get(key)
    return bytes.fromhex(str(value))


class ClusterWorker:
    """The event's side of one worker: call :meth:`start` once the event exists and the socket is bound."""

    def __init__(self, event: Event, redis_url: str, *, worker_id: str, index: int, url: str, front_door: str,
                 registry: SeatRegistry, client: aioredis.Redis, secret: bytes) -> None:
        self.event = event
        self.redis_url = redis_url
        self.worker_id = worker_id
        self.index = index
        self.url = url
        self.front_door = front_door
        self.registry = registry
        self.client = client
        self.secret = secret
        self.bus = Bus(redis_url, event.scene.event.id, event.apply_relayed)
        self.calls: set[asyncio.Task[Any]] = set()
        self.tasks: list[asyncio.Task[Any]] = []
        self.peers: dict[str, dict[str, Any]] = {}

    # ---- seats (SeatGate) ------------------------------------------------------------------
    def confirm(self, token: str, seated: Callable[[int, str], None], refused: Callable[[str], None]) -> None:
        """Check the seat token's signature, then confirm the seat with the registry (on the loop)."""
        try:
            seat = SeatToken.verify(token, self.secret)
        except SeatTokenError as exc:
            refused(f"{exc}; join through the front door again, {self.front_door}")
            return
        if seat.worker_id != self.worker_id or seat.shard not in self.event.shard_numbers:
            refused(f"this seat is on shard {seat.shard} of worker {seat.worker_id}, not on this worker "
                    f"({self.worker_id}); connect to {seat.worker_url}")
            return
        if len(self.calls) >= MAX_PENDING_CALLS:
            refused("this worker is busy seating visitors; join through the front door again")
            return

        async def confirming() -> None:
            try:
                ok = await self.registry.confirm(seat)
            except ShowroomError as exc:
                log.warning("seat confirmation failed: %s", exc)
                refused("the seat registry did not answer; join through the front door again")
                return
            if ok:
                seated(seat.shard, seat.reservation_id)
            else:
                refused(f"the seat reserved on shard {seat.shard} expired or was taken; join through the front "
                        f"door again, {self.front_door}")
        self._call(confirming())

    def release(self, shard: int, seat: str) -> None:
        """Give a seat back to the registry (a visitor left for good)."""
        async def releasing() -> None:
            try:
                await self.registry.release(shard, seat)
            except ShowroomError as exc:  # the seat lapses with the worker's next re-registration at worst
                log.warning("seat release failed: %s", exc)
        self._call(releasing())

    def _call(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)

    # ---- life -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Register the shards, join the bus (taking the event's show clock), start heartbeating."""
        event = self.event
        tick = round(time.time() * event.tick_hz) + LEAD_TICKS  # the show starts here if this worker is the first
        event.clock = SharedClock(event.dt_s, event.scene.event.duration, Anchor(tick, 0.0, event.playing))
        event.relay = self.bus.publish
        event.gate = self
        event.peer_counts = self.counts
        event.peer_shards = self.other_shards
        event.peer_audience = self.others_audience
        if event.communities is not None:  # polls opened or closed here are read from the shared store there
            event.communities.polls.share(lambda: self.bus.publish("polls", {"at": time.time()}), f"w{self.index}-")
        await self._register()
        await self.bus.connect()
        if "show" not in self.bus.state:  # the event's first worker: its clock is everyone's
            self.bus.publish("show", Anchor(tick, 0.0, event.playing).wire())
        else:
            clock = event.clock
            clock.current, clock.pending = clock.latest, []  # mid-show: the show is where the others have it
        self.tasks = [asyncio.ensure_future(self.bus.run()), asyncio.ensure_future(self._heartbeat())]
        front = f" (front door {self.front_door})" if self.front_door else ""
        log.info("worker %s (#%d) holds shards %s on %s%s", self.worker_id, self.index,
                 ", ".join(map(str, event.shard_numbers)), self.url, front)

    async def _register(self) -> None:
        capacity = self.event.capacity
        held = {shard.number: [m.seat for m in shard.members.values() if m.seat]  # after a lapse: they keep them
                for shard in self.event.shards}
        await self.registry.register_worker(self.worker_id, self.url, dict.fromkeys(self.event.shard_numbers, capacity),
                                            held)

    async def _heartbeat(self) -> None:
        """Renew the heartbeat (re-registering after a lapse), publish this worker's figures, read the others'."""
        names = keys(self.event.scene.event.id)
        stats_key = names["stats"]
        keep = self.client.register_script(_LUA_KEEP)
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                if not await self.registry.heartbeat(self.worker_id):
                    log.warning("worker %s: heartbeat had lapsed (a Redis restart?); registering again", self.worker_id)
                    await self._register()
                async with asyncio.timeout(3.0):
                    await keep(keys=[names["index"], names["secret"]], args=[self.index + 1, self.secret.hex()])
                    await self.client.set(stats_key + self.worker_id, json.dumps(self.figures()),
                                          px=round(self.registry.worker_ttl_s * 1000))
                    workers = await self.registry.workers()
                    raw = await self.client.mget([stats_key + w for w in workers]) if workers else []
                self.peers = {w: json.loads(r) for w, r in zip(workers, raw) if r}
            except (ShowroomError, RedisError, OSError, TimeoutError, ValueError) as exc:
                log.warning("worker %s: heartbeat failed (%s); retrying", self.worker_id, exc or "timeout")

    def figures(self) -> dict[str, Any]:
        """This worker's ``/metrics`` document, with its id, URL and bus figures."""
        event = self.event
        doc: dict[str, Any] = dict(event.metrics.snapshot(event.connected, event.visitors, len(event.shards)))
        doc.update(self.bus.snapshot(), worker=self.worker_id, index=self.index, url=self.url,
                   show_t=round(event.show_t, 3), playing=event.playing, reactions_total=event.reaction_totals(),
                   shard_list=[[s.number, s.occupied, s.seats.connected] for s in event.shards])
        return doc

    def other_shards(self) -> list[tuple[int, int, int]]:
        """The other live workers' shards: (number, avatars, connected), as they last published them."""
        found = []
        for worker, figures in self.peers.items():
            if worker != self.worker_id:
                for entry in figures.get("shard_list", ()):
                    with contextlib.suppress(TypeError, ValueError):
                        number, occupied, connected = (int(v) for v in entry)
                        found.append((number, occupied, connected))
        return sorted(found)

    def others_audience(self) -> tuple[int, dict[str, int]]:
        """The other live workers' connected visitors and reaction totals, as they last published them."""
        visitors, reactions = 0, dict[str, int]()
        for worker, figures in self.peers.items():
            if worker == self.worker_id:
                continue
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                visitors += int(figures.get("visitors", 0))
                for reaction, n in dict(figures.get("reactions_total") or {}).items():
                    reactions[str(reaction)] = reactions.get(str(reaction), 0) + int(n)
        return visitors, reactions

    def counts(self) -> dict[str, int]:
        """Event-wide visitors, connected visitors and shards, as the workers last published them."""
        peers = dict(self.peers)
        peers[self.worker_id] = {"visitors": self.event.connected, "avatars": self.event.visitors,
                                 "shards": len(self.event.shards)}
        return {"workers": len(peers), **{k: sum(int(p.get(k, 0)) for p in peers.values())
                                          for k in ("visitors", "avatars", "shards")}}

    async def stop(self) -> None:
        """Leave the event: stop heartbeating, give the shards and their seats up, close the connections."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        try:
            await self.registry.unregister_worker(self.worker_id)
        except ShowroomError as exc:
            log.warning("worker %s: could not unregister (%s); its seats lapse with its heartbeat", self.worker_id, exc)
        await self.bus.close()
        await self.registry.close()
        await self.client.aclose()


async def join_event(event_id: str, redis_url: str, shards_per_worker: int) -> tuple[
        int, list[int], SeatRegistry, aioredis.Redis, bytes]:
    """Before the event is made: this worker's number, its shard numbers, and its connections to Redis."""
    registry = SeatRegistry(redis_url, event_id)
    await registry.connect()
    client = aioredis.Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=None)
    try:
        async with asyncio.timeout(5.0):
            taken = await client.incr(keys(event_id)["index"])
            secret = await seat_secret(client, event_id)
    except (RedisError, OSError, TimeoutError) as exc:
        await registry.close()
        await client.aclose()
        raise ShowroomError(f"Redis at {shown_url(redis_url)}: cannot join event {event_id!r}: {exc or 'no answer'}") from None
    index = (taken - 1) % MAX_WORKERS
    return index, [index + MAX_WORKERS * j for j in range(shards_per_worker)], registry, client, secret


def first_id(index: int) -> int:
    """The first visitor id of worker ``index``."""
    return FIRST_VISITOR_ID + index * IDS_PER_WORKER
