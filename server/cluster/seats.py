"""Seats of one event shared by its workers over Redis: reserved atomically on the first shard with room,
handed to the visitor as a signed short-lived token, honoured by the worker that owns the shard.

Colyseus reserves seats over Redis too and is the cautionary tale: with several instances, visitors
are turned away with "seat reservation expired" (colyseus#552/#571/#622), and a node that dies stays
in the registry for good (#389). Here:

* every decision is one Lua script (``EVALSHA``), so checking room and taking it cannot interleave
  with another worker's, and the scripts read Redis' own clock (``TIME``), never a client's;
* a worker is alive only while its heartbeat key exists (``SET ... PX worker_ttl_s``); a script that
  meets a shard whose owner's key has lapsed forgets the shard and its seats on the spot, so a dead
  worker stops holding seats within ``worker_ttl_s`` and leaves nothing behind;
* a reservation is a member of its shard's sorted set scored by its expiry (ms, server time); the
  owning worker's ``confirm`` turns it into a held seat (score ``+inf``) only if it has not expired;
* a dropped connection is retried (a restarted Redis is found again), and every call stays exact
  when retried after a lost reply: a reservation id is an idempotency key, and a confirmation carries
  a nonce, so only the very call that held a seat may see it held and still answer True.

Redis is reached through redis-py's asyncio client (the maintained official client; installed with the
``cluster`` extra) over a bounded connection pool. An event's keys, ``showroom:{EVENT}:``…: ``shards``
(sorted set, shard by number), ``owner`` and ``capacity`` (hashes by shard), ``url`` (hash by worker),
``alive:WORKER`` (the heartbeat), ``seats:SHARD`` (sorted set of reservation ids by expiry) and
``held:SHARD`` (confirmation nonces). They share the hash tag ``{EVENT}``, so they would live in one
slot should the broker ever be a Redis Cluster.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Self

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from showroom.errors import ShowroomError

WORKER_TTL_S = 5.0
"""How long a worker counts as alive after its last heartbeat; it heartbeats about every second. Long enough
for a worker's loop to get through a rush of joins on a busy machine (3 s lapsed with 2,000 joins at once on
two cores shared by three workers, the bots, Redis and PostgreSQL), short enough that the visitors of a worker
that died are seated elsewhere within 10 s."""
RESERVATION_TTL_S = 10.0
"""How long a reserved seat waits for its visitor to reach the worker; also a seat token's lifetime."""
ANSWER_TIMEOUT_S = 5.0
"""How long one call waits for Redis, reconnections and retries included, before it fails."""
MAX_BATCH = 512
"""At most this many script calls go to Redis in one pipeline (see :meth:`SeatRegistry._run`)."""
_MIN_SECRET_BYTES = 16
_TOKEN_MAC_PREFIX = b"showroom-seat-v1."  # the secret may sign other things: a seat token's MAC never matches them

# Helpers every script starts with. ARGV[1] is the event's key prefix, KEYS[1] its ordered set of shards.
_LUA_COMMON = """
local prefix = ARGV[1]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function forget(shard)
  redis.call('ZREM', KEYS[1], shard)
  redis.call('HDEL', prefix .. 'owner', shard)
  redis.call('HDEL', prefix .. 'capacity', shard)
  redis.call('DEL', prefix .. 'seats:' .. shard, prefix .. 'held:' .. shard)
end
-- the shard's owner while its heartbeat key lives; else the shard, its seats and the owner's URL go
local function live_owner(shard)
  local owner = redis.call('HGET', prefix .. 'owner', shard)
  if owner and redis.call('EXISTS', prefix .. 'alive:' .. owner) == 1 then return owner end
  forget(shard)
  if owner then redis.call('HDEL', prefix .. 'url', owner) end
  return false
end
"""

