"""``showroom validate crowd``: the crowd model against published pedestrian data, with JuPedSim beside it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from showroom.cli.args import add_json

FMT = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add ``validate crowd``."""
    validate = sub.add_parser("validate", help="validate the crowd model against published pedestrian data",
                              formatter_class=FMT,
                              epilog="examples:\n  showroom validate crowd\n  showroom validate crowd --plot docs/validation")
    kinds = validate.add_subparsers(dest="validate_command", metavar="WHAT", required=True)
    crowd = kinds.add_parser(
        "crowd", formatter_class=FMT,
        help="run scenes/validation (RiMEA 1, 4, 6, 9, bottlenecks, counterflow) and print a pass/fail table",
        description="Runs the scenes in scenes/validation with the crowd model and compares each figure with its "
                    "published reference. With JuPedSim installed (pip install 'showroom[bench]') the same scenes "
                    "also run with JuPedSim's collision-free speed model, and its figures stand beside ours. "
                    "Exits 1 if a check fails.",
        epilog="examples:\n  showroom validate crowd\n  showroom validate crowd --plot docs/validation --json")
    crowd.add_argument("--plot", metavar="DIR", default=None,
                       help="draw fundamental-diagram.png and bottleneck-flow.png into DIR")
    crowd.add_argument("--only", metavar="PARTS", default=None,
                       help="comma-separated parts to run (default all): rimea1, fd, corner, rimea9, bottleneck, "
                            "counterflow, doors, overlap")
    crowd.add_argument("--no-jupedsim", action="store_true", help="run our model only, even when JuPedSim is installed")
    add_json(crowd, "print the report as one JSON object (last line)")
    crowd.set_defaults(handler=_crowd)


def _crowd(args: argparse.Namespace) -> int:
    from showroom.errors import ShowroomError
    from showroom.validation.crowd import PARTS, table, validate

    def progress(what: str) -> None:
        print(f"  running {what}", file=sys.stderr, flush=True)

    only = PARTS if args.only is None else tuple(p.strip() for p in args.only.split(",") if p.strip())
    try:
        report = validate(jupedsim=not args.no_jupedsim, only=only, progress=progress)
    except ValueError as exc:
        raise ShowroomError(f"validate crowd --only {args.only}: {exc}") from None
    if report.jupedsim is None and not args.no_jupedsim:
        print("JuPedSim is not installed, so only our model ran (pip install 'showroom[bench]' to compare)",
              file=sys.stderr if args.json else sys.stdout)
    if args.plot:
        from showroom.validation.plots import draw

        for path in draw(report, Path(args.plot)):
            print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        print(table(report))
    return 0 if report.passed else 1
