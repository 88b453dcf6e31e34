"""The visitor-facing subcommands: ``client``, ``demo`` and ``bench client``.

Part of the CLI (the only place that ties server, bots and client together); kept apart
from :mod:`showroom.cli` so each file stays small. Heavy imports stay inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from showroom.cli_args import count, positive_float, positive_int, window_size

EXAMPLE_SCENE = "scenes/anniversary-runway.toml"
BUNDLED_SCENE = Path(__file__).resolve().parents[1] / EXAMPLE_SCENE
"""The example scene beside the package, for ``demo`` run from another folder."""


def _view_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=None, help="your display name")
    p.add_argument("--offscreen", action="store_true", help="render without a window (implied with no display)")
    p.add_argument("--seconds", type=positive_float, default=None, help="quit after this many seconds")
    p.add_argument("--screenshot", default=None, help="save the last frame to this PNG")
    p.add_argument("--screenshot-every", type=positive_int, default=None, metavar="K", help="save every K-th frame")
    p.add_argument("--out", default=None, help="folder for --screenshot-every frames and selfie photos")
    p.add_argument("--size", type=window_size, default=(1280, 720), help="window size (default 1280x720)")
    p.add_argument("--follow", default="me", help="camera: me (default), mascot:N, free")
    p.add_argument("--autopilot", action="store_true",
                   help="let the tour guide walk you: watch, queue for selfies, open the wallet")


def add_commands(sub: Any, bench_sub: Any, fmt: type) -> None:
    """Register ``client``, ``demo`` and ``bench client``."""
    client = sub.add_parser("client", help="the visitor's desktop client (Panda3D); --offscreen for screenshots",
                            formatter_class=fmt,
                            epilog="examples:\n  showroom client ws://127.0.0.1:8765/ --name Ada\n"
                                   "  showroom client ws://127.0.0.1:8765/ --offscreen --seconds 10 --screenshot shot.png")
    client.add_argument("url", help="the event server's WebSocket URL")
    _view_flags(client)
    client.add_argument("--photos", default=None, help="folder for selfie photos (default ~/Pictures/Showroom)")
    client.add_argument("--wallet-file", default=None,
                        help="keep your wallet token here so awards stay yours across visits "
                             "(default ~/.showroom/wallet-<host>.token)")
    client.set_defaults(handler=_client)

    demo = sub.add_parser("demo", help="server, ambient bots and the client in one command (offscreen with no display)",
                          formatter_class=fmt,
                          epilog="examples:\n  showroom demo\n  showroom demo --bots 1200 --at 0:28 --seconds 15 "
                                 "--screenshot runway.png")
    demo.add_argument("scene", nargs="?", default=None, help=f"scene file (default {EXAMPLE_SCENE})")
    demo.add_argument("--bots", type=count, default=300, help="ambient visitors (headless bots, default 300)")
    demo.add_argument("--at", default=None, help="start the show at this time, e.g. 0:28 (default: the start)")
    _view_flags(demo)
    demo.set_defaults(handler=_demo)

    bench = bench_sub.add_parser("client", help="instanced crowd rendering vs. one NodePath per avatar",
                                 formatter_class=fmt,
                                 epilog="example:\n  showroom bench client --avatars 5000 --json")
    bench.add_argument("--avatars", type=positive_int, default=5000, help="animated avatars (default 5000)")
    bench.add_argument("--frames", type=positive_int, default=120, help="timed frames (default 120)")
    bench.add_argument("--baseline-frames", type=positive_int, default=20, help="timed frames of the NodePath way (default 20)")
    bench.add_argument("--size", type=window_size, default=(1280, 720), help="render size (default 1280x720)")
    bench.add_argument("--json", action="store_true", help="print the figures as one JSON object (last line)")
    bench.set_defaults(handler=_bench_client)


def add_preview(scene_sub: Any, fmt: type) -> None:
    """Register ``scene preview``."""
    preview = scene_sub.add_parser(
        "preview", help="render the show offscreen without a server: frames at times, or a contact sheet",
        formatter_class=fmt,
        epilog=f"examples:\n  showroom scene preview {EXAMPLE_SCENE} --contact-sheet --out preview\n"
               f"  showroom scene preview {EXAMPLE_SCENE} --at 0:32 --at 6:20 --out preview")
    preview.add_argument("file", help="scene file")
    preview.add_argument("--at", action="append", default=[], metavar="TIME",
                         help="a show time to render (mm:ss; repeat for more)")
    preview.add_argument("--contact-sheet", action="store_true",
                         help="one labelled frame per cue, a sheet of them all and an overview image")
    preview.add_argument("--out", default="preview", help="folder for the images (default ./preview)")
    preview.add_argument("--visitors", type=count, default=800, help="ambient audience drawn (default 800)")
    preview.set_defaults(handler=_scene_preview)


def _scene_preview(args: argparse.Namespace) -> int:
    from showroom.client.preview import render_contact_sheet, render_frames
    from showroom.errors import ShowroomError
    from showroom.scene import load_scene
    from showroom.scene.timecode import parse_seconds

    scene = load_scene(args.file)
    if not args.at and not args.contact_sheet:
        raise ShowroomError("scene preview: give --at TIME (one or more) or --contact-sheet")
    times = []
    for text in args.at:
        try:
            t = parse_seconds(text)
        except ValueError as exc:
            raise ShowroomError(f"--at {text}: {exc}") from None
        if t > scene.event.duration:
            raise ShowroomError(f"--at {text}: after the end of the show ({scene.event.duration:g} s)")
        times.append(t)
    out = Path(args.out)
    written = render_frames(scene, times, out, visitors=args.visitors) if times else []
    if args.contact_sheet:
        written += render_contact_sheet(scene, out, visitors=args.visitors)
    for path in written:
        print(f"wrote {path}")
    return 0


def _options(args: argparse.Namespace, url: str, default_out: str) -> Any:
    from showroom.client.app import ClientOptions
    from showroom.client.display import has_display

    offscreen = bool(args.offscreen or not has_display())
    out = Path(args.out or default_out)
    return ClientOptions(url=url, name=args.name or "visitor", offscreen=offscreen, seconds=args.seconds,
                         screenshot=args.screenshot, screenshot_every=args.screenshot_every, out_dir=str(out),
                         size=args.size, follow=args.follow, autopilot=args.autopilot)


def _client(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from showroom.client.app import run_client
    from showroom.errors import ShowroomError

    options = _options(args, args.url, "screenshots")
    if options.offscreen and options.seconds is None:
        raise ShowroomError("--offscreen needs --seconds S (there is no window to close)")
    host = (urlsplit(args.url).hostname or "server").replace(":", "_")
    options.wallet_file = args.wallet_file or str(Path.home() / ".showroom" / f"wallet-{host}.token")
    options.photos_dir = args.photos
    try:
        run_client(options)
    except ConnectionError as exc:
        raise ShowroomError(str(exc)) from None
    _report(options)
    return 0


def _report(options: Any) -> None:
    for path in options.shots:
        print(f"wrote {path}")


def _demo(args: argparse.Namespace) -> int:
    from showroom.cli_demo import run_demo

    if args.scene is None:
        args.scene = EXAMPLE_SCENE if Path(EXAMPLE_SCENE).exists() else str(BUNDLED_SCENE)

    return run_demo(args, _options)


def _bench_client(args: argparse.Namespace) -> int:
    from showroom.client.bench import run_bench

    result = run_bench(args.avatars, frames=args.frames, baseline_frames=args.baseline_frames, size=args.size,
                       progress=not args.json)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"avatars           {result['avatars']:,} instanced, {result['size']} offscreen on {result['renderer']}")
    print(f"instanced         {result['fps']:.1f} fps ({result['frame_ms']:.1f} ms/frame), "
          f"update {result['update_ms']:.3f} ms/frame (interpolate + pack + upload)")
    print(f"NodePath per avatar {result['baseline_fps']:.1f} fps ({result['baseline_frame_ms']:.1f} ms/frame), "
          f"update {result['baseline_update_ms']:.1f} ms/frame")
    print(f"ratio             {result['ratio']:.1f}x the NodePath way")
    sys.stdout.flush()
    return 0
