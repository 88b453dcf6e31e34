"""Host actions shared by an event's workers over Redis: one ordered stream, sequence numbers, resync on any doubt.

Redis pub/sub forgets whatever is published while a subscriber reconnects, so the bus is a Redis
*stream* (``XADD``/``XREAD``), and every message carries a sequence number given by Redis in the same
script that appends it. Every worker, the sender included, applies the messages in that order:

* a sequence number already seen is skipped (a retried read);
* a gap (the stream trimmed, or Redis restarted without its data) makes the worker *resynchronise*:
  it reads the event's state hash, which holds the newest message of every kind that is state rather
  than news (the show clock's anchor, each drop, each ban), and applies what is newer than what it has;
* a dropped connection (a broker restart) is retried every :data:`RETRY_S`; once Redis answers, the
  worker first writes back what it knows into the state hash (per key, only where newer: a restarted
  Redis has lost it) and then resynchronises. Every worker holds the whole state, so the first one
  back restores it for all.

News (an announcement, a kick) sent while a worker was cut off is not replayed to it: it would come
late. Host actions made while Redis is down wait in a bounded queue and go out, in order, once it
is back. Reached through redis-py's asyncio client, bounded by ``asyncio.timeout`` rather than
redis-py's socket timeout (see :meth:`server.cluster.seats.SeatRegistry._reaching`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from server.cluster.seats import shown_url
from showroom.errors import ShowroomError

log = logging.getLogger("showroom.cluster")

STREAM_MAXLEN = 10_000
"""Messages the stream keeps (about; trimmed by Redis): a worker further behind resynchronises."""
MAX_WAITING = 1_000
"""Host actions waiting for Redis at most; past this the oldest is dropped (and logged)."""
RETRY_S = 0.1
"""How often a worker cut off from Redis tries again."""
READ_BLOCK_MS = 1_000
CALL_TIMEOUT_S = 3.0
STATE_KINDS = {"show": lambda body: "show", "drop": lambda body: f"drop:{body['entitlement']}",
               "ban": lambda body: f"ban:{str(body['name']).casefold()}", "polls": lambda body: "polls",
               "scene": lambda body: "scene"}
"""Kinds of message that are state (the newest of each key is kept for resynchronising), and their key."""

# KEYS: seq counter, stream, state hash. ARGV: kind, body (JSON), stream length, state key or ''.
_LUA_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'seq', seq, 'kind', ARGV[1], 'body', ARGV[2])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], cjson.encode({seq, ARGV[1], ARGV[2]})) end
redis.call('HSET', KEYS[3], 'seq', seq)
return seq
"""

# KEYS as above. ARGV: the worker's newest seq, then state key, [seq, kind, body] pairs. Each key is
# written only where the hash holds nothing newer; the counter never goes back.
_LUA_RESEED = """
local mine = tonumber(ARGV[1])
for i = 2, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[3], ARGV[i])
  if not cur or cjson.decode(cur)[1] < cjson.decode(ARGV[i + 1])[1] then
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
if tonumber(redis.call('HGET', KEYS[3], 'seq') or '0') < mine then redis.call('HSET', KEYS[3], 'seq', mine) end
if tonumber(redis.call('GET', KEYS[1]) or '0') < mine then redis.call('SET', KEYS[1], mine) end
return 1
"""


@dataclass
class BusStats:
    """What the bus did, for ``/metrics``."""

    received: int = 0
    published: int = 0
    gaps: int = 0
    resyncs: int = 0
    reconnects: int = 0
    dropped: int = 0
    """Host actions dropped because too many waited for Redis."""
    last_resync_s: float = 0.0
    """How long the last outage lasted, from the first failed call to the end of the resync (seconds)."""
    outages: list[float] = field(default_factory=list)
    back_at: float = 0.0
    """Unix time the last outage ended (Redis answered, the state was written back and resynchronised)."""


