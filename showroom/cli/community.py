"""``showroom community``: validate a community file or print the format's JSON Schema."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

FMT = argparse.RawDescriptionHelpFormatter
EXAMPLE_COMMUNITY = "communities/weekend-residency-club.toml"


def instant(text: str) -> dt.datetime:
    """An ISO date-time with a UTC offset (``2026-12-05T20:00:00+01:00`` or ``...Z``)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date-time such as 2026-12-05T20:00:00+01:00, got {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text} has no UTC offset: write {text}Z for UTC, or an offset such as "
                                         f"{text}+01:00")
    return value


def register(sub: Any) -> None:
    """Add ``community validate`` and ``community schema``."""
    community = sub.add_parser("community", help="validate a brand community file or print its JSON Schema",
                               formatter_class=FMT,
                               epilog=f"examples:\n  showroom community validate {EXAMPLE_COMMUNITY}\n"
                                      "  showroom community schema > community.schema.json")
    actions = community.add_subparsers(dest="community_command", metavar="ACTION", required=True)
    validate = actions.add_parser(
        "validate", help="check a community file; print a summary or one line per error", formatter_class=FMT,
        epilog=f"examples:\n  showroom community validate {EXAMPLE_COMMUNITY}\n"
               f"  showroom community validate {EXAMPLE_COMMUNITY} --at 2026-12-12T19:00:00+01:00")
    validate.add_argument("file")
    validate.add_argument("--at", type=instant, default=None, metavar="DATETIME",
                          help="the moment for current phases and next shows, with a UTC offset (default: now)")
    validate.set_defaults(handler=_validate)
    schema = actions.add_parser("schema", help="print the community format's JSON Schema (for editor completion)",
                                formatter_class=FMT, epilog="example:\n  showroom community schema > community.schema.json")
    schema.set_defaults(handler=_schema)


def _validate(args: argparse.Namespace) -> int:
    from showroom.community import load_community
    from showroom.community.summary import summarise

    community = load_community(args.file)
    print(summarise(community, args.file, args.at or dt.datetime.now(dt.UTC)))
    return 0


def _schema(args: argparse.Namespace) -> int:
    from showroom.community import Community

    print(json.dumps(Community.model_json_schema(), indent=2))
    return 0
