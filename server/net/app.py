"""Run an event: the picows server, the fixed-rate tick, the scene watcher, and a clean stop on SIGINT/SIGTERM.

This module owns the clocks: every tick is given the monotonic and the wall time it runs at.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import functools
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from picows import ws_create_server

from server.event.community.hub import Communities, Wiring
from server.event.community.rules import CommunityRules
from server.event.event import Event
from server.event.reload import Edit, read_edit, unreadable
from server.net.transport import PING_IDLE_S, PING_REPLY_S, Routes
from server.net.workers import ThreadJobs
from server.storage.bans import Store
from server.storage.community_report import CommunityReport, community_report
from server.storage.community_sqlite import SqliteCommunityStore
from server.storage.community_store import CommunityStore
from server.storage.ledger import Ledger
from server.storage.ledger_writer import LedgerWriter
from showroom.community.model import Community
from showroom.errors import ShowroomError
from showroom.protocol.errors import CloseCode
from showroom.protocol.limits import MAX_CLIENT_FRAME_BYTES, TICK_HZ
from showroom.scene.model import Scene

if TYPE_CHECKING:
    from server.cluster.worker import ClusterWorker

log = logging.getLogger("showroom.server")

STOP_GRACE_S = 5.0
"""How long a stop waits for connections to finish closing."""
MAX_CATCH_UP_TICKS = 5
"""After a stall the tick skips ahead instead of running more than this many late ticks."""
CHECKPOINT_EVERY_S = 5.0
"""The ledger signs a checkpoint this often (when it grew)."""
SCENE_POLL_S = 0.5
"""How often the scene file's modification time and size are looked at, for hot reload."""
HANDSHAKE_TIMEOUT_S = 5.0


class ServeError(ShowroomError):
    """The server cannot start: the address is taken or not allowed, or the data directory is unusable."""


@dataclass(frozen=True)
class ClusterOptions:
    """Run as one worker of an event spread over processes (:mod:`server.cluster`)."""

    broker: str
    """The Redis URL of the event's seat registry and bus."""
    front_door: str = ""
    """The URL visitors use (told to a visitor who comes without a seat)."""
    shards_per_worker: int = 1
    advertise_host: str | None = None
    """The host name visitors reach this worker at (default: the address it listens on)."""


@dataclass
class RunningServer:
    """A started server: its event, its port and how to stop it."""

    event: Event
    host: str
    port: int
    server: asyncio.base_events.Server
    ticker: asyncio.Task
    watcher: asyncio.Task | None = None
    """Polls the scene file for edits (None when the server was not given its path)."""
    jobs: ThreadJobs | None = None
    """The worker threads of the community store and image decoding (None without communities)."""
    cluster: ClusterWorker | None = None
    """This process' part in an event spread over workers (None: the event is this process)."""
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """The WebSocket URL visitors connect to."""
        return f"ws://{self.host}:{self.port}/"

    async def stop(self) -> None:
        """Stop accepting, close every connection with 1001 and stop ticking."""
        self.ticker.cancel()
        if self.watcher is not None:
            self.watcher.cancel()
        self.server.close()
        for link in list(self.event.links):
            link.close(CloseCode.GOING_AWAY, "server shutting down")
        try:
            await self.ticker
        except asyncio.CancelledError:
            pass
        try:
            await asyncio.wait_for(self.server.wait_closed(), STOP_GRACE_S)
        except TimeoutError:
            log.warning("some connections did not close within %.0f s", STOP_GRACE_S)
        if self.cluster is not None:
            await self.cluster.stop()
        if self.jobs is not None:
            await asyncio.to_thread(self.jobs.close)  # acknowledged writes are done; queued ones finish
        if self.event.communities is not None:
            self.event.communities.store.close()
        await asyncio.to_thread(close_ledger, self.event)
        self.stopped.set()


