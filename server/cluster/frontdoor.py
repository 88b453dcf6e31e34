"""An event's front door: the one URL visitors and hosts use when the event runs on several workers.

A visitor's ``join`` is answered with a ``handover``: a seat reserved atomically on the first shard with
room (:class:`~server.cluster.seats.SeatRegistry`), signed as a short-lived token, and the URL of the
worker that owns the shard; the door then closes the connection (1000). A host is handed to a live
worker (any: host actions reach every worker). ``/healthz`` answers ``ok`` while a worker lives,
``/metrics`` is the event's (sums and worst cases over the workers, and each worker's own figures under
``workers``), and ``/host`` is the dashboard. The door keeps no visitor state: several may serve one event.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)
from redis.exceptions import RedisError

from server.cluster.seats import SeatRegistry, SeatToken, shown_url
from server.cluster.worker import keys, seat_secret
from server.net.dashboard import Dashboard
from server.net.transport import CLOSE_GRACE_S
from showroom.errors import ShowroomError
from showroom.protocol import client_messages as msg
from showroom.protocol.codec import decode_client, encode, encode_error
from showroom.protocol.errors import CloseCode, ErrorCode, ProtocolError
from showroom.protocol.limits import MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION
from showroom.protocol.server_messages import Handover

log = logging.getLogger("showroom.cluster")

REFRESH_S = 0.5
"""How often the door reads the workers' figures (``/metrics``, ``/healthz``)."""
MAX_WAITING_JOINS = 5_000
"""Joins waiting for the seat registry at most; more are told to try again later."""
SUMMED = ("visitors", "avatars", "shards", "messages_in_per_s", "messages_out_per_s", "bytes_in_per_s",
          "bytes_out_per_s", "frames_skipped", "errors_sent", "tick_overruns", "tick_slots", "ticks",
          "bus_published", "bus_gaps", "bus_reconnects")
WORST = ("tick_ms_p50", "tick_ms_p99", "tick_late_ms_p99", "tick_late_ms_max", "tick_overrun_pct",
         "show_clock_off_ms_max", "bus_last_outage_s")


class DoorError(ShowroomError):
    """The front door cannot start: its address is taken, or Redis does not answer."""


def event_metrics(workers: dict[str, dict[str, Any]], seats: dict[int, int]) -> dict[str, Any]:
    """The event's ``/metrics`` from its workers' own documents: totals, worst cases, and each worker."""
    doc: dict[str, Any] = {key: sum(w.get(key, 0) for w in workers.values()) for key in SUMMED}
    doc.update({key: max((w.get(key, 0.0) for w in workers.values()), default=0.0) for key in WORST})
    doc["workers"] = [workers[w] for w in sorted(workers, key=lambda w: workers[w].get("index", 0))]
    doc["worker_count"] = len(workers)
    doc["seats"] = {str(shard): n for shard, n in sorted(seats.items())}
    doc["seats_taken"] = sum(seats.values())
    return doc


