"""Run thousands of bots on one asyncio loop over picows: ramp up, hold, settle, ramp down.

A server may send a message as fragments (a BINARY frame with ``fin`` false, then
CONTINUATION frames); the listener joins them into one message before the bot sees it. One driver task
steps every connected bot ten times a second; there is no task per bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from showroom.bots.bot import Bot, discard, parse_mix
from showroom.bots.community_plan import THINK_S, draw_plan, parse_acts
from showroom.bots.invites import InvitePool
from showroom.bots.stats import Stats
from showroom.protocol.limits import MAX_SERVER_FRAME_BYTES, TICK_HZ

CONNECT_TIMEOUT_S = 10.0
DRIVER_HZ = float(TICK_HZ)
"""How often the driver steps every bot: once per server tick."""
SETTLE_S = 3.0
"""After the hold, how long bots wait for late awards and their wallet answers."""
LEAVE_GRACE_S = 1.0
"""After the last bot of the ramp down has said goodbye, how long before any still open is cut."""
HTTP_TIMEOUT_S = 5.0
METRICS_EVERY_S = 2.0
"""How often ``/metrics`` is read during the run (the last good reading is kept)."""
WINDOW_COUNTERS = ("bytes_in", "messages_in", "snapshots")
"""What the bots received, counted at the edges of the hold so the report can give per-client rates for it alone."""


MAX_HOPS = 4
"""Connections one bot makes to join at most: the front door, its worker, and again if a seat lapsed."""
MAX_REJOINS = 3
"""Times a bot joins again through the front door after its worker went away (an event over workers)."""
REJOIN_AFTER_S = 0.5


@dataclass
class SwarmConfig:
    """What the load test runs."""

    url: str
    clients: int
    ramp_per_s: float = 50.0
    duration_s: float = 30.0
    mix: str = "wander:0.5,watch:0.3,selfie:0.2"
    move_hz: float = 10.0
    seed: int = 1
    progress: bool = True
    first_index: int = 0
    """Bots are named ``bot-<first_index + i>`` (workers get disjoint ranges)."""
    community_mix: str = ""
    """What bots do in the event's community, ``poll:P,join:P,submit:P,vote:P`` (shares from 0 to 1; see
    :func:`~showroom.bots.community_plan.parse_acts`); empty: nothing."""
    invites: tuple[str, ...] = ()
    """Invite codes of the event's community, shared round-robin by the bots that join it (codes alone, without
    ``community_mix``, make every bot join and do nothing more)."""
    think_s: tuple[float, float] = THINK_S
    """The pause before a community action (answering a poll, submitting, voting), seconds, at least and at most."""
    host_token: str = ""
    """When given, the run first asks the server, as its host, for the invite codes its joining bots need."""


@dataclass
class SwarmResult:
    """What the run measured, before it is turned into a report."""

    config: SwarmConfig
    stats: Stats
    bots: list[Bot]
    wall_s: float
    cpu_s: float
    hold_s: float
    metrics_before: dict[str, Any] = field(default_factory=dict)
    metrics_after: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    metrics_hold: tuple[dict[str, Any], dict[str, Any]] = field(default_factory=lambda: ({}, {}))
    """``/metrics`` read when the hold began and when it ended (empty when unreadable)."""
    ramp_down_s: float = 0.0
    hold_marks: tuple[dict[str, float], dict[str, float]] = field(default_factory=lambda: ({}, {}))
    """:func:`count_mark` when the hold began and when it ended (empty when the run never got there)."""


def count_mark(stats: Stats) -> dict[str, float]:
    """The wall clock (``t``, unix seconds, comparable with other processes' samples) and what the bots have
    received so far."""
    return {"t": time.time(), **{name: float(getattr(stats, name)) for name in WINDOW_COUNTERS}}


class BotListener(WSListener):
    """picows callbacks for one bot: reassemble fragments, hand whole messages to the bot."""

    def __init__(self, bot: Bot, stats: Stats, on_lost: Callable[[Bot], None] | None = None) -> None:
        self.bot = bot
        self.stats = stats
        self.on_lost = on_lost
        """Called when a connection the bot had joined on drops without the bot leaving."""
        self.welcomes_before = bot.welcomes
        self.parts: list[bytes] = []
        self.transport: WSTransport | None = None
        self.sender: Callable[[bytes], None] = discard
        """How this connection sends; the bot's while this is its current connection."""
        self.open = False
        self.answered = asyncio.Event()
        """Set by the first message received, or by the connection's end."""

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.open = True
        self.stats.connected += 1
        self.sender = lambda data: transport.send(WSMsgType.BINARY, data)
        self.bot.out = self.sender
        self.bot.send(self.bot.join_message())

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.BINARY:
            if frame.fin:
                self.bot.receive(frame.get_payload_as_bytes(), time.time())
                self.answered.set()
            else:
                self.parts = [frame.get_payload_as_bytes()]
        elif kind == WSMsgType.CONTINUATION:
            self.parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data, self.parts = b"".join(self.parts), []
                self.bot.receive(data, time.time())
        elif kind == WSMsgType.CLOSE:
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.answered.set()
        if self.open:
            self.open = False
            self.stats.connected -= 1
            if self.bot.out is not self.sender:  # one the bot has moved on from: the front door's, closing late
                return  # after the worker's welcome (that bot was taken for lost and joined twice)
            self.bot.left_at = time.time()
            self.bot.out = discard
            if self.on_lost is not None and self.bot.welcomes > self.welcomes_before and not self.bot.leaving:
                self.on_lost(self.bot)


async def fetch_metrics(url: str) -> dict[str, Any]:
    """GET ``/metrics`` from the server behind a ``ws://`` URL; an empty dict when it cannot be read."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), HTTP_TIMEOUT_S)
        writer.write(f"GET /metrics HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_TIMEOUT_S)
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), None)
        body = await asyncio.wait_for(reader.readexactly(length) if length is not None else reader.read(), HTTP_TIMEOUT_S)
        writer.close()
        return json.loads(body)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        return {}


async def run_swarm(config: SwarmConfig, on_progress: Callable[[dict[str, Any]], None] | None = None,
                    hold_done: Callable[[], bool] | None = None) -> SwarmResult:
    """Ramp ``config.clients`` bots up, hold for the duration, let awards settle, ramp them down at the same rate.

    ``hold_done``, when given, is asked between the bots' steps during the hold: the hold ends early once it says
    so, for a caller that waits for something (every visitor seated, say) rather than a fixed time."""
    stats = Stats()
    rng = random.Random(config.seed)
    weights = parse_mix(config.mix)
    names, probs = list(weights), list(weights.values())
    shares = parse_acts(config.community_mix) or ({"join": 1.0} if config.invites else {})
    pool = InvitePool(config.invites)
    plans = random.Random(f"{config.seed}/community")  # its own stream: the movement of plain runs is unchanged
    bots = [Bot(config.first_index + i, rng.choices(names, probs)[0], stats, random.Random(rng.random()), config.move_hz,
                draw_plan(shares, plans, config.think_s) if shares else None, pool)
            for i in range(config.clients)]
    listeners: list[BotListener] = []
    history: list[dict[str, Any]] = []
    wall0, cpu0 = time.perf_counter(), time.process_time()
    metrics_before = await fetch_metrics(config.url)
    if config.host_token and shares.get("join"):
        from showroom.bots.host_invites import host_invites

        for code in await host_invites(config.url, config.host_token, round(config.clients * shares["join"]), stats):
            pool.give(code)

    stopping = False

    def lost(bot: Bot) -> None:
        """An event over workers: the bot's worker went away; join again through the front door, as a visitor would."""
        if stopping or bot.seat is None or bot.rejoins >= MAX_REJOINS:
            return
        bot.rejoins += 1
        stats.rejoins += 1
        bot.seat = None
        asyncio.get_running_loop().call_later(REJOIN_AFTER_S, lambda: asyncio.ensure_future(connect(bot)))

    async def connect(bot: Bot) -> None:
        url = config.url
        for _hop in range(MAX_HOPS):  # an event over workers: the front door hands the bot to a worker
            listener = BotListener(bot, stats, lost)
            listeners.append(listener)  # tracked even if the handshake outlives the timeout
            with contextlib.suppress(Exception):  # any failure to connect is counted below
                await asyncio.wait_for(ws_connect(lambda bound=listener: bound, url, max_frame_size=MAX_SERVER_FRAME_BYTES,
                                                  websocket_handshake_timeout=CONNECT_TIMEOUT_S),
                                       CONNECT_TIMEOUT_S)
            if listener.transport is None:  # refused, timed out, or hung up before the handshake (picows does not raise)
                stats.connect_failed += 1
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.answered.wait(), CONNECT_TIMEOUT_S)
            if bot.handover is not None:
                url, bot.seat, bot.handover = bot.handover.url, bot.handover.seat, None
                stats.handovers += 1
            elif bot.refused_seat:  # the seat lapsed on the way: back to the front door for another
                url, bot.seat, bot.refused_seat = config.url, None, False
            else:
                return

    async def poll_metrics() -> None:
        while True:
            doc = await fetch_metrics(config.url)
            if doc and history:
                history[-1].update(tick_ms_p99=doc.get("tick_ms_p99"), visitors=doc.get("visitors"))
            await asyncio.sleep(METRICS_EVERY_S)

    async def ramp() -> None:
        start = time.perf_counter()
        tasks = []
        for i, bot in enumerate(bots):
            delay = start + i / config.ramp_per_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(connect(bot)))
        await asyncio.gather(*tasks)

    ramp_task = asyncio.ensure_future(ramp())
    poll_task = asyncio.ensure_future(poll_metrics())
    try:
        ramp_s = config.clients / config.ramp_per_s
        hold_start = time.perf_counter() + ramp_s
        hold_end = hold_start + config.duration_s
        driver = _Driver(listeners, stats, history, wall0, config.progress, on_progress)
        await driver.run("ramp up", lambda: time.perf_counter() < hold_start)
        hold_metrics = asyncio.ensure_future(fetch_metrics(config.url))
        first_mark = count_mark(stats)
        await driver.run("hold", lambda: time.perf_counter() < hold_end and not (hold_done and hold_done()))
        held_until = time.perf_counter()
        hold_marks = (first_mark, count_mark(stats))
        if not ramp_task.done():
            ramp_task.cancel()
        metrics_hold = (await hold_metrics, await fetch_metrics(config.url))
        driver.phase = "settle"
        stopping = True
        await _settle(listeners)
        down_start = time.perf_counter()
        leavers = [listener for listener in listeners if listener.open]
        down = asyncio.ensure_future(_ramp_down(leavers, config.ramp_per_s))
        await driver.run("ramp down", lambda: not down.done())
        ramp_down_s = time.perf_counter() - down_start
        poll_task.cancel()
        metrics_after = await fetch_metrics(config.url) or metrics_hold[1]
        for listener in listeners:
            if listener.open and listener.transport is not None:
                listener.transport.disconnect()
        await asyncio.sleep(0.1)
        if config.progress:
            print(file=sys.stderr)
        for bot in bots:  # no live transport may stay referenced (and the result must pickle)
            bot.out = discard
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        hold_s = max(min(held_until, hold_end) - hold_start, 1e-9)
    finally:  # also when the run itself is cancelled: no helper task is left pending on the loop
        ramp_task.cancel()
        poll_task.cancel()
    return SwarmResult(config, stats, bots, wall, cpu, hold_s, metrics_before, metrics_after, history, metrics_hold,
                       ramp_down_s, hold_marks)