async def start_server(scene: Scene, *, scene_text: str, host: str = "127.0.0.1", port: int = 0,
                       host_token: str, data_dir: Path | None = None, database: str | None = None,
                       playing: bool = True,
                       scene_path: Path | None = None, scene_poll_s: float = SCENE_POLL_S,
                       tick_hz: int = TICK_HZ, communities: Sequence[Community] = (),
                       cluster: ClusterOptions | None = None, shard_capacity: int | None = None) -> RunningServer:
    """Start serving ``scene`` on ``host:port`` (0 picks a free port) and start the tick.

    ``scene_text`` is the scene file's text (clients get it in ``welcome``). The socket is bound
    first, so a taken port fails before anything is written to ``data_dir``. ``communities``
    (validated community files) are served when there is a data directory to keep them in. With ``scene_path`` (the file ``scene`` was read from) the server watches
    that file and hot-reloads edits of the timeline at the next cue boundary
    (:mod:`server.event.reload`). With ``cluster`` the server is one worker of an event spread over
    processes; ``shard_capacity`` overrides the scene's.
    """
    if shard_capacity is not None:
        scene = scene.model_copy(update={"event": scene.event.model_copy(update={"shard_capacity": shard_capacity})})
    _check_communities(scene, communities, data_dir)
    routes = Routes()
    try:
        server = await ws_create_server(
            routes, host, port,
            max_frame_size=MAX_CLIENT_FRAME_BYTES,
            websocket_handshake_timeout=HANDSHAKE_TIMEOUT_S,
            enable_auto_ping=True, auto_ping_idle_timeout=PING_IDLE_S, auto_ping_reply_timeout=PING_REPLY_S,
        )
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        hint = "; pick another --port, or 0 for a free one" if exc.errno == errno.EADDRINUSE else ""
        raise ServeError(f"cannot listen on {host}:{port}: {reason}{hint}") from None
    loop = asyncio.get_running_loop()
    try:
        store = Store.open(data_dir) if data_dir is not None else None
        ledger = Ledger(data_dir, scene, more_entitlements=[e for c in communities for e in c.entitlements],
                        more_grants=community_grants(communities), database=database) if data_dir is not None else None
        community_store = _community_store(data_dir, database) if data_dir is not None and communities else None
        writer = LedgerWriter(ledger) if ledger is not None else None  # its own connection, on its own thread
    except (OSError, ShowroomError) as exc:
        server.close()
        raise ServeError(f"cannot use the data directory {data_dir}: {getattr(exc, 'strerror', None) or exc}") from None
    placement: dict[str, object] = {}
    joined = None
    if cluster is not None:
        from server.cluster.worker import first_id, join_event

        try:
            joined = await join_event(scene.event.id, cluster.broker, cluster.shards_per_worker)
        except ShowroomError as exc:
            server.close()
            if writer is not None:
                writer.close()
            raise ServeError(str(exc)) from None
        placement = {"shard_numbers": joined[1], "first_id": first_id(joined[0])}
    event = Event(scene, host_token=host_token, scene_text=scene_text, playing=playing, ledger=ledger, writer=writer,
                  scene_source=str(scene_path) if scene_path is not None else "scene", tick_hz=tick_hz,
                  **placement)  # type: ignore[arg-type]
    if writer is not None:  # answers go out as soon as they are on disk, between ticks
        writer.on_acks = _waker(asyncio.get_running_loop(), event)
    if store is not None:
        event.banned |= store.bans(scene.event.id)
        event.on_ban = lambda name: store.ban(scene.event.id, name)
    jobs = None
    if community_store is not None and event.rewards is not None and data_dir is not None:
        jobs = ThreadJobs(loop)
        event.communities = Communities(list(communities), scene.event, community_store, jobs,
                                        Wiring(event.broadcast, event.tell_wallet, event.rewards.grant,
                                               functools.partial(_report, data_dir=data_dir)))
        event.communities.load(time.time())
    routes.event = event
    bound = server.sockets[0].getsockname()[1]
    worker = None
    if cluster is not None and joined is not None:
        from server.cluster.worker import ClusterWorker

        index, _numbers, registry, client, secret = joined
        url = f"ws://{cluster.advertise_host or host}:{bound}/"
        worker = ClusterWorker(event, cluster.broker, worker_id=f"w{index}-{os.getpid()}", index=index, url=url,
                               front_door=cluster.front_door, registry=registry, client=client, secret=secret)
        try:
            await worker.start()
        except ShowroomError as exc:
            server.close()
            await asyncio.to_thread(close_ledger, event)
            raise ServeError(str(exc)) from None
    ticker = loop.create_task(_tick_forever(event, aligned=cluster is not None), name="showroom-tick")
    watcher = None
    if scene_path is not None:
        watcher = loop.create_task(_watch_scene(event, scene_path, scene_poll_s), name="showroom-scene-watch")
    return RunningServer(event, host, bound, server, ticker, watcher, jobs, worker)


def prepare_storage(scene: Scene, data_dir: Path, database: str | None, communities: Sequence[Community]) -> None:
    """Open and close the event's stores once, before its workers start: the ledger's signing key and tables and the
    community tables are made by one process, not raced for by all."""
    _check_communities(scene, communities, data_dir)
    try:
        ledger = Ledger(data_dir, scene, more_entitlements=[e for c in communities for e in c.entitlements],
                        more_grants=community_grants(communities), database=database)
        ledger.close()
        if communities:
            _community_store(data_dir, database).close()
    except (OSError, ShowroomError) as exc:
        raise ServeError(f"cannot use the data directory {data_dir}: {getattr(exc, 'strerror', None) or exc}") from None


def close_ledger(event: Event) -> None:
    """Write what the ledger's writer still holds, stop it, then sign the last checkpoint and close (blocks)."""
    if event.writer is not None:
        event.writer.close()
    if event.ledger is not None:
        event.ledger.checkpoint()
        event.ledger.close()


def _report(community: Community, at: dt.datetime, *, data_dir: Path) -> CommunityReport:
    return community_report(community, data_dir, at)


def community_grants(communities: Sequence[Community]) -> dict[str, str]:
    """Every ledger rule the communities award through (rule id -> entitlement id)."""
    return {rule: grant for c in communities for rule, grant in CommunityRules.of(c).grants().items()}


