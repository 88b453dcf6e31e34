"""The ``showroom`` command: one entry point with a subcommand per job.

Each command group is a module here that registers its own parser (``register``) and keeps
its heavy imports (NumPy, pydantic, the simulation, Panda3D) inside its handlers, so
``showroom --help`` answers at once. This package is the only place that ties the server,
the bots and the client together.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from showroom.cli import bench, client, community, demo, host, ledger, loadtest, scene, serve, sim, validate
from showroom.defaults import EXAMPLE_SCENE, PORT

GROUPS = (demo, client, serve, host, scene, community, sim, loadtest, ledger, bench, validate)
"""Command groups in the order ``showroom --help`` lists them."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what was wrong, and where to read the usage."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: message`` and exit 2."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = Parser(
        prog="showroom",
        description="Virtual showroom and runway event simulator.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"example:\n  showroom demo\n  showroom serve {EXAMPLE_SCENE} --port {PORT}",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and getattr(args, "extra_words", None):
        # argparse gives a '*' positional nothing once an option sits between it and the one before
        # (`host URL --token T seek 1:30`), so those words come back as extras: they are the command
        setattr(args, args.extra_words, [*getattr(args, args.extra_words), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from showroom.errors import ShowroomError

    try:
        return int(args.handler(args))
    except ShowroomError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