class _Driver:
    """Steps every connected bot 20 times a second and writes the progress line once a second."""

    def __init__(self, listeners: list[BotListener], stats: Stats, history: list[dict[str, Any]], wall0: float,
                 show: bool, on_progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.listeners, self.stats, self.history = listeners, stats, history
        self.wall0, self.show, self.on_progress = wall0, show, on_progress
        self.last = {"t": time.perf_counter(), "in": 0, "out": 0}
        self.next_report = time.perf_counter() + 1.0
        self.phase = "ramp up"

    async def run(self, phase: str, going: Callable[[], bool]) -> None:
        """Drive the bots while ``going()`` holds, labelling the progress ``phase``."""
        self.phase = phase
        while going():
            now = time.time()
            for listener in self.listeners:
                if listener.open:
                    listener.bot.step(now)
            await asyncio.sleep(1.0 / DRIVER_HZ)
            if time.perf_counter() >= self.next_report:
                self.next_report += 1.0
                self.history.append(_progress(self.stats, self.last, self.wall0, self.show, self.phase))
                if self.on_progress is not None:
                    self.on_progress(self.history[-1])


async def _ramp_down(listeners: list[BotListener], per_s: float) -> None:
    """Bots say goodbye at ``per_s`` a second, in the order they joined; then any left open are cut."""
    start = time.perf_counter()
    for i, listener in enumerate(listeners):
        delay = start + i / per_s - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if listener.open:
            listener.bot.leave()
    deadline = time.perf_counter() + LEAVE_GRACE_S
    while any(listener.open for listener in listeners) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)


