"""``showroom host``: the event host's console (interactive, one command, or a script)."""

from __future__ import annotations

import argparse
from typing import Any

from showroom.cli.args import ws_url
from showroom.defaults import EXAMPLE_URL


def register(sub: Any) -> None:
    """Add ``host``."""
    host = sub.add_parser(
        "host", help="event host console: steer the show (cues, announcements, drops, status) and run its "
                     "communities (invites, requests, challenges, polls, reports, audiences)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands (type help in the console for what each does):\n"
               "  show:      start, pause, seek TIME, next, cue N, announce TEXT, drop VOUCHER open|close,\n"
               "             kick VISITOR, ban VISITOR, status\n"
               "  community: invite COMMUNITY [USES] [DAYS], requests COMMUNITY, approve COMMUNITY WALLET,\n"
               "             refuse COMMUNITY WALLET [REASON...], role COMMUNITY WALLET ROLE,\n"
               "             expel COMMUNITY WALLET, members COMMUNITY, revoke COMMUNITY CODE,\n"
               "             phase COMMUNITY CHALLENGE draft|submissions|review|voting|closed,\n"
               "             entries COMMUNITY CHALLENGE, accept ENTRY, reject ENTRY REASON...,\n"
               "             feature COMMUNITY CHALLENGE, close-poll POLL,\n"
               "             poll \"QUESTION\" OPTION OPTION... [--for TIME] [--on-close] [--community C],\n"
               "             report COMMUNITY, target COMMUNITY [--segment S,S] [--tier T] [--streak WEEKS]\n"
               "             [--grant ENTITLEMENT] [--invites USES]\n"
               "exit status: 0 done, 1 refused by the server or no connection, 2 a badly written command\n\n"
               f"examples:\n  showroom host {EXAMPLE_URL} --token T\n"
               f"  showroom host {EXAMPLE_URL} --token T seek 1:30\n"
               f"  showroom host {EXAMPLE_URL} --token T status --json\n"
               f"  showroom host {EXAMPLE_URL} --token T --script cues.txt\n"
               f"  showroom host {EXAMPLE_URL} --token T requests weekend-residency-club\n"
               f"  showroom host {EXAMPLE_URL} --token T poll \"Which colour next?\" rose gold --for 2m")
    host.add_argument("url", type=ws_url, help=f"the server's WebSocket URL, e.g. {EXAMPLE_URL}")
    host.add_argument("words", nargs="*", metavar="COMMAND",
                      help="one command to run, then exit (default: an interactive console)")
    host.add_argument("--token", default=None,
                      help="the host token (default $SHOWROOM_HOST_TOKEN; showroom serve prints it)")
    host.add_argument("--script", default=None,
                      help="run the commands of this file, one per line (# comments); stop at the first error")
    host.add_argument("--json", action="store_true", help="print each answer as one JSON object per line")
    host.set_defaults(handler=_host, extra_words="words")


def _host(args: argparse.Namespace) -> int:
    from pathlib import Path

    from showroom.errors import ShowroomError
    from showroom.host.console import run_host
    from showroom.settings import load_settings

    token = load_settings(host_token=args.token).host_token
    if not token:
        raise ShowroomError("give the host token with --token or $SHOWROOM_HOST_TOKEN (showroom serve prints it)")
    return run_host(args.url, token, args.words, script=Path(args.script) if args.script else None,
                    as_json=args.json)
