"""``showroom demo``: an embedded event server (SQLite in the output folder) serving the example
communities, a crowd of headless bots, a scripted host that runs a round of the event
community's challenge and a live poll (:mod:`showroom.host.demo_script`), and the visitor
client, in one command.

The server and the bots each run in their own process (so the client's rendering does not
stall the server's tick); the client runs in this one. With no display the client renders
offscreen, the tour guide (autopilot) walks the visitor, and the screenshots and selfie
photos it wrote are listed at the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import secrets
import time
from pathlib import Path
from typing import Any

from showroom.cli.args import add_scene, count
from showroom.cli.client import add_view_flags, format_duration, print_written, view_options
from showroom.errors import ShowroomError

DEMO_SECONDS = 90.0
"""How long an offscreen demo runs when ``--seconds`` is not given."""
DEMO_AT = "0:24"
"""Where an offscreen demo starts the show when ``--at`` is not given: Teddy is on the
runway, his selfie session opens at 1:00 and the tour guide queues for it."""
DEMO_SHOT_EVERY = 300
"""Frames between the offscreen demo's screenshots when ``--screenshot-every`` is not given."""
START_TIMEOUT_S = 30.0
DEMO_COMMUNITY_MIX = "poll:0.85,join:0.3,submit:0.25,vote:0.7"
"""What the demo's bots do in the event's community: most answer polls; of the 30 % who join, a quarter enter
the challenge and most vote."""
DEMO_OUT = "showroom-demo"
"""Where the demo writes its data, screenshots and photos when ``--out`` is not given."""


def register(sub: Any) -> None:
    """Add ``demo``."""
    demo = sub.add_parser("demo", help="server, ambient bots and the client in one command (offscreen with no display)",
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="examples:\n  showroom demo\n  showroom demo --bots 1200 --at 0:28 --seconds 15 "
                                 "--screenshot runway.png")
    add_scene(demo)
    demo.add_argument("--bots", type=count, default=300, help="ambient visitors (headless bots, default 300)")
    demo.add_argument("--at", default=None, help="start the show at this time, e.g. 0:28 (default: the start)")
    add_view_flags(demo)
    demo.set_defaults(handler=run_demo)


def _parse_at(text: str | None) -> float | None:
    if text is None:
        return None
    from showroom.scene.timecode import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise ShowroomError(f"--at: {exc}") from None


def _serve(scene_path: str, data_dir: str, token: str, at: float | None, communities: str, pipe: Any) -> None:
    """The embedded server (in its own process), serving the community files in ``communities``. Ctrl-C is the
    demo's to handle: the server stops when the demo terminates it (SIGTERM), after the client has left."""
    import asyncio
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from server.net.app import serve_until_signal, start_server
    from showroom.cli.serve import load_communities
    from showroom.scene import load_scene

    async def main() -> None:
        scene = load_scene(scene_path)
        running = await start_server(scene, scene_text=Path(scene_path).read_text(encoding="utf-8"),
                                     host_token=token, data_dir=Path(data_dir),
                                     communities=load_communities(Path(communities)))
        if at is not None:
            running.event.seek(at)
        pipe.send(running.url)
        await serve_until_signal(running, (signal.SIGTERM,))

    asyncio.run(main())


def _bots(url: str, count: int, token: str) -> None:
    """The ambient crowd: bots that wander and watch (the selfie queues are left to you); some join the event's
    community (with codes they ask for as host), enter its challenge, vote and answer polls. Ctrl-C is the demo's to
    handle: it terminates them."""
    import asyncio
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from showroom.bots.swarm import SwarmConfig, run_swarm

    config = SwarmConfig(url=url, clients=count, ramp_per_s=max(50.0, count / 4), duration_s=24 * 3600.0,
                         mix="wander:0.4,watch:0.6", move_hz=5.0, progress=False,
                         community_mix=DEMO_COMMUNITY_MIX, host_token=token, think_s=(0.5, 4.0))
    asyncio.run(run_swarm(config))


def run_demo(args: argparse.Namespace) -> int:
    """Start the server and bots, run the client, stop everything; returns the exit code."""
    from showroom.cli.serve import load_communities
    from showroom.client.app import run_client
    from showroom.client.display import has_display
    from showroom.host.demo_script import DemoHost
    from showroom.host.link import HostLinkError
    from showroom.scene import load_event
    from showroom.settings import load_settings

    settings = load_settings(scene=args.scene)
    args.scene = str(settings.scene_path())
    scene = load_event(args.scene)  # a broken scene is reported here, as one clear error, before anything starts
    communities = settings.communities_path()
    load_communities(communities)  # and so is a broken community file
    offscreen = bool(args.offscreen or not has_display())
    at = _parse_at(args.at if args.at is not None or not offscreen else DEMO_AT)
    out = Path(args.out or DEMO_OUT)
    out.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    token = secrets.token_urlsafe(16)
    server = ctx.Process(target=_serve, args=(args.scene, str(out / "data"), token, at, str(communities), child),
                         name="showroom-demo-server", daemon=True)
    server.start()
    if not parent.poll(START_TIMEOUT_S):
        server.terminate()
        raise ShowroomError(f"the embedded server did not start within {START_TIMEOUT_S:.0f} s")
    url = parent.recv()
    print(f"server on {url} (data in {out / 'data'})", flush=True)
    host = None
    invite = None
    if scene.event.community is not None:
        host = DemoHost(url, token, scene.event.community, say=lambda line: print(line, flush=True))
        try:
            invite = host.prepare()
        except HostLinkError as exc:
            print(f"host: {exc}; the demo runs without its community", flush=True)
            host = None
    bots = None
    if args.bots:
        bots = ctx.Process(target=_bots, args=(url, args.bots, token), name="showroom-demo-bots", daemon=True)
        bots.start()
        print(f"{args.bots} ambient visitors joining…", flush=True)
        time.sleep(min(3.0, 0.5 + args.bots / 400))
    options = view_options(args, url, str(out))
    options.name = args.name or "You"
    options.autopilot = bool(args.autopilot or options.offscreen)
    options.photos_dir = str(out / "photos")
    options.wallet_file = str(out / "wallet.token")
    options.invite = options.invite or invite
    if options.offscreen and options.seconds is None:
        options.seconds = DEMO_SECONDS
    if options.offscreen and options.screenshot is None:
        options.screenshot = str(out / "demo.png")
    if options.offscreen and options.screenshot_every is None:
        options.screenshot_every = DEMO_SHOT_EVERY
    if host is not None:
        host.start()
    started = time.monotonic()
    try:
        run_client(options)
    except ConnectionError as exc:
        raise ShowroomError(str(exc)) from None
    except KeyboardInterrupt:  # before the client's frame loop took Ctrl-C over
        options.interrupted, options.ran_s = True, time.monotonic() - started
    finally:
        if host is not None:
            host.stop()
        for proc in (bots, server):
            if proc is not None and proc.is_alive():
                proc.terminate()
                proc.join(5)
    how = "stopped with Ctrl-C" if options.interrupted else "finished"
    where = "offscreen, " if options.offscreen else ""
    print(f"demo {how} after {format_duration(options.ran_s)} ({where}{args.bots} ambient visitors)")
    print_written(options.shots)
    return 0