async def _settle(listeners: list[BotListener]) -> None:
    """Ask every bot's wallet and wait (bounded) for the answers and for awards still on their way."""
    for listener in listeners:
        if listener.open:
            listener.bot.stop_queueing()
            listener.bot.ask_wallet()
            listener.bot.wallet = None
    deadline = time.perf_counter() + SETTLE_S
    while time.perf_counter() < deadline:
        now = time.time()
        for listener in listeners:
            if listener.open:
                listener.bot.redeem_due(now)
        waiting = [b for b in (lst.bot for lst in listeners if lst.open)
                   if b.wallet is None or b.award_seqs or any(b.scene and b.scene.selfie_grant.get(m) not in b.awards
                                                              for m in b.selfies if b.scene.selfie_grant.get(m))]
        if not waiting:
            break
        await asyncio.sleep(0.1)
    for listener in listeners:  # a late award is only in the wallet: ask once more
        bot = listener.bot
        if listener.open and bot.scene and any(bot.scene.selfie_grant.get(m) not in bot.awards for m in bot.selfies):
            bot.wallet = None
            bot.ask_wallet()
    await asyncio.sleep(0.5)


def _progress(stats: Stats, last: dict[str, float], wall0: float, show: bool, phase: str) -> dict[str, Any]:
    now = time.perf_counter()
    span = max(now - last["t"], 1e-9)
    rate_in = (stats.messages_in - last["in"]) / span
    rate_out = (stats.messages_out - last["out"]) / span
    last.update(t=now, **{"in": stats.messages_in, "out": stats.messages_out})
    p99 = stats.take_window_p99_ms()
    entry = {"t_s": round(now - wall0, 2), "phase": phase, "connected": stats.connected, "in_per_s": round(rate_in, 1),
             "out_per_s": round(rate_out, 1), "p99_ms": p99,
             "errors": sum(stats.errors.values()) + stats.connect_failed}
    if show:
        print(progress_line(entry), end="", file=sys.stderr, flush=True)
    return entry


def progress_line(entry: dict[str, Any]) -> str:
    """The live one-line progress (starts with a carriage return so it overwrites itself)."""
    return (f"\r{entry['t_s']:6.1f} s  {entry.get('phase', ''):9s}  connected {entry['connected']:5d}  "
            f"in {entry['in_per_s']:8.0f} msg/s  out {entry['out_per_s']:7.0f} msg/s  p99 {entry['p99_ms']:7.1f} ms  "
            f"errors {entry['errors']}")