@dataclass
class FrontDoor:
    """The door's state: the registry, the shared secret, and the figures read last."""

    event_id: str
    host_token: str
    registry: SeatRegistry
    client: aioredis.Redis
    secret: bytes
    dashboard: Dashboard = field(default_factory=Dashboard)
    workers: dict[str, dict[str, Any]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    seats: dict[int, int] = field(default_factory=dict)
    waiting: int = 0
    handed: int = 0
    full: int = 0

    async def refresh(self) -> None:
        """Read the live workers, their figures and the seat counts (every :data:`REFRESH_S`)."""
        while True:
            try:
                async with asyncio.timeout(3.0):  # a restarted Redis gets the secret back from whoever comes first
                    await self.client.set(keys(self.event_id)["secret"], self.secret.hex(), nx=True)
                urls = await self.registry.workers()
                seats = await self.registry.counts()
                stats_key = keys(self.event_id)["stats"]
                async with asyncio.timeout(3.0):
                    raw = await self.client.mget([stats_key + w for w in urls]) if urls else []
                self.urls, self.seats = urls, seats
                self.workers = {w: json.loads(r) for w, r in zip(urls, raw) if r}
            except (ShowroomError, RedisError, OSError, TimeoutError, ValueError) as exc:
                log.warning("front door: cannot read the workers (%s)", exc or "timeout")
            await asyncio.sleep(REFRESH_S)

    def metrics(self) -> dict[str, Any]:
        """The event's ``/metrics`` document."""
        doc = event_metrics(self.workers, self.seats)
        doc.update(front_door_handovers=self.handed, front_door_full=self.full, front_door_waiting=self.waiting)
        return doc

    async def seat(self, transport: WSTransport, join: msg.Join) -> None:
        """Reserve a seat for a visitor and hand it over, or say the event is full."""
        self.waiting += 1
        try:
            seat = await self.registry.reserve(secrets.token_urlsafe(12))
        except ShowroomError as exc:
            log.warning("front door: %s", exc)
            _refuse(transport, ErrorCode.EVENT_FULL, "the event's seat registry does not answer; try again shortly")
            return
        finally:
            self.waiting -= 1
        if seat is None:
            self.full += 1
            _refuse(transport, ErrorCode.EVENT_FULL, "every shard of this event is full; try again later")
            return
        ttl = max(seat.expires_at_s - time.time(), 1.0)
        token = SeatToken.sign(seat, self.secret, ttl)
        self.handed += 1
        _hand_over(transport, Handover(url=seat.worker_url, seat=token, ttl=round(ttl, 1)))


def _refuse(transport: WSTransport, code: ErrorCode, message: str) -> None:
    if transport.is_disconnected:
        return
    transport.send(WSMsgType.BINARY, encode_error(code, message, "join"))
    close = WSCloseCode(CloseCode.TRY_AGAIN_LATER if code == ErrorCode.EVENT_FULL else CloseCode.POLICY_VIOLATION)
    transport.send_close(close, message.encode()[:120])
    asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.disconnect)


def _hand_over(transport: WSTransport, handover: Handover) -> None:
    if transport.is_disconnected:
        return
    transport.send(WSMsgType.BINARY, encode(handover))
    transport.send_close(WSCloseCode(CloseCode.NORMAL), b"handed over")
    asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.disconnect)


class DoorListener(WSListener):
    """One connection to the door: it sends ``join`` and gets a handover (or an error), then the door hangs up."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door
        self.answered = False

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            transport.disconnect()
            return
        if self.answered:
            return  # one join per connection; anything after it is not read
        self.answered = True
        if frame.msg_type != WSMsgType.BINARY or not frame.fin:
            _refuse(transport, ErrorCode.BAD_FRAME, "send one binary msgpack join message")
            return
        try:
            message = decode_client(frame.get_payload_as_bytes())
            if not isinstance(message, msg.Join):
                raise ProtocolError(ErrorCode.NOT_JOINED, "this is the event's front door: send join first")
            if message.v != PROTOCOL_VERSION:
                raise ProtocolError(ErrorCode.BAD_VERSION,
                                    f"this server speaks protocol {PROTOCOL_VERSION}, not {message.v}")
            if message.resume:
                raise ProtocolError(ErrorCode.RESUME_FAILED, "a resume token is honoured by the worker that gave it: "
                                    "reconnect there, or join here without it for a new seat")
        except ProtocolError as exc:
            _refuse(transport, exc.code, exc.message)
            return
        door = self.door
        if message.role == "host":
            if message.token != door.host_token:
                _refuse(transport, ErrorCode.BAD_TOKEN, "wrong host token")
                return
            if not door.urls:
                _refuse(transport, ErrorCode.EVENT_FULL, "no worker of this event is running yet; try again shortly")
                return
            url = door.urls[min(door.urls)]
            _hand_over(transport, Handover(url=url, seat="", ttl=0.0))
            return
        if door.waiting >= MAX_WAITING_JOINS:
            _refuse(transport, ErrorCode.EVENT_FULL, "too many visitors are arriving at once; try again in a moment")
            return
        asyncio.ensure_future(door.seat(transport, message))


class DoorRoutes:
    """picows' listener factory for the door: WebSocket on ``/``, plain HTTP for health, figures, dashboard."""

    def __init__(self, door: FrontDoor) -> None:
        self.door = door

    def __call__(self, request: WSUpgradeRequest) -> WSListener | WSUpgradeResponseWithListener | None:
        door = self.door
        path = request.path.split(b"?", 1)[0]
        if path == b"/healthz":
            if door.workers:
                return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(b"ok\n"), None)
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_error_response(503, b"no live worker\n"), None)
        if path == b"/metrics":
            body = json.dumps(door.metrics()).encode()
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_ok_response(body, {"Content-Type": "application/json"}), None)
        if path in (b"/", b"/ws"):
            return DoorListener(door)
        if door.dashboard.wants(path):
            page = door.dashboard.find(path)
            if page is None:
                return WSUpgradeResponseWithListener(
                    WSUpgradeResponse.create_error_response(404, b"not found\n", {"Connection": "close"}), None)
            return WSUpgradeResponseWithListener(WSUpgradeResponse.create_ok_response(page.body, page.headers), None)
        return None


