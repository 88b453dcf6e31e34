"""``showroom serve --workers N``: the front door in this process and N worker processes behind it.

This process prepares the storage once (the ledger's key and tables, the community tables), forgets an
earlier run's state in Redis when no worker of the event is alive, opens the front door, starts the
workers (``showroom serve --as-worker``) and restarts any that dies. On SIGINT or SIGTERM it stops the
workers (each gives its shards and seats back) and then the door. Further machines run the same
command with the same ``--broker`` and ``--database``: their workers join the event, and each machine's
door hands out seats on every worker.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from showroom.community import Community
    from showroom.scene.model import Scene
    from showroom.settings import Settings

log = logging.getLogger("showroom.cluster")

RESTART_AFTER_S = 1.0
"""A worker that died is started again after this long."""
STOP_WAIT_S = 10.0
"""How long a stop waits for the workers to finish before killing them."""


def worker_command(args: argparse.Namespace, settings: Settings, path: Path, token: str, door_url: str,
                   per_worker: int) -> list[str]:
    """The command line of one worker."""
    command = [sys.executable, "-m", "showroom", "serve", str(path), "--host", settings.host, "--port", "0",
               "--data-dir", str(settings.data_dir), "--communities", str(settings.communities_path()),
               f"--host-token={token}", "--tick-hz", str(settings.tick_hz), "--broker", settings.broker or "",
               "--as-worker", door_url, "--shards-per-worker", str(per_worker)]
    if settings.database:
        command += ["--database", settings.database]
    if args.shard_capacity:
        command += ["--shard-capacity", str(args.shard_capacity)]
    if args.paused:
        command.append("--paused")
    if args.no_reload:
        command.append("--no-reload")
    return command


def _pin(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})


def run_workers(args: argparse.Namespace, settings: Settings, scene: Scene, path: Path,
                communities: list[Community], token: str, per_worker: int) -> int:
    """Serve the event over ``args.workers`` processes until SIGINT or SIGTERM."""
    from server.cluster.frontdoor import start_door
    from server.net.app import prepare_storage

    count = args.workers or os.cpu_count() or 1
    cores = sorted(os.sched_getaffinity(0))
    prepare_storage(scene, settings.data_dir, settings.database, communities)

    async def main() -> None:
        from server.cluster.frontdoor import forget_idle_event

        if await forget_idle_event(scene.event.id, settings.broker or ""):
            log.info("no worker of %s was alive: started afresh", scene.event.id)
        door = await start_door(scene.event.id, settings.broker or "", host=settings.host, port=settings.port,
                                host_token=token)
        command = worker_command(args, settings, path, token, door.url, per_worker)

        def spawn(i: int) -> subprocess.Popen[bytes]:
            core = cores[i % len(cores)] if args.pin_cores else None
            return subprocess.Popen(command, preexec_fn=lambda: _pin(core))  # noqa: PLW1509 (no threads yet here)

        workers = [spawn(i) for i in range(count)]
        print(f"serving '{scene.event.title}' on {door.url} over {count} workers "
              f"({per_worker} shard{'s' if per_worker > 1 else ''} of {args.shard_capacity or scene.event.shard_capacity} "
              f"each) at {settings.tick_hz} ticks/s  (health: http://{settings.host}:{door.port}/healthz)", flush=True)
        print(f"host token: {token}", flush=True)
        print(f"host dashboard: http://{settings.host}:{door.port}/host", flush=True)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        died: dict[int, float] = {}
        try:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except TimeoutError:
                    pass
                now = time.monotonic()
                for i, proc in enumerate(workers):
                    if proc.poll() is None or stop.is_set():
                        continue
                    if i not in died:
                        died[i] = now
                        log.warning("worker %d exited with %s; starting another in %.0f s (its visitors rejoin "
                                    "through the front door)", i, proc.returncode, RESTART_AFTER_S)
                    elif now - died[i] >= RESTART_AFTER_S:
                        del died[i]
                        workers[i] = spawn(i)
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + STOP_WAIT_S
            for proc in workers:
                try:
                    await asyncio.to_thread(proc.wait, max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            await door.stop()

    asyncio.run(main())
    print("stopped", flush=True)
    return 0