# ARGV: prefix, worker, url, heartbeat ttl (ms), held seats (JSON: shard -> reservation ids), then shard,
# capacity pairs. Returns {} or {shard, live owner}.
_LUA_REGISTER = _LUA_COMMON + """
local worker = ARGV[2]
local held = cjson.decode(ARGV[5])
local wanted = {}
for i = 6, #ARGV, 2 do
  local owner = live_owner(ARGV[i])
  if owner and owner ~= worker then return {ARGV[i], owner} end
  wanted[ARGV[i]] = ARGV[i + 1]
end
for _, shard in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if not wanted[shard] and redis.call('HGET', prefix .. 'owner', shard) == worker then forget(shard) end
end
redis.call('SET', prefix .. 'alive:' .. worker, '1', 'PX', ARGV[4])
redis.call('HSET', prefix .. 'url', worker, ARGV[3])
for shard, capacity in pairs(wanted) do
  redis.call('ZADD', KEYS[1], tonumber(shard), shard)
  redis.call('HSET', prefix .. 'owner', shard, worker)
  redis.call('HSET', prefix .. 'capacity', shard, capacity)
  redis.call('DEL', prefix .. 'seats:' .. shard, prefix .. 'held:' .. shard)
  for _, rid in ipairs(held[shard] or {}) do redis.call('ZADD', prefix .. 'seats:' .. shard, '+inf', rid) end
end
return {}
"""

# ARGV: prefix, worker.
_LUA_UNREGISTER = _LUA_COMMON + """
for _, shard in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('HGET', prefix .. 'owner', shard) == ARGV[2] then forget(shard) end
end
redis.call('DEL', prefix .. 'alive:' .. ARGV[2])
redis.call('HDEL', prefix .. 'url', ARGV[2])
return 1
"""

# ARGV: prefix, reservation id, reservation ttl (ms). Returns false (full) or {shard, owner, url, expiry ms}.
_LUA_RESERVE = _LUA_COMMON + """
local rid, now = ARGV[2], now_ms()
local expiry = now + tonumber(ARGV[3])
local chosen, chosen_owner = false, false
for _, shard in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local owner = live_owner(shard)
  if owner then
    local seats = prefix .. 'seats:' .. shard
    redis.call('ZREMRANGEBYSCORE', seats, '-inf', now)
    local score = redis.call('ZSCORE', seats, rid)
    if score then  -- the same visitor again (a retry): one seat, a pending one renewed, a held one kept
      if tonumber(score) ~= math.huge then
        score = expiry
        redis.call('ZADD', seats, 'XX', expiry, rid)
      end
      return {shard, owner, redis.call('HGET', prefix .. 'url', owner), tostring(score)}
    end
    if not chosen and redis.call('ZCARD', seats) < tonumber(redis.call('HGET', prefix .. 'capacity', shard)) then
      chosen, chosen_owner = shard, owner
    end
  end
end
if not chosen then return false end
redis.call('ZADD', prefix .. 'seats:' .. chosen, expiry, rid)
return {chosen, chosen_owner, redis.call('HGET', prefix .. 'url', chosen_owner), tostring(expiry)}
"""

# ARGV: prefix, shard, reservation id, worker, nonce. Returns 1 if this call made the reservation a held seat.
_LUA_CONFIRM = _LUA_COMMON + """
if live_owner(ARGV[2]) ~= ARGV[4] then return 0 end
local seats, held = prefix .. 'seats:' .. ARGV[2], prefix .. 'held:' .. ARGV[2]
local score = redis.call('ZSCORE', seats, ARGV[3])
if not score then return 0 end
if tonumber(score) == math.huge then  -- held already: by this very call only if redis-py retried it
  if redis.call('HGET', held, ARGV[3]) == ARGV[5] then return 1 end
  return 0
end
if tonumber(score) <= now_ms() then
  redis.call('ZREM', seats, ARGV[3])
  return 0
end
redis.call('ZADD', seats, 'XX', '+inf', ARGV[3])
redis.call('HSET', held, ARGV[3], ARGV[5])
return 1
"""

# ARGV: prefix, shard, reservation id. Returns 1 if a seat (held or pending) was freed.
_LUA_RELEASE = _LUA_COMMON + """
redis.call('HDEL', prefix .. 'held:' .. ARGV[2], ARGV[3])
return redis.call('ZREM', prefix .. 'seats:' .. ARGV[2], ARGV[3])
"""

# ARGV: prefix. Returns {shard, held + pending, ...} for the live shards.
_LUA_COUNTS = _LUA_COMMON + """
local now, out = now_ms(), {}
for _, shard in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if live_owner(shard) then
    local seats = prefix .. 'seats:' .. shard
    redis.call('ZREMRANGEBYSCORE', seats, '-inf', now)
    out[#out + 1] = shard
    out[#out + 1] = redis.call('ZCARD', seats)
  end
end
return out
"""


@dataclass(frozen=True)
class Seat:
    """A place on one shard of an event, reserved for (or held by) one visitor."""

    event: str
    shard: int
    reservation_id: str
    worker_id: str
    worker_url: str
    expires_at_s: float
    """When the reservation lapses unless confirmed (Unix seconds, Redis' clock); ``inf`` once held."""