@dataclass
class RunningDoor:
    """A started front door."""

    door: FrontDoor
    host: str
    port: int
    server: asyncio.base_events.Server
    refresher: asyncio.Task[None]

    @property
    def url(self) -> str:
        """The URL visitors and hosts use."""
        return f"ws://{self.host}:{self.port}/"

    async def stop(self) -> None:
        """Stop accepting and close the door's connections to Redis."""
        self.refresher.cancel()
        self.server.close()
        await self.door.registry.close()
        await self.door.client.aclose()


async def forget_idle_event(event_id: str, redis_url: str) -> bool:
    """Delete an earlier run's keys of the event (show clock, seats, figures) when none of its workers is alive;
    True if it did. A running event (a live worker) is joined as it is."""
    async with SeatRegistry(redis_url, event_id) as registry:
        if await registry.workers():
            return False
    client = aioredis.Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=None)
    try:
        async with asyncio.timeout(10.0):
            found = [key async for key in client.scan_iter(match=f"{keys(event_id)['prefix']}*", count=500)]
            for start in range(0, len(found), 500):
                await client.delete(*found[start:start + 500])
    except (RedisError, OSError, TimeoutError) as exc:
        raise DoorError(f"Redis at {shown_url(redis_url)}: {exc or 'no answer'}") from None
    finally:
        await client.aclose()
    return True


async def start_door(event_id: str, redis_url: str, *, host: str, port: int, host_token: str) -> RunningDoor:
    """Open the event's front door on ``host:port`` (0: a free port)."""
    registry = SeatRegistry(redis_url, event_id)
    try:
        await registry.connect()
    except ShowroomError as exc:
        raise DoorError(str(exc)) from None
    client = aioredis.Redis.from_url(redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=None)
    try:
        async with asyncio.timeout(5.0):
            secret = await seat_secret(client, event_id)
    except (RedisError, OSError, TimeoutError) as exc:
        await registry.close()
        await client.aclose()
        raise DoorError(f"Redis at {shown_url(redis_url)}: {exc or 'no answer'}") from None
    door = FrontDoor(event_id, host_token, registry, client, secret)
    try:
        server = await ws_create_server(DoorRoutes(door), host, port, max_frame_size=MAX_CLIENT_FRAME_BYTES,
                                       websocket_handshake_timeout=5.0)
    except OSError as exc:
        await registry.close()
        await client.aclose()
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        hint = "; pick another --port, or 0 for a free one" if exc.errno == errno.EADDRINUSE else ""
        raise DoorError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    refresher = asyncio.ensure_future(door.refresh())
    return RunningDoor(door, host, server.sockets[0].getsockname()[1], server, refresher)
