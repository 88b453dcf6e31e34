"""When things happen: a challenge's phase at an instant, a residency's shows, what plays now.

Pure functions of time: every instant given is an aware ``datetime`` (naive ones are refused,
they could mean any time zone); every instant returned is aware, in the community's zone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from showroom.community.challenges import Challenge, Phase
from showroom.community.residencies import Residency

if TYPE_CHECKING:
    from showroom.community.model import Community

__all__ = ["challenge_phase", "describe_seconds", "describe_span", "next_occurrence", "residency_occurrences", "residency_on", "utc"]

Show = tuple[dt.datetime, dt.datetime]
"""One show of a residency: when it starts and ends."""


def utc(at: dt.datetime, name: str = "at") -> dt.datetime:
    """``at`` in UTC, refusing a naive datetime.

    Instants are compared and subtracted in UTC: Python compares two datetimes of the same
    zone by their wall-clock times, which is wrong across a daylight-saving change.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} ({at.isoformat()}) has no time zone: give an aware datetime")
    return at.astimezone(dt.UTC)


def challenge_phase(challenge: Challenge, at: dt.datetime) -> Phase:
    """The phase ``challenge`` is in at instant ``at``; a phase starts at its time exactly."""
    now = utc(at)
    phase: Phase = "draft"
    for name, start in challenge.phase_starts():
        if now >= utc(start):
            phase = name
    return phase


def _zone(tz: dt.tzinfo | str) -> dt.tzinfo:
    if isinstance(tz, str):
        import zoneinfo

        return zoneinfo.ZoneInfo(tz)
    return tz


def residency_occurrences(residency: Residency, tz: dt.tzinfo | str, start: dt.datetime, end: dt.datetime) -> list[Show]:
    """The shows of ``residency`` that are on at some instant from ``start`` (included) to ``end`` (excluded).

    Each show starts at the residency's local ``start`` time in ``tz`` on its weekday, so it
    keeps its wall-clock time across daylight-saving changes, and lasts ``duration`` seconds of
    real time. A start time that a spring-forward change skips is read with the offset before
    the change (02:30 becomes 03:30 summer time); one that a fall-back repeats is the first.
    """
    zone = _zone(tz)
    since, until = utc(start, "start"), utc(end, "end")
    length = dt.timedelta(seconds=residency.duration)
    earliest = max(residency.first, (since - length).astimezone(zone).date() - dt.timedelta(days=1))
    latest = min(residency.last, until.astimezone(zone).date() + dt.timedelta(days=1))
    day = earliest + dt.timedelta(days=(residency.weekday_index() - earliest.weekday()) % 7)
    shows: list[Show] = []
    while day <= latest:
        begins = utc(dt.datetime.combine(day, residency.start, zone))
        ends = begins + length
        if begins < until and ends > since:
            shows.append((begins.astimezone(zone), ends.astimezone(zone)))
        day += dt.timedelta(weeks=1)
    return shows


def next_occurrence(residency: Residency, tz: dt.tzinfo | str, after: dt.datetime) -> Show | None:
    """The first show of ``residency`` still on or to come at ``after``, or None once the season is over."""
    since = utc(after, "after")
    zone = _zone(tz)
    horizon = utc(dt.datetime.combine(residency.last, dt.time(), zone)) + dt.timedelta(days=2)
    if since >= horizon:
        return None
    shows = residency_occurrences(residency, zone, since, min(horizon, since + dt.timedelta(days=8)))
    if not shows:
        shows = residency_occurrences(residency, zone, since, horizon)
    return shows[0] if shows else None


def residency_on(community: Community, at: dt.datetime) -> Residency | None:
    """The residency playing at instant ``at`` (a show runs from its start, included, to its end), or None."""
    now = utc(at)
    zone = community.zone()
    instant = dt.timedelta(microseconds=1)
    return next((residency for residency in community.residencies
                 if residency_occurrences(residency, zone, now, now + instant)), None)


def describe_span(start: dt.datetime, end: dt.datetime) -> str:
    """The time from ``start`` to ``end`` in words: ``6 days 12 h``, ``45 min``."""
    return describe_seconds((utc(end, "end") - utc(start, "start")).total_seconds())


def describe_seconds(seconds: float) -> str:
    """A length of time in words, to the minute below: ``6 days 12 h``, ``45 min``."""
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}" if days else "", f"{hours} h" if hours else "",
             f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p) or "0 min"