class Bus:
    """One worker's end of its event's bus: ``publish`` host actions, ``apply(kind, body, seq)`` everyone's."""

    def __init__(self, redis_url: str, event: str, apply: Callable[[str, dict[str, Any], int], None]) -> None:
        self.url = redis_url
        self.event = event
        self.apply = apply
        prefix = f"showroom:{{{event}}}:bus:"
        self.keys = [prefix + "seq", prefix + "stream", prefix + "state"]
        self.last_seq = 0
        self.last_id = "0-0"
        self.state: dict[str, tuple[int, str, str]] = {}
        """The newest message of each state key this worker applied: (seq, kind, body JSON)."""
        self.waiting: deque[tuple[str, str]] = deque()
        self.wake = asyncio.Event()
        self.stats = BusStats()
        self.connected = asyncio.Event()
        self._healing = asyncio.Lock()
        self._generation = 0
        """Counts reconnections: a caller that failed under an older one need not reconnect again."""
        self._client: aioredis.Redis | None = None
        self._publish: Any = None
        self._reseed: Any = None

    # ---- setup ------------------------------------------------------------------------
    async def connect(self) -> None:
        """Open the connection, take the event's state (a worker that starts mid-show catches up) and the
        stream's position; ShowroomError when Redis does not answer."""
        try:
            client = aioredis.Redis.from_url(self.url, decode_responses=True, socket_connect_timeout=2,
                                             socket_timeout=None, max_connections=4)
        except ValueError as exc:
            raise ShowroomError(f"not a Redis URL: {shown_url(self.url)} ({exc})") from None
        self._client = client
        self._publish = client.register_script(_LUA_PUBLISH)
        self._reseed = client.register_script(_LUA_RESEED)
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                await self._catch_up()
        except (RedisError, OSError, TimeoutError) as exc:
            await client.aclose()
            self._client = None
            raise ShowroomError(f"Redis at {shown_url(self.url)}: cannot reach the bus of event {self.event!r}: "
                                f"{exc or 'no answer'}") from None
        self.connected.set()

    async def close(self) -> None:
        """Close the connection (what is still waiting to be published is lost)."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _redis(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError("the bus is not connected: await connect() first")
        return self._client

    # ---- sending ------------------------------------------------------------------------
    def publish(self, kind: str, body: dict[str, Any]) -> None:
        """Queue a host action for every worker (this one included); it goes out at once while Redis answers."""
        if len(self.waiting) >= MAX_WAITING:
            dropped = self.waiting.popleft()
            self.stats.dropped += 1
            log.error("bus of %s: %d host actions wait for Redis; dropped the oldest (%s)", self.event,
                      MAX_WAITING, dropped[0])
        self.waiting.append((kind, json.dumps(body, separators=(",", ":"))))
        self.wake.set()

    async def _send_waiting(self) -> None:
        """Send the queue in order; a failure leaves the rest (and the one that failed) queued."""
        client = self._redis()
        while True:
            while self.waiting:
                kind, body = self.waiting[0]
                key = STATE_KINDS[kind](json.loads(body)) if kind in STATE_KINDS else ""
                generation = self._generation
                try:
                    async with asyncio.timeout(CALL_TIMEOUT_S):
                        await self._publish(keys=self.keys, args=[kind, body, STREAM_MAXLEN, key], client=client)
                except (RedisError, OSError, TimeoutError) as exc:
                    log.warning("bus of %s: cannot publish %s yet (%s)", self.event, kind, exc or "timeout")
                    await self._heal(generation)  # a restarted Redis gets the state back before anything new
                    continue
                self.waiting.popleft()
                self.stats.published += 1
            self.wake.clear()
            await self.wake.wait()

    # ---- receiving ------------------------------------------------------------------------
    async def _catch_up(self) -> None:
        """Write back what this worker knows where Redis lost it, note the stream's end, apply the state."""
        client = self._redis()
        args: list[Any] = [self.last_seq]
        for key, entry in self.state.items():
            args += [key, json.dumps(list(entry))]
        await self._reseed(keys=self.keys, args=args, client=client)
        last: Any = await client.xrevrange(self.keys[1], count=1)
        if last and self.last_id == "0-0":
            self.last_id = last[0][0]
        await self._resync()

    async def _resync(self) -> None:
        """Apply every state key newer than this worker's copy; what came before the newest seq is done."""
        state: dict[str, str] = {str(k): str(v) for k, v in (await self._redis().hgetall(self.keys[2])).items()}
        newest = int(state.pop("seq", 0) or 0)
        entries = []
        for key, raw in state.items():
            try:
                seq, kind, body = json.loads(raw)
            except (ValueError, TypeError):
                log.warning("bus of %s: unreadable state %r", self.event, key)
                continue
            if seq > self.state.get(key, (0, "", ""))[0]:
                entries.append((int(seq), key, kind, body))
        for seq, key, kind, body in sorted(entries):
            self._apply(seq, kind, body, key)
        self.last_seq = max(self.last_seq, newest)
        self.stats.resyncs += 1

    def _apply(self, seq: int, kind: str, body: str, key: str | None = None) -> None:
        try:
            value = json.loads(body)
            if not isinstance(value, dict):
                raise ValueError("not a map")
            if key is None and kind in STATE_KINDS:
                key = STATE_KINDS[kind](value)
        except (ValueError, KeyError) as exc:
            log.warning("bus of %s: ignored message %d (%s): %s", self.event, seq, kind, exc)
            return
        if key is not None:
            if seq <= self.state.get(key, (0, "", ""))[0]:
                return
            self.state[key] = (seq, kind, body)
        self.stats.received += 1
        self.apply(kind, value, seq)

    async def _read(self) -> None:
        """Apply the stream's messages as they come, in order; resynchronise on a gap."""
        client = self._redis()
        while True:
            async with asyncio.timeout(CALL_TIMEOUT_S + READ_BLOCK_MS / 1000):
                batch: Any = await client.xread({self.keys[1]: self.last_id}, count=500, block=READ_BLOCK_MS)
            for _stream, entries in batch or ():
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    try:
                        seq = int(fields["seq"])
                    except (KeyError, ValueError):
                        continue
                    if seq <= self.last_seq:
                        continue
                    if seq > self.last_seq + 1:
                        self.stats.gaps += 1
                        log.warning("bus of %s: messages %d-%d never reached this worker; resynchronising",
                                    self.event, self.last_seq + 1, seq - 1)
                        await self._resync()
                    self._apply(seq, fields.get("kind", ""), fields.get("body", "{}"))
                    self.last_seq = max(self.last_seq, seq)

    async def run(self) -> None:
        """Read and send until cancelled; when Redis goes away, retry, then write back and resynchronise."""
        sender = asyncio.ensure_future(self._send_waiting())
        try:
            while True:
                generation = self._generation
                try:
                    await self._read()
                except (RedisError, OSError, TimeoutError) as exc:
                    log.warning("bus of %s: lost Redis (%s)", self.event, exc or "timeout")
                    await self._heal(generation)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _heal(self, generation: int) -> None:
        """Reach Redis again (retrying every :data:`RETRY_S`), write back the state and resynchronise; once for
        the reader and the sender together (``generation``: the reconnection the failed call ran under)."""
        async with self._healing:
            if self._generation != generation:
                return  # the other side reconnected meanwhile
            self.connected.clear()
            lost = time.monotonic()
            while True:
                await asyncio.sleep(RETRY_S)
                try:
                    async with asyncio.timeout(CALL_TIMEOUT_S):
                        await self._redis().ping()
                        await self._catch_up()
                except (RedisError, OSError, TimeoutError):
                    continue
                break
            took = time.monotonic() - lost
            self._generation += 1
            self.stats.reconnects += 1
            self.stats.last_resync_s = took
            self.stats.outages.append(took)
            self.stats.back_at = time.time()
            del self.stats.outages[:-32]
            self.connected.set()
            self.wake.set()
            log.info("bus of %s: Redis answers again after %.2f s; state written back and resynchronised",
                     self.event, took)

    def snapshot(self) -> dict[str, Any]:
        """The bus' figures for ``/metrics``."""
        s = self.stats
        return {"bus_seq": self.last_seq, "bus_received": s.received, "bus_published": s.published,
                "bus_gaps": s.gaps, "bus_resyncs": s.resyncs, "bus_reconnects": s.reconnects,
                "bus_dropped": s.dropped, "bus_waiting": len(self.waiting),
                "bus_last_outage_s": round(s.last_resync_s, 3), "bus_back_at": round(s.back_at, 3)}
