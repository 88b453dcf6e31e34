"""The community commands' answers as text for people: invite codes, requests, entries, polls.

Labels and table columns line up like ``status`` (:mod:`showroom.host.render`); times are
shown in UTC to the minute, as the server keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from showroom.protocol import community as cm
from showroom.protocol.base import Message

LABEL_WIDTH = 10
"""Labels of the label-value answers take this many characters, as in ``status``."""


def invite_text(invite: cm.InviteIssued) -> str:
    """An invite code: the code, its community, how many people it admits, when it lapses."""
    return _labelled([
        ("invite", invite.code),
        ("community", invite.community),
        ("uses", f"{invite.max_uses} {'person' if invite.max_uses == 1 else 'people'} at most"),
        ("expires", when(invite.expires_at)),
    ])


def requests_text(answer: cm.Requests) -> str:
    """The pending join requests as a table: name, wallet, when they asked."""
    count = len(answer.requests)
    if not count:
        return f"no pending requests for {answer.community}"
    head = f"{count} pending request{'s' if count != 1 else ''} for {answer.community}"
    rows = [(r.name, r.wallet, when(r.at)) for r in answer.requests]
    return "\n".join([head, *table(("name", "wallet", "asked"), rows)])


def members_text(answer: cm.Members) -> str:
    """The members (name, wallet, role, tier, points, joined) and the invite codes (uses, expiry, state)."""
    count = len(answer.members)
    lines = [f"{count} member{'s' if count != 1 else ''} of {answer.community}"]
    if count:
        lines += table(("name", "wallet", "role", "tier", "points", "joined"),
                       [(m.name, m.wallet, m.role, m.tier or "-", f"{m.points:g}", when(m.joined_at))
                        for m in answer.members])
    if not answer.invites:
        lines.append("no invite codes")
        return "\n".join(lines)
    lines.append(f"{len(answer.invites)} invite code{'s' if len(answer.invites) != 1 else ''}")
    lines += table(("code", "issued by", "used", "expires", "state"),
                   [(i.code, i.issued_by, f"{i.uses}/{i.max_uses}", when(i.expires_at),
                     "revoked" if i.revoked else "open") for i in answer.invites])
    return "\n".join(lines)


def gallery_text(gallery: cm.Gallery) -> str:
    """Every entry of a challenge as a table: id, title, author, status, rank, reason."""
    statuses = [e.status for e in gallery.entries]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in ("approved", "pending", "rejected"))
    n = len(statuses)
    head = (f"{gallery.community} / {gallery.challenge}: {gallery.phase}, {gallery.ballot} ballot; "
            f"{n} entr{'ies' if n != 1 else 'y'}" + (f" ({counts})" if n else ""))
    rows = [(str(e.entry), e.title, e.by, e.status, "-" if e.rank is None else str(e.rank), e.reason or "")
            for e in gallery.entries]
    return "\n".join([head, *table(("entry", "title", "by", "status", "rank", "reason"), rows)]) if rows else head


def poll_text(sent: Message, poll: cm.PollState) -> str:
    """A poll as started (or closed, when ``sent`` closed it): id, question, options, results, closing."""
    closed = isinstance(sent, cm.HostPollClose)
    rows = [
        ("poll", f"{poll.poll} ({'closed' if closed else 'open'})"),
        ("question", poll.question),
        ("options", " | ".join(poll.options)),
    ]
    if closed:
        counts = poll.counts or [0] * len(poll.options)
        total = sum(counts)
        rows.append(("results", ", ".join(f"{option} {n}" for option, n in zip(poll.options, counts))
                     + f" ({total} answer{'s' if total != 1 else ''}; final counts sent to every shard)"))
    else:
        rows.append(("results", "live, as answers come" if poll.results == "live" else "when the poll closes"))
        rows.append(("closes", when(poll.closes_at) if poll.closes_at is not None
                     else f"when you close it (close-poll {poll.poll})"))
    if poll.community is not None:
        rows.append(("for", f"members of {poll.community}"))
    return _labelled(rows)


def report_text(report: cm.ReportMessage) -> str:
    """A community report: the server's own table (as ``showroom community report`` prints it)."""
    return report.text


def targeted_text(sent: Message, answer: cm.Targeted) -> str:
    """What a targeting did: who the audience was, what they got, and each member's invite code."""
    n = answer.members
    who = _criteria(sent) if isinstance(sent, cm.HostTarget) else "the audience"
    head = f"{n} member{'s' if n != 1 else ''} of {answer.community} ({who})"
    if not n:
        return head + ": nothing given"
    rows = [("audience", head)]
    if answer.granted is not None:
        rows.append(("granted", f"{answer.granted} to each (once per member; each is told the moment the ledger "
                                "has it written)"))
    if answer.invites:
        rows.append(("invites", f"{len(answer.invites)} codes, one per member (those at the event see theirs now)"))
    lines = [_labelled(rows)]
    if answer.invites:
        lines += table(("name", "wallet", "code"), [(i.name, i.wallet, i.code) for i in answer.invites])
    return "\n".join(lines)


def _criteria(sent: cm.HostTarget) -> str:
    """An audience's criteria in words."""
    parts = []
    if sent.segments:
        parts.append(" or ".join(sent.segments))
    if sent.min_tier:
        parts.append(f"tier {sent.min_tier} and up")
    if sent.min_streak:
        parts.append(f"a streak of {sent.min_streak}+ weeks")
    return ", ".join(parts) if parts else "every member"


def done_text(sent: Message) -> str | None:
    """What a community command did, for its ``host_ok``; None for another command."""
    if isinstance(sent, cm.HostDecide):
        if sent.approve:
            return f"{sent.wallet} approved: now a member of {sent.community}"
        because = f" ({sent.reason})" if sent.reason else ""
        return f"{sent.wallet}'s request to join {sent.community} refused{because}"
    if isinstance(sent, cm.HostRole):
        return f"{sent.wallet} is now {sent.role} in {sent.community}"
    if isinstance(sent, cm.HostExpel):
        return f"{sent.wallet} banned from {sent.community}: no longer a member, and refused if they try again"
    if isinstance(sent, cm.HostRevoke):
        return f"invite {sent.code} of {sent.community} withdrawn: nobody joins with it any more"
    if isinstance(sent, cm.HostPhase):
        return f"{sent.challenge} of {sent.community} moved to its {sent.phase} phase"
    if isinstance(sent, cm.HostModerate):
        if sent.approve:
            return f"entry {sent.entry} accepted (its author is told)"
        return f"entry {sent.entry} rejected (its author is told: {sent.reason})"
    if isinstance(sent, cm.HostFeature):
        return f"featured entries of {sent.challenge} published and awarded (entries shows their ranks)"
    return None


def when(stamp: str) -> str:
    """An RFC 3339 time from the server as ``2026-12-07 09:00 UTC`` (as given when it is not one)."""
    try:
        at = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if at.tzinfo is None:
        return stamp
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows under their headers, each column as wide as its widest cell, indented two spaces."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]
    return ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
            for row in (headers, *rows)]


def _labelled(rows: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"{label.ljust(LABEL_WIDTH - 1)} {value}" for label, value in rows)
