"""Cross-checks of a community file that a single field's validator cannot see."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from itertools import pairwise

from pydantic import TypeAdapter, ValidationError

from showroom.community.challenges import Challenge, weekly_series
from showroom.community.model import Community
from showroom.community.residencies import EVERYONE, MAX_SEASON_DAYS, MEMBERS
from showroom.community.schedule import describe_seconds, describe_span, residency_occurrences, utc
from showroom.scene.base import Ident
from showroom.scene.checks import check_voucher_windows
from showroom.scene.model import Scene
from showroom.scene.problems import Problem, duplicates, known
from showroom.scene.rewards import Voucher
from showroom.scene.timecode import format_clock

__all__ = ["check_community"]

SceneLookup = Mapping[str, Scene | str]
"""A residency's ``scene`` as written -> the scene it names, or why it cannot be used."""

_ENTRY_NEEDS = {"invite": "invite", "request": "approve"}
"""The ability some role must have for each way of joining (an open community needs none)."""


def check_community(community: Community, scenes: SceneLookup) -> list[Problem]:
    """Every cross-reference, ordering and schedule problem of a validated community."""
    problems: list[Problem] = []
    checks = (_check_ids, _check_roles, _check_loyalty, _check_grants, _check_challenges, _check_residencies,
              _check_catalogue)
    for check in checks:
        problems.extend(check(community))
    problems.extend(_check_scenes(community, scenes))
    return problems


def _check_ids(community: Community) -> Iterator[Problem]:
    yield from duplicates("roles", [role.id for role in community.roles])
    yield from duplicates("loyalty.tiers", [tier.id for tier in community.loyalty.tiers])
    yield from duplicates("entitlements", [ent.id for ent in community.entitlements])
    yield from duplicates("challenges", [challenge.id for challenge in community.challenges])
    yield from duplicates("residencies", [residency.id for residency in community.residencies])
    for path, message in duplicates("catalogue", [item.entitlement for item in community.catalogue]):
        yield path.replace(".id", ".entitlement"), message.replace("duplicate id", "a second value for")


def _listed_twice(path: str, values: list[str]) -> Iterator[Problem]:
    for value, count in Counter(values).items():
        if count > 1:
            yield path, f"{value!r} is listed {count} times"


def _check_roles(community: Community) -> Iterator[Problem]:
    roles = community.roles
    for index, role in enumerate(roles):
        yield from _listed_twice(f"roles[{index}].can", list(role.can))
    defaults = [index for index, role in enumerate(roles) if role.default]
    if not defaults:
        yield "roles", "no role has default = true: mark the one new members get"
    for index in defaults[1:]:
        yield f"roles[{index}].default", (
            f"{roles[index].id!r} is a second default role ({roles[defaults[0]].id!r} is one too): "
            "new members get exactly one role"
        )
    ability = _ENTRY_NEEDS.get(community.community.entry)
    if ability is not None and not any(ability in role.can for role in roles):
        yield "community.entry", (
            f"entry by {community.community.entry} needs a role that can {ability!r}, and no role can"
        )


def _check_loyalty(community: Community) -> Iterator[Problem]:
    tiers = community.loyalty.tiers
    for index, tier in enumerate(tiers):
        here = f"loyalty.tiers[{index}]"
        if tier.id in (EVERYONE, MEMBERS):
            yield f"{here}.id", f"{tier.id!r} is a residency entry of its own, not a tier id: choose another id"
        yield from _listed_twice(f"{here}.perks", list(tier.perks))
    for index, (before, tier) in enumerate(pairwise(tiers), start=1):
        if tier.points <= before.points:
            yield f"loyalty.tiers[{index}].points", (
                f"{tier.points} is not above the tier before ({before.id!r} at {before.points}): "
                "list tiers from the lowest threshold up"
            )


def _check_grants(community: Community) -> Iterator[Problem]:
    granted = {ent.id for ent in community.entitlements}
    yield from check_voucher_windows(community.entitlements)
    grants: list[tuple[str, str | None]] = [
        *((f"loyalty.tiers[{i}].grant", tier.grant) for i, tier in enumerate(community.loyalty.tiers)),
        *((f"challenges[{i}].feature_grant", c.feature_grant) for i, c in enumerate(community.challenges)),
    ]
    for path, grant in grants:
        if grant is not None and grant not in granted:
            yield path, f"unknown entitlement {grant!r} {known('entitlements', granted)}"


def _check_challenges(community: Community) -> Iterator[Problem]:
    tz = community.zone()
    made: dict[str, tuple[int, bool]] = {}  # expanded id -> the table that makes it, and whether as a week of a series
    for index, challenge in enumerate(community.challenges):
        here = f"challenges[{index}]"
        starts = challenge.phase_starts()
        ordered = True
        for (phase, when), (next_phase, next_when) in pairwise(starts):
            if utc(next_when) <= utc(when):
                ordered = False
                yield f"{here}.{next_phase}", (
                    f"{next_phase} ({next_when.isoformat()}) is not after {phase} ({when.isoformat()})"
                )
        series = weekly_series(challenge, tz)
        if ordered and len(series) > 1:
            clash = next(((this, after) for this, after in pairwise(series) if utc(this.closed) > utc(after.submissions)), None)
            if clash is not None:
                this, after = clash
                yield f"{here}.repeat_weeks", (
                    f"{this.id!r} is still open when {after.id!r} opens ({describe_span(this.submissions, this.closed)} "
                    "from submissions to closed): a weekly challenge closes within a week"
                )
        yield from _check_series_ids(community, index, series, made)


