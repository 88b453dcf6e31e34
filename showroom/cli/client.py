"""``showroom client``: the visitor's desktop client (Panda3D), in a window or offscreen."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from showroom.cli.args import positive_float, positive_int, window_size, ws_url
from showroom.defaults import EXAMPLE_URL


def add_view_flags(p: argparse.ArgumentParser) -> None:
    """The flags ``client`` and ``demo`` share: name, window or offscreen, screenshots, camera."""
    p.add_argument("--name", default=None, help="your display name")
    p.add_argument("--offscreen", action="store_true", help="render without a window (implied with no display)")
    p.add_argument("--seconds", type=positive_float, default=None, help="quit after this many seconds")
    p.add_argument("--screenshot", default=None, help="save the last frame to this PNG")
    p.add_argument("--screenshot-every", type=positive_int, default=None, metavar="K", help="save every K-th frame")
    p.add_argument("--out", default=None, help="folder for --screenshot-every frames and selfie photos")
    p.add_argument("--size", type=window_size, default=(1280, 720), help="window size (default 1280x720)")
    p.add_argument("--follow", default="me", help="camera: me (default), mascot:N, free")
    p.add_argument("--autopilot", action="store_true",
                   help="let the tour guide walk you: watch, queue for selfies, open the wallet, take part in the "
                        "community (join with --invite, enter, vote, answer polls, look at the featured wall)")
    p.add_argument("--invite", default=None, metavar="CODE", type=invite_code,
                   help="an invite code of the event's community: join it on arrival")
    p.add_argument("--entry", default=None, metavar="FILE", type=entry_file,
                   help="a PNG or JPEG to enter in the community's challenge (default: your last selfie photo)")


def invite_code(text: str) -> str:
    """An invite code as the protocol takes it: 4-32 letters, digits, ``-`` or ``_``."""
    import re

    code = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]{4,32}", code):
        raise argparse.ArgumentTypeError(f"{text!r} is not an invite code (4-32 letters, digits, - or _)")
    return code


def entry_file(text: str) -> str:
    """A challenge entry: an existing PNG or JPEG file of at most 4 MiB."""
    from showroom.client.upload import EntryFileError, check_entry_file

    path = Path(text).expanduser()
    try:
        check_entry_file(path.read_bytes(), str(path))
    except OSError as exc:
        raise argparse.ArgumentTypeError(f"{text}: {exc.strerror or exc}") from None
    except EntryFileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return str(path)


def trace_file(text: str) -> str:
    """A file to append the client's trace to, in a folder that exists."""
    path = Path(text).expanduser()
    if path.is_dir() or not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: not a file in an existing folder")
    return str(path)


def register(sub: Any) -> None:
    """Add ``client``."""
    client = sub.add_parser("client", help="the visitor's desktop client (Panda3D); --offscreen for screenshots",
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog=f"examples:\n  showroom client {EXAMPLE_URL} --name Ada\n"
                                   f"  showroom client {EXAMPLE_URL} --offscreen --seconds 10 --screenshot shot.png")
    client.add_argument("url", type=ws_url, help=f"the event server's WebSocket URL, e.g. {EXAMPLE_URL}")
    add_view_flags(client)
    client.add_argument("--photos", default=None,
                        help="folder for selfie photos (default: $SHOWROOM_PHOTOS, else ~/Pictures/Showroom)")
    client.add_argument("--wallet-file", default=None,
                        help="keep your wallet token here so awards stay yours across visits "
                             "(default ~/.showroom/wallet-<host>.token)")
    client.add_argument("--trace", default=None, metavar="FILE", type=trace_file,
                        help="append a JSON line to FILE whenever what the client shows changes (your position, "
                             "camera mode, HUD texts, wallet open): for scripts driving the window and for bug reports")
    client.set_defaults(handler=_client)


def view_options(args: argparse.Namespace, url: str, default_out: str) -> Any:
    """The client's options from the view flags and the settings."""
    from showroom.client.app import ClientOptions
    from showroom.client.display import has_display
    from showroom.settings import load_settings

    settings = load_settings(photos=getattr(args, "photos", None))
    offscreen = bool(args.offscreen or not has_display())
    return ClientOptions(url=url, name=args.name or "visitor", offscreen=offscreen, seconds=args.seconds,
                         screenshot=args.screenshot, screenshot_every=args.screenshot_every,
                         out_dir=str(Path(args.out or default_out)), size=args.size, follow=args.follow,
                         autopilot=args.autopilot, photos_dir=str(settings.photos), display=settings.display,
                         invite=getattr(args, "invite", None), entry_file=getattr(args, "entry", None),
                         trace=getattr(args, "trace", None))


def _client(args: argparse.Namespace) -> int:
    from urllib.parse import urlsplit

    from showroom.client.app import run_client
    from showroom.errors import ShowroomError
    from showroom.settings import load_settings

    options = view_options(args, args.url, "screenshots")
    if options.offscreen and options.seconds is None:
        if args.offscreen:
            raise ShowroomError("client: --offscreen needs --seconds S (there is no window to close)")
        raise ShowroomError("client: no display here ($DISPLAY is not set): run it in a desktop session, or render "
                            "without a window with --offscreen --seconds S --screenshot shot.png")
    host = (urlsplit(args.url).hostname or "server").replace(":", "_")
    options.wallet_file = args.wallet_file or str(load_settings().wallet_dir / f"wallet-{host}.token")
    started = time.monotonic()
    try:
        run_client(options)
    except ConnectionError as exc:
        raise ShowroomError(str(exc)) from None
    except KeyboardInterrupt:  # before the client's frame loop took Ctrl-C over
        options.interrupted, options.ran_s = True, time.monotonic() - started
    if options.interrupted:
        print(f"client stopped with Ctrl-C after {format_duration(options.ran_s)}")
    print_written(options.shots)
    return 0


def format_duration(seconds: float) -> str:
    """``42 s`` or ``3 min 05 s``."""
    whole = round(seconds)
    return f"{whole} s" if whole < 60 else f"{whole // 60} min {whole % 60:02d} s"


def print_written(shots: list[str]) -> None:
    """Print ``wrote PATH`` for each file the client wrote, and after each selfie photo its JSON sidecar."""
    for shot in shots:
        print(f"wrote {shot}")
        sidecar = Path(shot).with_suffix(".json")  # the photo studio writes one beside each photo
        if sidecar.exists() and str(sidecar) not in shots:
            print(f"wrote {sidecar}")
