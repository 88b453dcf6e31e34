"""``showroom serve``: run an event server for a scene (WebSocket, ``/healthz``, ``/metrics``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from showroom.cli.args import add_data_dir, add_database, add_scene, port
from showroom.defaults import COMMUNITIES, DATA_DIR, EXAMPLE_SCENE, HOST, PORT

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
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import secrets

    from server.net.app import serve_until_signal, start_server
    from showroom.scene import load_event
    from showroom.settings import load_settings

    settings = load_settings(scene=args.scene, host=args.host, port=args.port, data_dir=args.data_dir,
                             database=args.database, host_token=args.host_token, tick_hz=args.tick_hz, communities=args.communities)
    path = settings.scene_path()
    scene = load_event(path)
    communities = load_communities(settings.communities_path())
    token = settings.host_token or secrets.token_urlsafe(16)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("picows").setLevel(logging.WARNING)  # not a line per connection

    async def main() -> None:
        running = await start_server(scene, scene_text=path.read_text(encoding="utf-8"), host=settings.host,
                                     port=settings.port, host_token=token, data_dir=settings.data_dir,
                                     database=settings.database,
                                     playing=not args.paused, scene_path=None if args.no_reload else path,
                                     tick_hz=settings.tick_hz, communities=communities)
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