def _check_series_ids(community: Community, index: int, series: list[Challenge],
                      made: dict[str, tuple[int, bool]]) -> Iterator[Problem]:
    """Numbered weeks of a series neither clash with another challenge's id nor grow past an id's length."""
    here = f"challenges[{index}]"
    weekly = community.challenges[index].repeat_weeks is not None
    if weekly and not _valid_id(series[-1].id):
        yield f"{here}.id", f"{series[-1].id!r}, the id of its last week, is longer than an id may be: shorten the id"
        return
    for one in series:
        clash = made.get(one.id)
        written_twice = community.challenges[clash[0]].id == community.challenges[index].id if clash else False
        if clash is not None and (weekly or clash[1]) and not written_twice:  # the same id written twice: _check_ids
            yield f"{here}.id", (
                f"duplicate id {one.id!r} once weekly series are numbered (challenges[{clash[0]}] has it too)"
            )
            return
        made.setdefault(one.id, (index, weekly))


_IDENT: TypeAdapter[str] = TypeAdapter(Ident)


def _valid_id(value: str) -> bool:
    try:
        _IDENT.validate_python(value)
    except ValidationError:
        return False
    return True


def _check_residencies(community: Community) -> Iterator[Problem]:
    tiers = {tier.id for tier in community.loyalty.tiers}
    tz = community.zone()
    for index, residency in enumerate(community.residencies):
        here = f"residencies[{index}]"
        if residency.entry not in (EVERYONE, MEMBERS) and residency.entry not in tiers:
            yield f"{here}.entry", (
                f"{residency.entry!r} is neither 'everyone', 'members' nor a tier {known('tiers', tiers)}"
            )
        if residency.last < residency.first:
            yield f"{here}.last", (
                f"the season ends ({residency.last.isoformat()}) before it starts ({residency.first.isoformat()})"
            )
        elif (residency.last - residency.first).days > MAX_SEASON_DAYS:
            yield f"{here}.last", f"a season lasts at most {MAX_SEASON_DAYS} days (two years): split it"
        elif not _plays(residency.first, residency.last, residency.weekday_index()):
            yield f"{here}.weekday", (
                f"no {residency.weekday} from {residency.first.isoformat()} to {residency.last.isoformat()}"
            )
    yield from _check_overlaps(community, tz)


def _plays(first: dt.date, last: dt.date, weekday: int) -> bool:
    return (last - first).days >= (weekday - first.weekday()) % 7


def _check_overlaps(community: Community, tz: dt.tzinfo) -> Iterator[Problem]:
    """Two residencies never play at once (so ``residency_on`` has one answer)."""
    shows: list[tuple[dt.datetime, dt.datetime, int]] = []
    for index, residency in enumerate(community.residencies):
        if residency.first <= residency.last and (residency.last - residency.first).days <= MAX_SEASON_DAYS:
            start = dt.datetime.combine(residency.first, dt.time(), tz)
            end = dt.datetime.combine(residency.last + dt.timedelta(days=1), dt.time(), tz)
            shows.extend((utc(begin), utc(finish), index)
                         for begin, finish in residency_occurrences(residency, tz, start, end))
    shows.sort()
    reported: set[int] = set()
    latest: tuple[dt.datetime, int] | None = None  # the show seen so far that ends last
    for begin, finish, index in shows:
        if latest is not None and begin < latest[0] and latest[1] != index and index not in reported:
            other = community.residencies[latest[1]]
            reported.add(index)
            yield f"residencies[{index}].start", (
                f"plays at {begin.astimezone(tz).strftime('%Y-%m-%d %H:%M')} while residencies[{latest[1]}] "
                f"({other.id!r}) is still on (until {latest[0].astimezone(tz).strftime('%H:%M')}): "
                "one residency plays at a time"
            )
        if latest is None or finish > latest[0]:
            latest = (finish, index)


def _check_catalogue(community: Community) -> Iterator[Problem]:
    own = {ent.id: ent for ent in community.entitlements}
    for index, item in enumerate(community.catalogue):
        ent = own.get(item.entitlement)
        if ent is not None and not isinstance(ent, Voucher):
            yield f"catalogue[{index}].entitlement", (
                f"{item.entitlement!r} is a {ent.kind}, not a voucher: only vouchers are redeemed"
            )
    if community.catalogue:
        first = community.catalogue[0].currency
        for index, item in enumerate(community.catalogue):
            if item.currency != first:
                yield f"catalogue[{index}].currency", (
                    f"{item.currency} differs from catalogue[0]'s {first}: RFM adds values up, so use one currency"
                )


def _check_scenes(community: Community, scenes: SceneLookup) -> Iterator[Problem]:
    tiers = {tier.id for tier in community.loyalty.tiers}
    for index, residency in enumerate(community.residencies):
        here = f"residencies[{index}]"
        scene = scenes.get(residency.scene)
        if scene is None:
            continue
        if isinstance(scene, str):
            yield f"{here}.scene", scene
            continue
        event = scene.event
        if event.community is not None and event.community != community.community.id:
            yield f"{here}.scene", (
                f"{residency.scene} is an event of community {event.community!r}, not {community.community.id!r}"
            )
        if event.min_tier is not None and event.min_tier not in tiers:
            yield f"{here}.scene", (
                f"{residency.scene} lets in members from tier {event.min_tier!r}, which is not a tier here "
                f"{known('tiers', tiers)}"
            )
        if residency.duration < event.duration:
            yield f"{here}.duration", (
                f"{describe_seconds(residency.duration)} is shorter than the show of {residency.scene} "
                f"({format_clock(event.duration)})"
            )
