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
                          epilog=f"example:\n  showroom loadtest {EXAMPLE_URL} --clients 1000 --ramp 100 "
                                 "--duration 60 --report load.json --max-p99-ms 100")
    load.add_argument("url", type=ws_url, help=f"the server's WebSocket URL, e.g. {EXAMPLE_URL}")
    load.add_argument("--clients", type=positive_int, default=100, help="bots to connect (default 100)")
    load.add_argument("--ramp", type=positive_float, default=50.0, help="bots connected per second (default 50)")
    load.add_argument("--duration", type=positive_float, default=30.0,
                      help="seconds to hold once ramped up (default 30)")
    load.add_argument("--behaviour", default="wander:0.5,watch:0.3,selfie:0.2",
                      help="behaviour mix, NAME:WEIGHT,... of wander, watch, selfie (default %(default)s)")
    load.add_argument("--move-hz", type=positive_float, default=10.0,
                      help="movement inputs per bot per second (default 10)")
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
    from showroom.bots.loadtest import run_loadtest
    from showroom.bots.swarm import SwarmConfig

    config = SwarmConfig(url=args.url, clients=args.clients, ramp_per_s=args.ramp, duration_s=args.duration,
                         mix=args.behaviour, move_hz=args.move_hz, seed=args.seed, progress=True)
    return run_loadtest(config, workers=args.workers, report_path=args.report, max_p99_ms=args.max_p99_ms,
                        max_overrun_pct=args.max_overrun_pct, as_json=args.json, plot_path=args.plot)
