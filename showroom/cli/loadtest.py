"""``showroom loadtest``: drive headless bots against a server and report latency, ticks and awards."""

from __future__ import annotations

import argparse
from typing import Any

from showroom.cli.args import positive_float, positive_int, ws_url
from showroom.defaults import EXAMPLE_URL


def register(sub: Any) -> None:
    """Add ``loadtest``."""
    load = sub.add_parser("loadtest", help="drive headless bots against a server and report latency, ticks, awards",
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog=f"examples:\n  showroom loadtest {EXAMPLE_URL} --clients 1000 --ramp 100 "
                                 "--duration 60 --report load.json --max-p99-ms 100\n"
                                 f"  showroom loadtest {EXAMPLE_URL} --clients 200 --duration 120 "
                                 "--community-mix poll:0.9,submit:0.3,vote:0.8 --invite-file codes.txt")
    load.add_argument("url", type=ws_url, help=f"the server's WebSocket URL, e.g. {EXAMPLE_URL}")
    load.add_argument("--clients", type=positive_int, default=100, help="bots to connect (default 100)")
    load.add_argument("--ramp", type=positive_float, default=50.0, help="bots connected per second (default 50)")
    load.add_argument("--duration", type=positive_float, default=30.0,
                      help="seconds to hold once ramped up (default 30)")
    load.add_argument("--behaviour", default="wander:0.5,watch:0.3,selfie:0.2",
                      help="behaviour mix, NAME:WEIGHT,... of wander, watch, selfie (default %(default)s)")
    load.add_argument("--move-hz", type=positive_float, default=10.0,
                      help="movement inputs per bot per second (default 10)")
    load.add_argument("--community-mix", default="", metavar="ACT:SHARE,...",
                      help="what bots do in the event's community: poll (share of bots answering polls), join (share "
                           "of bots given a code that use it, default 1), submit and vote (shares of the members), "
                           "e.g. poll:0.9,submit:0.3,vote:0.8 (default: nothing)")
    load.add_argument("--invite", action="append", default=[], metavar="CODE",
                      help="an invite code of the event's community, used by the bots that join it as far as its "
                           "uses go (repeat for more codes)")
    load.add_argument("--invite-file", default=None, metavar="FILE",
                      help="a file of invite codes, one a line (# comments allowed)")
    load.add_argument("--host-token", default="", metavar="TOKEN",
                      help="issue the invite codes the joining bots need as the event's host (the token showroom "
                           "serve prints), instead of --invite")
    load.add_argument("--think-s", default="1:8", metavar="MIN:MAX",
                      help="seconds a bot pauses before answering a poll, submitting or voting (default 1:8)")
    load.add_argument("--workers", type=positive_int, default=1,
                      help="processes to spread the bots over (default 1; each runs thousands on one event loop)")
    load.add_argument("--seed", type=int, default=1, help="random seed for the bots (default 1)")
    load.add_argument("--report", default=None, help="write the report JSON to this file")
    load.add_argument("--plot", default=None, help="draw clients, latency and tick time over time into this PNG")
    load.add_argument("--max-p99-ms", type=positive_float, default=None,
                      help="exit 1 when p99 delivery latency exceeds this")
    load.add_argument("--max-overrun-pct", type=float, default=None,
                      help="exit 1 when server tick overruns exceed this percentage")
    load.add_argument("--json", action="store_true", help="print the report as one JSON object")
    load.set_defaults(handler=_loadtest)


def _loadtest(args: argparse.Namespace) -> int:
    from showroom.bots.community_plan import parse_think
    from showroom.bots.invites import check_code, read_invites
    from showroom.bots.loadtest import run_loadtest
    from showroom.bots.swarm import SwarmConfig
    from showroom.errors import ShowroomError

    try:
        invites = tuple(check_code(code) for code in args.invite)
    except ValueError as exc:
        raise ShowroomError(f"loadtest: --invite: {exc}") from None
    if args.invite_file:
        try:
            invites += read_invites(args.invite_file)
        except OSError as exc:
            raise ShowroomError(f"loadtest: --invite-file: cannot read {args.invite_file}: {exc.strerror or exc}") \
                from None
        except ValueError as exc:
            raise ShowroomError(f"loadtest: --invite-file: {exc}") from None
    try:
        think_s = parse_think(args.think_s)
    except ValueError as exc:
        raise ShowroomError(f"loadtest: --think-s: {exc}") from None
    config = SwarmConfig(url=args.url, clients=args.clients, ramp_per_s=args.ramp, duration_s=args.duration,
                         mix=args.behaviour, move_hz=args.move_hz, seed=args.seed, progress=True,
                         community_mix=args.community_mix, invites=invites, think_s=think_s,
                         host_token=args.host_token)
    return run_loadtest(config, workers=args.workers, report_path=args.report, max_p99_ms=args.max_p99_ms,
                        max_overrun_pct=args.max_overrun_pct, as_json=args.json, plot_path=args.plot)
