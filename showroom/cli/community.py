"""``showroom community``: validate a community file, print the format's JSON Schema, report a community's
members in RFM segments, and list or export polls, from a server's data directory."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

from showroom.cli.args import add_data_dir, add_json
from showroom.defaults import DATA_DIR

if TYPE_CHECKING:
    from server.storage.community_files import PollCounts
    from server.storage.community_report import CommunityReport

FMT = argparse.RawDescriptionHelpFormatter
EXAMPLE_COMMUNITY = "communities/weekend-residency-club.toml"
REPORT_COMMUNITY = "communities/maison-lumen-circle.toml"


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
    """Add ``community validate``, ``schema``, ``report`` and ``polls``."""
    community = sub.add_parser("community", help="brand communities: validate a file, JSON Schema, RFM report, polls",
                               formatter_class=FMT,
                               epilog=f"examples:\n  showroom community validate {EXAMPLE_COMMUNITY}\n"
                                      "  showroom community schema > community.schema.json\n"
                                      f"  showroom community report {REPORT_COMMUNITY} --data-dir {DATA_DIR}\n"
                                      f"  showroom community polls maison-lumen-circle --data-dir {DATA_DIR} --export polls.csv")
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
    _register_report(actions)
    _register_polls(actions)


def _register_report(actions: Any) -> None:
    report = actions.add_parser(
        "report", help="members in RFM segments with loyalty tiers, from a server's data directory (read-only)",
        formatter_class=FMT,
        epilog=f"examples:\n  showroom community report {REPORT_COMMUNITY} --data-dir {DATA_DIR}\n"
               f"  showroom community report {REPORT_COMMUNITY} --data-dir {DATA_DIR} --at 2027-01-10T12:00:00+08:00"
               " --plot segments.png\n"
               f"  showroom community report {REPORT_COMMUNITY} --data-dir {DATA_DIR} --json > report.json\n\n"
               "recency: days since a member's last engagement; frequency: events attended plus residency shows\n"
               "visited in the file's rfm.window_days; monetary: the [[catalogue]] value of the vouchers redeemed\n"
               "in that window (from the ledger). Segments as in showroom/community/rfm.py.")
    report.add_argument("file", metavar="COMMUNITY_FILE", help="the community file (its id names the community)")
    add_data_dir(report)
    report.add_argument("--at", type=instant, default=None, metavar="DATETIME",
                        help="score as of this moment, with a UTC offset (default: now)")
    add_json(report, "print the segments, totals, notes and every member's figures as one JSON object")
    report.add_argument("--plot", default=None, metavar="FILE.png",
                        help="also draw the members per segment into this PNG (needs matplotlib)")
    report.set_defaults(handler=_report)


def _register_polls(actions: Any) -> None:
    polls = actions.add_parser(
        "polls", help="an event's or community's polls with their counts; export every answer as CSV",
        formatter_class=FMT,
        epilog=f"examples:\n  showroom community polls maison-lumen-circle --data-dir {DATA_DIR}\n"
               f"  showroom community polls anniversary-runway --data-dir {DATA_DIR} --export answers.csv\n\n"
               "The CSV has one row per answer: poll, question, option (index from 0), option_text, wallet,\n"
               "answered_at (UTC).")
    polls.add_argument("owner", metavar="OWNER", help="an event id or a community id")
    add_data_dir(polls)
    polls.add_argument("--export", default=None, metavar="FILE.csv", help="write every answer of these polls as CSV")
    add_json(polls)
    polls.set_defaults(handler=_polls)


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


def _data_dir(args: argparse.Namespace) -> str:
    from showroom.settings import load_settings

    return str(load_settings(data_dir=args.data_dir).data_dir)


def _report(args: argparse.Namespace) -> int:
    from server.storage.community_report import community_report, report_text
    from showroom.community import load_community

    community = load_community(args.file)
    report = community_report(community, _data_dir(args), args.at or dt.datetime.now(dt.UTC))
    plot = _plot(report, args.plot) if args.plot else None
    if args.json:
        print(json.dumps({**report.as_dict(), **({"plot": plot} if plot else {})}))
    else:
        print(report_text(report))
        if plot and not plot.startswith("not drawn"):
            print(f"plot      {plot}")
    if plot and plot.startswith("not drawn"):
        print(f"community report: plot {plot}", file=sys.stderr)
    return 0


def _plot(report: CommunityReport, path: str) -> str:
    """Draw the picture; what became of it in a few words (a failure is a note: the table stands)."""
    from showroom.errors import ShowroomError

    try:
        return _plot_segments(report, path)
    except ShowroomError as exc:
        return f"not drawn: {exc}"
    except OSError as exc:
        return f"not drawn: cannot write {path}: {exc.strerror or exc}"


_FAMILY_COLOURS = {  # calm shades by what the segment asks of the brand: keep, grow, wake, win back, let go
    "champions": "#2e6f73", "loyal": "#2e6f73",
    "potential_loyalist": "#7fb0ab", "new": "#7fb0ab", "promising": "#7fb0ab",
    "need_attention": "#d8b878", "about_to_sleep": "#d8b878",
    "at_risk": "#c9917f", "cannot_lose": "#c9917f",
    "hibernating": "#a7a7a7", "lost": "#a7a7a7",
}


def _plot_segments(report: CommunityReport, path: str) -> str:
    """A horizontal bar per segment (best first) with its members and share; return where it went."""
    from showroom.errors import ShowroomError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ShowroomError("--plot needs matplotlib: pip install 'showroom[plot]'") from None
    segments = report.segments()
    n = len(report.members)
    names = [str(s.segment).replace("_", " ") for s in segments]
    counts = [s.members for s in segments]
    fig, ax = plt.subplots(figsize=(9, 5.6))
    bars = ax.barh(names, counts, color=[_FAMILY_COLOURS.get(str(s.segment), "#7f8c99") for s in segments],
                   height=0.68)
    ax.invert_yaxis()
    top = max(counts, default=0) or 1
    for bar, s in zip(bars, segments):
        ax.text(bar.get_width() + top * 0.012, bar.get_y() + bar.get_height() / 2,
                f"{s.members}  ({100 * s.share:.1f}%)" if s.members else "0", va="center", fontsize=9,
                color="#333333")
    ax.set_xlim(0, top * 1.2)
    ax.set_xlabel("members")
    ax.tick_params(axis="y", labelsize=10, length=0)
    ax.grid(axis="x", color="#e4e4e4", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    info = report.community.community
    ax.set_title(f"{info.name}: members by RFM segment", loc="left", fontsize=13, pad=22)
    ax.text(0, 1.015, f"{n} members as of {report.at.strftime('%Y-%m-%d %H:%M')} ({info.time_zone}); "
            f"frequency and monetary over {report.community.rfm.window_days} days", transform=ax.transAxes,
            fontsize=9, color="#555555")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"written to {path}"


def _polls(args: argparse.Namespace) -> int:
    from server.storage.community_files import poll_answers, poll_counts, utc_text, write_answers_csv

    data_dir = _data_dir(args)
    found = poll_counts(data_dir, args.owner)
    exported = None
    if args.export:
        polls = [counts.poll for counts in found]
        exported = write_answers_csv(args.export, polls, poll_answers(data_dir, polls))
    if args.json:
        print(json.dumps({"owner": args.owner, "polls": [_poll_dict(c) for c in found],
                          **({"export": {"path": args.export, "answers": exported}} if args.export else {})}))
        return 0
    print(f"{args.owner}: {len(found)} poll{'s' if len(found) != 1 else ''}")
    now = dt.datetime.now(dt.UTC).timestamp()
    for counts in found:
        poll = counts.poll
        ended = poll.closed_at if poll.closed_at is not None else (
            poll.closes_at if poll.closes_at is not None and poll.closes_at <= now else None)
        state = (f"closed {utc_text(ended)}" if ended is not None
                 else f"open until {utc_text(poll.closes_at)}" if poll.closes_at is not None else "open")
        print(f"  {poll.id}: {poll.question}")
        print(f"    {poll.scope} poll, {state}, results {poll.results.replace('_', ' ')}; "
              f"{counts.answers} answer{'s' if counts.answers != 1 else ''}")
        width = max(len(option) for option in poll.options)
        for i, (option, n) in enumerate(zip(poll.options, counts.tally)):
            share = f"{100 * n / counts.answers:5.1f}%" if counts.answers else "     -"
            print(f"    {i:>3}  {option.ljust(width)}  {n:>5}  {share}")
    if exported is not None:
        print(f"exported {exported} answer{'s' if exported != 1 else ''} to {args.export}")
    return 0


def _poll_dict(counts: PollCounts) -> dict[str, Any]:
    """A poll with its counts as plain JSON data (times ISO 8601 UTC)."""
    from server.storage.community_files import utc_text

    poll = counts.poll

    def when(at_s: float | None) -> str | None:
        return None if at_s is None else utc_text(at_s)
    return {"id": poll.id, "scope": poll.scope, "owner": poll.owner, "question": poll.question,
            "results": poll.results, "opened_at": when(poll.opened_at), "closes_at": when(poll.closes_at),
            "closed_at": when(poll.closed_at), "answers": counts.answers,
            "options": [{"option": i, "text": text, "answers": n}
                        for i, (text, n) in enumerate(zip(poll.options, counts.tally))]}
