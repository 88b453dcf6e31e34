"""Loyalty points, tiers and weekly streaks from a community's engagement log.

The log is columnar (:class:`EngagementLog`): one row per engagement with the member's
index in the community roster, its kind (one of :data:`KINDS`), an amount in the kind's
unit (minutes for ``attended_minute``, a count for everything else) and its time in Unix
seconds. A row earns ``rules.points[kind] * amount`` points (kinds missing from the rules
earn none). Points are never negative, so a member's running total only grows and a tier,
once reached, is kept: spending vouchers is the wallet's business, not this count's.

Weeks are ISO weeks (Monday 00:00 to the next Monday 00:00) in the community's time zone,
so an engagement at 23:30 on a Sunday local time belongs to the week it ends, wherever
UTC is. Week boundaries are built once per week (a short Python loop, DST handled by the
zone) and rows are put into weeks with ``np.searchsorted``; nothing loops over rows.

Everything is computed as of ``now_s``: rows after it are left out, so a host can replay a
season as of any moment. A week meets the streak when the member earned at least
``rules.streak_min_points`` in it. A missed week resets the streak to 0 (``"reset"``) or
halves it, rounding down (``"halve"``). The current week (the one holding ``now_s``) adds
to the streak as soon as it reaches the minimum and, being unfinished, never breaks it.
The longest streak is the highest the streak counter has stood at any week's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
KINDS: tuple[str, ...] = ("attended_minute", "selfie", "reaction", "entry", "vote",
                          "poll_answer", "redemption", "residency_visit")
"""Every kind of engagement the log may hold."""


class LoyaltyError(ValueError):
    """Loyalty rules or an engagement log that cannot be counted; the message names why."""


@dataclass(frozen=True)
class Tier:
    """A loyalty tier: reached when a member's total points reach ``points_threshold``."""

    id: str
    points_threshold: float
    perks: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoyaltyRules:
    """Points per unit of each engagement kind, the tiers (ascending) and the streak rule."""

    points: Mapping[str, float]
    tiers: Sequence[Tier]
    streak_min_points: float
    streak_decay: Literal["reset", "halve"] = "reset"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.points) - set(KINDS))
        if unknown:
            raise LoyaltyError(f"points: unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
        negative = [k for k, v in self.points.items() if not v >= 0]
        if negative:
            raise LoyaltyError(f"points.{negative[0]}: must be zero or more, got {self.points[negative[0]]}")
        thresholds = [t.points_threshold for t in self.tiers]
        if any(not a > 0 for a in thresholds[:1]) or any(b <= a for a, b in zip(thresholds, thresholds[1:])):
            raise LoyaltyError(f"tiers: thresholds must be above 0 and strictly increasing, got {thresholds}")
        if len({t.id for t in self.tiers}) != len(self.tiers):
            raise LoyaltyError("tiers: every tier needs its own id")
        if not self.streak_min_points > 0:
            raise LoyaltyError(f"streak_min_points: must be above 0, got {self.streak_min_points}")
        if self.streak_decay not in ("reset", "halve"):
            raise LoyaltyError(f"streak_decay: expected 'reset' or 'halve', got {self.streak_decay!r}")


@dataclass(frozen=True)
class EngagementLog:
    """The engagement log as parallel columns, one row per engagement.

    ``member``: index into the roster (see :func:`member_indices`); ``kind``: one of
    :data:`KINDS`; ``amount``: units of the kind (minutes, or a count); ``time_s``: Unix
    seconds (UTC). Columns are converted to arrays and checked once, here.
    """

    member: IntArray
    kind: NDArray[np.str_]
    amount: FloatArray
    time_s: FloatArray

    def __post_init__(self) -> None:
        columns = {"member": np.asarray(self.member, np.int64), "kind": np.asarray(self.kind, np.str_),
                   "amount": np.asarray(self.amount, np.float64), "time_s": np.asarray(self.time_s, np.float64)}
        for name, column in columns.items():
            if column.ndim != 1:
                raise LoyaltyError(f"engagement log: {name} must be one-dimensional, got shape {column.shape}")
            object.__setattr__(self, name, column)
        lengths = {name: len(getattr(self, name)) for name in columns}
        if len(set(lengths.values())) > 1:
            raise LoyaltyError(f"engagement log: columns differ in length {lengths}")
        if (self.member < 0).any():
            raise LoyaltyError(f"engagement log row {int(np.argmax(self.member < 0))}: negative member index")
        bad = ~(self.amount >= 0) | ~np.isfinite(self.amount) | ~np.isfinite(self.time_s)
        if bad.any():
            raise LoyaltyError(f"engagement log row {int(np.argmax(bad))}: amount and time must be finite, amount >= 0")


@dataclass(frozen=True)
class Standings:
    """Each member's loyalty as of ``now``, one array entry per roster member.

    ``points``: total points; ``tier``: index into the rules' tiers, -1 below the first;
    ``tier_reached_s``: Unix seconds of the engagement that reached the current tier (NaN
    without one), so the tier's perks are awarded once; ``streak`` and ``longest_streak``
    in weeks.
    """

    points: FloatArray
    tier: IntArray
    tier_reached_s: FloatArray
    streak: IntArray
    longest_streak: IntArray
    tier_ids: tuple[str, ...] = field(default=())

    def tier_id(self, member: int) -> str | None:
        """The id of a member's current tier, or None below the first."""
        index = int(self.tier[member])
        return self.tier_ids[index] if index >= 0 else None


def member_indices(wallets: ArrayLike, roster: Sequence[str]) -> IntArray:
    """Each row's wallet as its index in ``roster``; an unknown wallet is refused."""
    names = np.asarray(roster, np.str_)
    wanted = np.asarray(wallets, np.str_)
    if len(names) == 0:
        if wanted.size:
            raise LoyaltyError(f"engagement log row 0: wallet {str(wanted.flat[0])!r} is not a member")
        return np.zeros(0, np.int64)
    sorter = np.argsort(names, kind="stable")
    at = np.minimum(np.searchsorted(names, wanted, sorter=sorter), len(names) - 1)
    index = sorter[at]
    missing = names[index] != wanted
    if missing.any():
        row = int(np.argmax(missing))
        raise LoyaltyError(f"engagement log row {row}: wallet {str(wanted[row])!r} is not a member")
    return index.astype(np.int64)


def row_points(log: EngagementLog, rules: LoyaltyRules) -> FloatArray:
    """Points earned by each row: the kind's points per unit times the amount."""
    kinds, code = np.unique(log.kind, return_inverse=True)
    unknown = [str(k) for k in kinds if str(k) not in KINDS]
    if unknown:
        row = int(np.argmax(log.kind == unknown[0]))
        raise LoyaltyError(f"engagement log row {row}: unknown kind {unknown[0]!r} (known: {', '.join(KINDS)})")
    per_unit = np.array([float(rules.points.get(str(k), 0.0)) for k in kinds], np.float64)
    return np.asarray(per_unit[code.reshape(-1)] * log.amount, np.float64)


def week_starts(first_s: float, now_s: float, zone: tzinfo) -> FloatArray:
    """Unix seconds of each local Monday 00:00 from the week of ``first_s`` to that of ``now_s``."""
    monday = _local_monday(first_s, zone)
    last = _local_monday(now_s, zone)
    starts: list[float] = []
    while monday <= last:
        starts.append(datetime(monday.year, monday.month, monday.day, tzinfo=zone).timestamp())
        monday += timedelta(days=7)
    return np.array(starts, np.float64)


def standings(log: EngagementLog, rules: LoyaltyRules, *, n_members: int, now_s: float,
              zone: tzinfo) -> Standings:
    """Points, tier, the time the tier was reached and weekly streaks for every member.

    ``now_s`` is Unix seconds; ``zone`` is the community's time zone (a
    ``zoneinfo.ZoneInfo`` or a fixed ``datetime.timezone``) whose ISO weeks the streaks use.
    """
    if len(log.member) and int(log.member.max()) >= n_members:
        row = int(np.argmax(log.member >= n_members))
        raise LoyaltyError(f"engagement log row {row}: member {int(log.member[row])} is not in a roster of {n_members}")
    points = row_points(log, rules)
    keep = log.time_s <= now_s
    member, time_s, points = log.member[keep], log.time_s[keep], points[keep]
    total, tier, reached = _totals_and_tiers(member, time_s, points, rules, n_members)
    streak = np.zeros(n_members, np.int64)
    longest = np.zeros(n_members, np.int64)
    if len(member):
        starts = week_starts(float(time_s.min()), now_s, zone)
        week = np.searchsorted(starts, time_s, side="right") - 1
        streak, longest = _streaks(member, week, points, rules, n_members, len(starts))
    return Standings(total, tier, reached, streak, longest, tuple(t.id for t in rules.tiers))


def _local_monday(t_s: float, zone: tzinfo) -> datetime:
    """The naive local date (as midnight) of the Monday of the ISO week holding ``t_s``."""
    local = datetime.fromtimestamp(t_s, zone).replace(tzinfo=None)
    day = datetime(local.year, local.month, local.day)
    return day - timedelta(days=day.weekday())


def _totals_and_tiers(member: IntArray, time_s: FloatArray, points: FloatArray, rules: LoyaltyRules,
                      n_members: int) -> tuple[FloatArray, IntArray, FloatArray]:
    """Total points, tier index and the Unix seconds the tier was reached, per member.

    Rows are sorted by member, then time; a running total per member is one cumulative
    sum less each member's starting offset. The tier comes from the last running total,
    the time from the first row whose running total reaches that tier's threshold, so the
    two always agree (float rounding is monotonic, so the running total never falls).
    """
    total = np.zeros(n_members, np.float64)
    tier = np.full(n_members, -1, np.int64)
    reached = np.full(n_members, np.nan, np.float64)
    if len(member) == 0:
        return total, tier, reached
    order = np.lexsort((time_s, member))
    m, t, running = member[order], time_s[order], np.cumsum(points[order])
    first = np.flatnonzero(np.r_[True, m[1:] != m[:-1]])
    last = np.r_[first[1:], len(m)] - 1
    offset = np.r_[0.0, running[first[1:] - 1]]
    running -= np.repeat(offset, last - first + 1)
    total[m[first]] = running[last]
    thresholds = np.array([t.points_threshold for t in rules.tiers], np.float64)
    tier[:] = np.searchsorted(thresholds, total, side="right") - 1
    needed = np.append(thresholds, np.inf)[tier[m]]  # tier -1 indexes the inf: never reached
    hits = np.flatnonzero(running >= needed)
    who, at = np.unique(m[hits], return_index=True)
    reached[who] = t[hits[at]]
    return total, tier, reached


def _streaks(member: IntArray, week: IntArray, points: FloatArray, rules: LoyaltyRules,
             n_members: int, n_weeks: int) -> tuple[IntArray, IntArray]:
    """Current and longest weekly streak per member; weeks index 0..n_weeks-1, the last current."""
    key, code = np.unique(member * n_weeks + week, return_inverse=True)
    weekly = np.bincount(code.reshape(-1), weights=points)
    met = key[weekly >= rules.streak_min_points]
    met = met[np.argsort(met % n_weeks, kind="stable")]
    bounds = np.searchsorted(met % n_weeks, np.arange(n_weeks + 1))
    streak = np.zeros(n_members, np.int64)
    longest = np.zeros(n_members, np.int64)
    earned = np.zeros(n_members, bool)
    for w in range(n_weeks):
        earned[:] = False
        earned[met[bounds[w]:bounds[w + 1]] // n_weeks] = True
        if w == n_weeks - 1:
            missed = streak  # the current week is unfinished: it cannot break the streak
        elif rules.streak_decay == "halve":
            missed = streak // 2
        else:
            missed = np.zeros_like(streak)
        streak = np.where(earned, streak + 1, missed)
        np.maximum(longest, streak, out=longest)
    return streak, longest