def _community_store(data_dir: Path, database: str | None) -> CommunityStore:
    """Where the communities live: beside the ledger, in PostgreSQL (shared by an event's workers) or SQLite."""
    if database:
        from server.storage.community_postgres import PostgresCommunityStore

        return PostgresCommunityStore(database)
    return SqliteCommunityStore(data_dir)


def _check_communities(scene: Scene, communities: Sequence[Community], data_dir: Path | None) -> None:
    """A members-only event's community is served (any other event runs without its community's features, with a
    warning), and nothing two of them define clashes."""
    ids = [c.community.id for c in communities]
    wanted = scene.event.community
    if wanted is not None and wanted not in ids and (scene.event.members_only or scene.event.min_tier is not None):
        raise ServeError(f"the scene's event belongs to community {wanted!r}, but no community file of that id "
                         f"is served (served: {', '.join(ids) or 'none'})")
    if communities and data_dir is None:
        raise ServeError("communities keep their members in the data directory: give one (--data-dir)")
    if wanted is not None and wanted not in ids:
        log.warning("the scene's event belongs to community %r, which is not served: its members' perks, challenges "
                    "and featured wall are off (serve it with --communities)", wanted)
    seen = {e.id: "the scene" for e in scene.entitlements}
    for community in communities:
        for ent in community.entitlements:
            if ent.id in seen:
                raise ServeError(f"entitlement {ent.id!r} of community {community.community.id!r} is also defined "
                                 f"by {seen[ent.id]}; give it another id")
            seen[ent.id] = f"community {community.community.id!r}"


def _stamp(path: Path) -> tuple[int, int] | None:
    """The file's modification time and size, or None when it cannot be seen."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _read_edit(path: Path) -> Edit:
    """Read and validate the scene file (run in a thread: parsing takes ~20 ms)."""
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return unreadable(source, "no such file (deleted, or moved away while saving?)")
    except (OSError, UnicodeDecodeError) as exc:
        return unreadable(source, f"cannot read: {exc}")
    return read_edit(text, source)


async def _watch_scene(event: Event, path: Path, every_s: float) -> None:
    """Poll the scene file; hand each new version to the event once it has stopped changing."""
    seen = _stamp(path)
    while True:
        await asyncio.sleep(every_s)
        stamp = _stamp(path)
        if stamp == seen:
            continue
        await asyncio.sleep(every_s)  # an editor may still be writing; a half-written file is not an edit
        if _stamp(path) != stamp:
            continue
        seen = stamp
        edit = await asyncio.to_thread(_read_edit, path)
        try:
            event.offer_scene(edit)
        except Exception:  # a bug in judging one edit must not stop watching for the next
            log.exception("scene edit of %s failed", path)


def _waker(loop: asyncio.AbstractEventLoop, event: Event) -> Callable[[], None]:
    """What the ledger's writer thread calls after a commit: the loop delivers the answers at its next turn."""
    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while a last batch was written
            loop.call_soon_threadsafe(event.acks_ready)
    return wake


async def _tick_forever(event: Event, aligned: bool = False) -> None:
    """Tick at a fixed rate on the monotonic clock; record each tick's duration and lateness, count overruns.

    ``aligned`` (a worker of an event over processes): tick ``k`` runs at Unix time ``k / tick_hz`` and is given
    that time as its wall time, so every worker ticks the same ``k`` together (see :mod:`server.event.clock`)."""
    dt = event.dt_s
    next_at = time.monotonic()
    grid = 0
    if aligned:
        grid = int(time.time() * event.tick_hz) + 1
        next_at = grid * dt - (time.time() - time.monotonic())
    last_mark = last_checkpoint = next_at
    metrics = event.metrics
    while True:
        delay = next_at - time.monotonic()
        # sleep(0) when late: a tick loop that never yields would starve I/O, disconnects and signals
        await asyncio.sleep(max(delay, 0.0))
        start = time.monotonic()
        try:
            event.tick(start, grid * dt if aligned else time.time())
        except Exception:  # a bug in one tick must not stop the event
            log.exception("tick %d failed", event.tick_no)
        now = time.monotonic()
        metrics.record_tick((now - start) * 1e3, max(start - next_at, 0.0) * 1e3)
        next_at += dt
        grid += 1
        if now > next_at:
            metrics.overruns += 1
            behind = int((now - next_at) / dt)
            if behind > MAX_CATCH_UP_TICKS:
                next_at += behind * dt
                grid += behind
                metrics.overruns += behind
                metrics.skipped += behind
        if now - last_mark >= 1.0:
            metrics.mark(now)
            last_mark = now
        if event.writer is not None and now - last_checkpoint >= CHECKPOINT_EVERY_S:
            event.writer.checkpoint()  # signed on the writer's thread, after the awards waiting
            last_checkpoint = now


async def serve_until_signal(running: RunningServer,
                             signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Serve until one of ``signals`` (SIGINT or SIGTERM), then stop cleanly."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await running.stop()
