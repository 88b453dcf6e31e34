"""A short human summary of a valid community, as ``showroom community validate`` prints it."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from showroom.community.challenges import Challenge, weekly_series
from showroom.community.model import Community
from showroom.community.residencies import Residency
from showroom.community.schedule import challenge_phase, describe_seconds, next_occurrence, residency_occurrences

_ENTRY = {"invite": "by invite", "request": "by request", "open": "open to anyone"}
_NEEDS = {"invite": "invite", "request": "approve"}


def _when(at: dt.datetime, tz: dt.tzinfo) -> str:
    return at.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")


def summarise(community: Community, source: str, at: dt.datetime) -> str:
    """A few lines naming what the community holds; current phases and next shows are as of ``at``."""
    info, tz = community.community, community.zone()
    needed = _NEEDS.get(info.entry)
    deciders = [role.id for role in community.roles if needed in role.can] if needed else []
    by = f" ({'invites from' if info.entry == 'invite' else 'approved by'} {', '.join(deciders)})" if deciders else ""
    roles = "; ".join(f"{role.id}{' (default)' if role.default else ''}: {', '.join(role.can) or 'no abilities'}"
                      for role in community.roles)
    loyalty = community.loyalty
    tiers = ", ".join(f"{tier.name} {tier.points}" for tier in loyalty.tiers) or "none"
    decay = "resets it" if loyalty.streak_decay == "reset" else "halves it"
    kinds = Counter(ent.kind for ent in community.entitlements)
    currencies = sorted({item.currency for item in community.catalogue})
    lines = [
        f"{source}: ok",
        f"  community     {info.name} ({info.id}), brand {info.brand}; times in {info.time_zone}",
        f"  members       up to {info.cap}, join {_ENTRY[info.entry]}{by}; an invite admits up to "
        f"{community.invites.max_uses} people within {community.invites.max_days:g} days",
        f"  roles         {roles}",
        f"  loyalty       tiers {tiers}; streak {loyalty.streak_min_points} points a week (a week below {decay})",
        f"  entitlements  {len(community.entitlements)} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}); "
        f"catalogue {len(community.catalogue)} vouchers{' in ' + ', '.join(currencies) if currencies else ''}; "
        f"RFM over {community.rfm.window_days} days",
        f"  challenges    {len(community.all_challenges())} ({len(community.challenges)} written)",
        *(_challenge(challenge, tz, at) for challenge in community.challenges),
        f"  residencies   {len(community.residencies)}",
        *(_residency(residency, tz, at) for residency in community.residencies),
    ]
    return "\n".join(lines)


def _challenge(challenge: Challenge, tz: dt.tzinfo, at: dt.datetime) -> str:
    series = weekly_series(challenge, tz)
    name = f"{series[0].id}..{series[-1].id.rsplit('-', 1)[1]}" if len(series) > 1 else challenge.id
    grant = f" -> {challenge.feature_grant}" if challenge.feature_grant else ""
    phases = ", ".join(f"{phase} {_when(when, tz)}" for phase, when in series[0].phase_starts())
    weekly = f"; weekly until {_when(series[-1].closed, tz)}" if len(series) > 1 else ""
    current = next((one for one in series if challenge_phase(one, at) != "closed"), series[-1])
    now = f"{challenge_phase(current, at)} ({current.id})" if len(series) > 1 else challenge_phase(current, at)
    return f"    {name}: {challenge.ballot}, top {challenge.featured}{grant}: {phases}{weekly}; now {now}"


def _residency(residency: Residency, tz: dt.tzinfo, at: dt.datetime) -> str:
    season = (dt.datetime.combine(residency.first, dt.time(), tz),
              dt.datetime.combine(residency.last + dt.timedelta(days=2), dt.time(), tz))
    shows = residency_occurrences(residency, tz, *season)
    upcoming = next_occurrence(residency, tz, at)
    following = f"next {_when(upcoming[0], tz)}" if upcoming else "season over"
    length = describe_seconds(residency.duration)
    return (f"    {residency.id}: {residency.weekday}s {residency.start.strftime('%H:%M')} for {length}, "
            f"{residency.first.isoformat()} to {residency.last.isoformat()} ({len(shows)} shows), "
            f"entry {residency.entry}, scene {residency.scene}; {following}")
