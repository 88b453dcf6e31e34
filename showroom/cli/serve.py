"""``showroom serve``: run an event server for a scene (WebSocket, ``/healthz``, ``/metrics``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showroom.cli.args import add_data_dir, add_database, add_scene, port
from showroom.defaults import COMMUNITIES, DATA_DIR, EXAMPLE_SCENE, HOST, PORT
from showroom.errors import ShowroomError

if TYPE_CHECKING:
    from showroom.community import Community


def register(sub: Any) -> None:
    """Add ``serve``."""
    serve = sub.add_parser("serve", help="run an event server for a scene (WebSocket, /healthz, /metrics)",
                           formatter_class=argparse.RawDescriptionHelpFormatter,
                           epilog=f"example:\n  showroom serve {EXAMPLE_SCENE} --port {PORT} --data-dir {DATA_DIR}")
    add_scene(serve)
    serve.add_argument("--host", default=None, help=f"address to listen on (default: $SHOWROOM_HOST, else {HOST})")
    serve.add_argument("--port", type=port, default=None,
                       help=f"port (default: $SHOWROOM_PORT, else {PORT}; 0 picks a free one)")
    add_data_dir(serve, "where the server keeps its SQLite files and ledger key")
    add_database(serve)
    serve.add_argument("--communities", default=None, metavar="DIR",
                       help=f"community files to serve, every *.toml in DIR (default: $SHOWROOM_COMMUNITIES, "
                            f"else ./{COMMUNITIES}); they need a data directory")
    serve.add_argument("--host-token", default=None,
                       help="token hosts join with (default: $SHOWROOM_HOST_TOKEN, else a random one, printed)")
    serve.add_argument("--tick-hz", type=int, default=None,
                       help="ticks and frames per second, 5 to 60 (default: $SHOWROOM_TICK_HZ, else the standard rate; "
                            "printed at start)")
    serve.add_argument("--paused", action="store_true", help="wait for a host to start the show")
    serve.add_argument("--no-reload", action="store_true",
                       help="do not watch the scene file (by default timeline edits apply at the next cue)")
    spread = serve.add_argument_group("an event over several processes or machines")
    spread.add_argument("--workers", type=_workers, default=None, metavar="N",
                        help="run the event on N worker processes behind a front door at --port (0: one per core); "
                             "needs --broker, and --database to share the ledger between machines")
    spread.add_argument("--broker", default=None, metavar="URL",
                        help="Redis URL (redis://host:port/0) of the event's seat registry and bus "
                             "(default: $SHOWROOM_BROKER)")
    spread.add_argument("--shards-per-worker", type=_positive, default=None, metavar="N",
                        help="shards each worker runs (default: as many as make about 1,500 seats)")
    spread.add_argument("--shard-capacity", type=_positive, default=None, metavar="N",
                        help="visitors per shard (default: the scene's shard_capacity)")
    spread.add_argument("--pin-cores", action="store_true",
                        help="pin worker i to CPU core i (modulo the cores), as one process per core")
    spread.add_argument("--as-worker", default=None, metavar="FRONT_DOOR", help=argparse.SUPPRESS)
    serve.set_defaults(handler=_serve)


def _workers(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 64:
        raise argparse.ArgumentTypeError(f"workers must be 0 (one per core) to 64, not {value}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import secrets

    from server.net.app import serve_until_signal, start_server
    from showroom.scene import load_event
    from showroom.settings import load_settings

    settings = load_settings(scene=args.scene, host=args.host, port=args.port, data_dir=args.data_dir,
                             database=args.database, host_token=args.host_token, tick_hz=args.tick_hz,
                             communities=args.communities, broker=args.broker)
    path = settings.scene_path()
    scene = load_event(path)
    communities = load_communities(settings.communities_path())
    token = settings.host_token or secrets.token_urlsafe(16)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("picows").setLevel(logging.WARNING)  # not a line per connection
    spread = args.workers is not None or args.as_worker is not None
    if not spread and (args.shards_per_worker or args.pin_cores):
        raise ShowroomError("--shards-per-worker and --pin-cores are for an event over workers: add --workers N")
    if spread and not settings.broker:
        raise ShowroomError("an event over workers needs a broker: --broker redis://HOST:PORT/0 (or $SHOWROOM_BROKER)")
    capacity = args.shard_capacity or scene.event.shard_capacity
    per_worker = args.shards_per_worker or max(1, round(1500 / capacity))
    if args.workers is not None:
        from showroom.cli.workers import run_workers

        return run_workers(args, settings, scene, path, communities, token, per_worker)
    cluster = None
    if args.as_worker is not None:
        from server.net.app import ClusterOptions

        cluster = ClusterOptions(broker=settings.broker or "", front_door=args.as_worker, shards_per_worker=per_worker)

    async def main() -> None:
        running = await start_server(scene, scene_text=path.read_text(encoding="utf-8"), host=settings.host,
                                     port=settings.port, host_token=token, data_dir=settings.data_dir,
                                     database=settings.database,
                                     playing=not args.paused, scene_path=None if args.no_reload else path,
                                     tick_hz=settings.tick_hz, communities=communities, cluster=cluster,
                                     shard_capacity=args.shard_capacity)
        if running.cluster is not None:
            print(f"worker {running.cluster.worker_id} of '{scene.event.title}' on {running.url}, shards "
                  f"{', '.join(map(str, running.event.shard_numbers))}", flush=True)
            await serve_until_signal(running)
            return
        print(f"serving '{scene.event.title}' on {running.url} at {settings.tick_hz} ticks/s  "
              f"(health: http://{settings.host}:{running.port}/healthz)", flush=True)
        print(f"host token: {token}", flush=True)
        print(f"host dashboard: http://{settings.host}:{running.port}/host", flush=True)
        if communities:
            print(f"communities: {', '.join(c.community.id for c in communities)}", flush=True)
        await serve_until_signal(running)

    asyncio.run(main())
    print("stopped", flush=True)
    return 0


def load_communities(folder: Path) -> list[Community]:
    """Every community file in ``folder`` (none when it does not exist); a broken one stops the start."""
    from showroom.community import load_community

    if not folder.is_dir():
        return []
    return [load_community(path) for path in sorted(folder.glob("*.toml"))]