def shown_url(url: str) -> str:
    """The URL with its password masked, fit for an error message or a log line."""
    url = re.sub(r"^([a-z+]+://[^:@/]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", url)


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ShowroomError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _name(kind: str, value: object) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "{}") or value != value.strip():
        raise ShowroomError(f"{kind} must be a non-empty string without braces or edge spaces, not {value!r}")
    return value


class SeatRegistry:
    """The seats of one event in Redis, shared by every worker and by the front door that hands them out.

    One registry per process is enough. Its scripts (reserve, confirm, release...) go out in batches: the
    calls made while one batch is with Redis leave together in the next, as one pipeline. A rush of 600
    joins on a worker is then a few round trips, not 600 waiting for a connection each, and the
    heartbeat never queues behind them. Other calls share at most ``max_connections`` connections.
    """

    def __init__(self, redis_url: str, event: str, *, worker_ttl_s: float = WORKER_TTL_S,
                 reservation_ttl_s: float = RESERVATION_TTL_S, max_connections: int = 32) -> None:
        self.event = _name("event", event)
        self.worker_ttl_s = _positive("worker_ttl_s", worker_ttl_s)
        self.reservation_ttl_s = _positive("reservation_ttl_s", reservation_ttl_s)
        self._url = redis_url
        self._max_connections = max_connections
        self._prefix = f"showroom:{{{event}}}:"
        self._shards_key = self._prefix + "shards"
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, Any] = {}
        self._queue: list[tuple[str, tuple[object, ...], asyncio.Future[Any]]] = []
        """Script calls waiting for the next batch: (script, its ARGV after the prefix, the caller's future)."""
        self._sender: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def _reaching(self, doing: str) -> AsyncIterator[None]:
        """Bound one call to Redis and turn its failure into one line naming the broker (never its password).

        The bound is ours, not redis-py's ``socket_timeout`` (5 s by default in redis-py 8, so turned
        off): that one goes through ``asyncio.wait_for``, which on Python 3.11 can swallow a cancellation
        (CPython gh-86296; about 1 in 60 calls cancelled mid-flight in our stress runs), and a worker's
        heartbeat task that ignores being cancelled runs forever (``tests/test_cluster_seats.py``,
        ``test_a_worker_heartbeat_loop_stops_as_soon_as_it_is_cancelled_whenever_that_happens``).
        """
        try:
            async with asyncio.timeout(ANSWER_TIMEOUT_S):
                yield
        except RedisError as exc:
            raise ShowroomError(f"Redis at {shown_url(self._url)}: could not {doing} for event "
                                f"{self.event!r}: {exc}") from exc
        except TimeoutError:
            raise ShowroomError(f"Redis at {shown_url(self._url)}: could not {doing} for event "
                                f"{self.event!r}: no answer within {ANSWER_TIMEOUT_S:g} s") from None

    async def connect(self) -> None:
        """Open the connection pool, check that Redis answers, and load the scripts."""
        try:
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url, max_connections=self._max_connections, timeout=10, decode_responses=True,
                socket_connect_timeout=2, socket_timeout=None,  # None: see _reaching
                retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), 3))
        except ValueError as exc:
            raise ShowroomError(f"not a Redis URL: {shown_url(self._url)} ({exc})") from None
        client = aioredis.Redis.from_pool(pool)
        scripts = {name: client.register_script(text) for name, text in (
            ("register", _LUA_REGISTER), ("unregister", _LUA_UNREGISTER), ("reserve", _LUA_RESERVE),
            ("confirm", _LUA_CONFIRM), ("release", _LUA_RELEASE), ("counts", _LUA_COUNTS))}
        async with self._reaching("connect"):
            try:
                for script in scripts.values():  # loaded now, so no first call pays a NOSCRIPT round trip
                    await client.script_load(script.script)
            except BaseException:
                await client.aclose()
                raise
        self._client, self._scripts = client, scripts

    async def close(self) -> None:
        """Close the connections; the registry's state stays in Redis."""
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
            self._sender = None
        for *_, future in self._queue:
            future.cancel()
        self._queue.clear()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _connected(self) -> aioredis.Redis:
        if self._client is None:
            raise RuntimeError(f"the seat registry of event {self.event!r} is not connected: await connect() first")
        return self._client

    async def _run(self, script: str, doing: str, *args: object) -> Any:
        """Run one of the scripts in the next batch and return its answer. Each script stays atomic on its
        own; batching changes only how many round trips a rush costs."""
        self._connected()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((script, args, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send())
        async with self._reaching(doing):
            return await future

    async def _send(self) -> None:
        """Send the waiting calls, up to :data:`MAX_BATCH` a pipeline, until none wait; each caller gets its
        own answer or error. A call whose caller gave up before its batch left is not sent."""
        while self._queue:
            batch = [call for call in self._queue[:MAX_BATCH] if not call[2].done()]
            del self._queue[:MAX_BATCH]
            if not batch:
                continue
            client = self._connected()
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT_S):
                    if len(batch) == 1:
                        name, args, _ = batch[0]
                        try:
                            answers: list[Any] = [await self._scripts[name](keys=[self._shards_key],
                                                                            args=[self._prefix, *args])]
                        except ResponseError as exc:  # the script's own error: this call's answer
                            answers = [exc]
                    else:
                        pipe = client.pipeline(transaction=False)
                        for name, args, _ in batch:
                            await self._scripts[name](keys=[self._shards_key], args=[self._prefix, *args],
                                                      client=pipe)
                        answers = await pipe.execute(raise_on_error=False)
            except (RedisError, OSError, TimeoutError) as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc if not isinstance(exc, OSError) else RedisConnectionError(str(exc)))
                continue
            for (*_, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    if isinstance(answer, Exception):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)

    def _ms(self, seconds: float) -> int:
        return max(1, round(seconds * 1000))

    async def register_worker(self, worker_id: str, url: str, shards: Mapping[int, int],
                              held: Mapping[int, Sequence[str]] | None = None) -> None:
        """Make the worker the owner of these shards (shard -> capacity) and alive for worker_ttl_s.

        A registration starts its shards with no seats but the ``held`` ones (shard -> reservation ids): a
        worker registering again after its heartbeat lapsed (a Redis restart) keeps its visitors' seats, in
        the same script, so no reservation can slip in between. It fails if a shard belongs to another live
        worker; a dead owner's shards are taken over.
        """
        _name("worker_id", worker_id)
        if not url:
            raise ShowroomError(f"worker {worker_id!r} needs the URL visitors connect to")
        if not shards:
            raise ShowroomError(f"worker {worker_id!r} registers no shards")
        pairs: list[int] = []
        for shard, capacity in shards.items():
            for what, value, least in (("shard", shard, 0), ("capacity", capacity, 1)):
                if not isinstance(value, int) or isinstance(value, bool) or value < least:
                    raise ShowroomError(f"worker {worker_id!r}: shard {shard!r}: {what} must be an integer "
                                        f">= {least}, not {value!r}")
            pairs += [shard, capacity]
        kept = json.dumps({str(shard): list(ids) for shard, ids in (held or {}).items() if ids})
        conflict = await self._run("register", "register worker", worker_id, url,
                                   self._ms(self.worker_ttl_s), "{}" if kept == "{}" else kept, *pairs)
        if conflict:
            raise ShowroomError(f"worker {worker_id!r} cannot take shard {conflict[0]} of event {self.event!r}: "
                                f"live worker {conflict[1]!r} owns it (unregister it, or wait "
                                f"{self.worker_ttl_s:g} s after its last heartbeat)")

    async def heartbeat(self, worker_id: str) -> bool:
        """Keep the worker alive for another worker_ttl_s; call it about every second.

        False means its heartbeat had already lapsed: the registry has dropped (or will drop) its shards
        and seats, so the worker must call ``register_worker`` again before it takes visitors.
        """
        client = self._connected()
        async with self._reaching("heartbeat"):
            key = self._prefix + "alive:" + worker_id
            renewed = await client.set(key, "1", px=self._ms(self.worker_ttl_s), xx=True)
        return bool(renewed)

    async def unregister_worker(self, worker_id: str) -> None:
        """Remove the worker, its shards and their seats at once (a clean shutdown)."""
        await self._run("unregister", "unregister worker", worker_id)

    async def reserve(self, reservation_id: str) -> Seat | None:
        """Reserve a seat on the first live shard with room for reservation_ttl_s; None when the event is full.

        The reservation id is the visitor's idempotency key: asking again returns the same seat, so a
        retried request never takes two.
        """
        _name("reservation_id", reservation_id)
        found = await self._run("reserve", "reserve a seat", reservation_id, self._ms(self.reservation_ttl_s))
        if not found:
            return None
        shard, worker_id, url, expiry_ms = found
        return Seat(self.event, int(shard), reservation_id, worker_id, url, float(expiry_ms) / 1000)

    async def confirm(self, seat: Seat) -> bool:
        """Turn the seat's reservation into a held seat if it is still there, unexpired and unconfirmed.

        The worker that owns the shard calls it when the visitor arrives with the seat's token; False
        (expired, released, already held, or the shard changed hands) means it must refuse the visitor.
        """
        if seat.event != self.event:
            raise ShowroomError(f"the seat is for event {seat.event!r}, this registry serves {self.event!r}")
        return bool(await self._run("confirm", "confirm a seat", seat.shard, seat.reservation_id, seat.worker_id,
                                    secrets.token_hex(8)))

    async def release(self, shard: int, reservation_id: str) -> bool:
        """Free the visitor's seat (held or pending) on the shard; False if there was none."""
        return bool(await self._run("release", "release a seat", shard, reservation_id))

    async def workers(self) -> dict[str, str]:
        """Every live worker's URL, by worker id."""
        client = self._connected()
        async with self._reaching("list workers"):
            urls: dict[str, str] = {str(k): str(v) for k, v in (await client.hgetall(self._prefix + "url")).items()}
            alive = [await client.exists(self._prefix + "alive:" + worker) for worker in urls]
        return {worker: url for (worker, url), live in zip(urls.items(), alive) if live}

    async def counts(self) -> dict[int, int]:
        """Seats taken (held plus unexpired reservations) on each live shard, for /metrics."""
        flat = await self._run("counts", "count seats")
        return {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


class SeatTokenError(ShowroomError):
    """A seat token that must not be honoured; ``reason`` is "malformed", "bad signature" or "expired"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"seat token rejected: {reason}{f' ({detail})' if detail else ''}")
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _mac(secret: bytes, payload: str) -> bytes:
    if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET_BYTES:
        raise ShowroomError(f"the seat token secret must be at least {_MIN_SECRET_BYTES} bytes")
    return hmac.new(secret, _TOKEN_MAC_PREFIX + payload.encode("ascii"), hashlib.sha256).digest()


class SeatToken:
    """A seat as the visitor carries it from the front door to its worker: ``PAYLOAD.MAC``, both base64url.

    The payload is compact JSON, the MAC is HMAC-SHA256 under a secret the front door and the workers
    share. The token lives briefly (the reservation's lifetime by default): a leaked one is soon useless,
    and the worker's ``confirm`` still honours each reservation once.
    """

    @staticmethod
    def sign(seat: Seat, secret: bytes, ttl_s: float = RESERVATION_TTL_S, *, now: float | None = None) -> str:
        """The seat as a token valid for ttl_s from now (Unix seconds, default the local clock)."""
        issued = time.time() if now is None else now
        payload = {"e": seat.event, "s": seat.shard, "r": seat.reservation_id, "w": seat.worker_id,
                   "u": seat.worker_url, "x": seat.expires_at_s if math.isfinite(seat.expires_at_s) else None,
                   "t": issued + _positive("ttl_s", ttl_s)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{_b64(_mac(secret, body))}"

    @staticmethod
    def verify(token: str, secret: bytes, now: float | None = None) -> Seat:
        """The seat the token carries, if it was signed with this secret and has not expired at now."""
        body, dot, mac = token.partition(".") if isinstance(token, str) else ("", "", "")
        try:
            if not dot or not body.isascii() or not mac.isascii():
                raise ValueError("expected PAYLOAD.SIGNATURE")
            given = _unb64(mac)
            raw = _unb64(body)
        except (ValueError, binascii.Error) as exc:
            raise SeatTokenError("malformed", str(exc)) from None
        if not hmac.compare_digest(given, _mac(secret, body)):
            raise SeatTokenError("bad signature")
        try:
            p = json.loads(raw)
            seat = Seat(p["e"], p["s"], p["r"], p["w"], p["u"], math.inf if p["x"] is None else float(p["x"]))
            expires = float(p["t"])
            if not all(isinstance(v, str) for v in (seat.event, seat.reservation_id, seat.worker_id, seat.worker_url)) \
                    or type(seat.shard) is not int:
                raise TypeError("a field has the wrong type")
        except (ValueError, TypeError, KeyError) as exc:
            raise SeatTokenError("malformed", f"payload: {exc}") from None
        at = time.time() if now is None else now
        if at >= expires:
            raise SeatTokenError("expired", f"{at - expires:.1f} s ago")
        return seat
