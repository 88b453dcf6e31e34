"""A community's members in RFM segments, with their loyalty, read from a server's data directory.

For every current member of the community, as of an instant ``at`` (rows after it are left out):

- **recency**: days since the member's last engagement of any kind (never: no engagement at all,
  which ranks below every number of days);
- **frequency**: visits in the window (the community file's ``rfm.window_days`` before ``at``:
  ``at - window < time <= at``): the distinct events attended (every ``attend:{event}:{block}``
  row of one event counts once, however long the member stayed) plus the distinct residency shows
  visited (``residency:{residency}:{date}`` rows);
- **monetary**: the ``[[catalogue]]`` value of the vouchers the member redeemed in the window,
  from the ledger's redeemed awards (an award's visitor is the member's wallet); a voucher the
  catalogue does not list is worth 0 and is counted in a note;
- **loyalty**: points, tier and weekly streak from the engagement log up to ``at``, by
  :func:`showroom.community.loyalty.standings` with the rules the live event uses.

Scores (1..5) and segments are :mod:`showroom.community.rfm`'s. Both files are opened read-only
(:mod:`server.storage.community_files`).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from server.event.community.loyalty_live import loyalty_rules
from server.event.community.rules import CommunityRules
from server.storage.community_files import communities_in, community_db, ledger_db
from server.storage.community_schema import DB_FILE, current_members
from server.storage.community_store import Member
from showroom.community.loyalty import EngagementLog, LoyaltyError, Standings, member_indices, standings
from showroom.community.model import Community
from showroom.community.rfm import SEGMENTS, RfmScores, Segment, rfm_scores
from showroom.errors import ShowroomError
from showroom.ledger import LedgerError, parse_time

DAY_S = 86_400.0
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Distinct visits per member in the window: an event id is what lies between "attend:" and the
# block number (ids hold no colon), a residency show is its whole ref (residency, date).
_VISITS = """
SELECT wallet, SUM(kind = 'attended_minute'), SUM(kind = 'residency_visit') FROM (
    SELECT DISTINCT wallet, kind,
           CASE kind WHEN 'attended_minute' THEN substr(ref, 8, instr(substr(ref, 8), ':') - 1) ELSE ref END
    FROM engagement
    WHERE community = ? AND at > ? AND at <= ?
      AND ((kind = 'attended_minute' AND ref LIKE 'attend:%:%') OR (kind = 'residency_visit' AND ref LIKE 'residency:%')))
GROUP BY wallet"""


@dataclass(frozen=True)
class SegmentFigures:
    """One segment's members and their means: recency over those who ever engaged, F and M over all."""

    segment: Segment
    members: int
    share: float
    mean_recency_days: float | None
    never: int
    mean_frequency: float | None
    mean_monetary: float | None
    mean_scores: tuple[float, float, float] | None
    typical_tier: str | None
    """The most common tier (ties: the higher one), None below the first tier or for no members."""


@dataclass(frozen=True)
class CommunityReport:
    """Every current member's RFM figures, scores and loyalty, as columns in roster (joining) order."""

    community: Community
    at: dt.datetime
    members: tuple[Member, ...]
    last_engaged_s: FloatArray
    """Unix seconds of the last engagement, NaN for never."""
    recency_days: FloatArray
    """Days from the last engagement to ``at``, inf for never."""
    events: IntArray
    residency_visits: IntArray
    vouchers: IntArray
    """Vouchers redeemed in the window (priced or not)."""
    monetary: FloatArray
    loyalty: Standings
    scores: RfmScores
    unpriced: Mapping[str, int]
    """Redemptions in the window of vouchers the catalogue does not list, per voucher id."""
    ledger_event: str | None

    @property
    def window_start(self) -> dt.datetime:
        """Where the window begins (excluded)."""
        return self.at - dt.timedelta(days=self.community.rfm.window_days)

    @property
    def currency(self) -> str | None:
        """The catalogue's currency (every entry has the same), None without a catalogue."""
        return self.community.catalogue[0].currency if self.community.catalogue else None

    @property
    def frequency(self) -> IntArray:
        """Visits in the window: events plus residency shows."""
        return self.events + self.residency_visits

    def segments(self) -> list[SegmentFigures]:
        """Figures of every segment, in :data:`SEGMENTS` order (empty ones too)."""
        return [self._segment(segment, self.scores.segment == code) for code, segment in enumerate(SEGMENTS)]

    def _segment(self, segment: Segment, mask: NDArray[np.bool_]) -> SegmentFigures:
        k, n = int(mask.sum()), len(self.members)
        if not k:
            return SegmentFigures(segment, 0, 0.0, None, 0, None, None, None, None)
        engaged = self.recency_days[mask & np.isfinite(self.recency_days)]
        scores = (float(self.scores.recency[mask].mean()), float(self.scores.frequency[mask].mean()),
                  float(self.scores.monetary[mask].mean()))
        return SegmentFigures(segment, k, k / n, float(engaged.mean()) if len(engaged) else None, k - len(engaged),
                              float(self.frequency[mask].mean()), float(self.monetary[mask].mean()), scores,
                              self.typical_tier(mask))

    def typical_tier(self, mask: NDArray[np.bool_]) -> str | None:
        """The most common tier among the members ``mask`` selects (ties: the higher), None for below the first."""
        counts = np.bincount(self.loyalty.tier[mask] + 1, minlength=len(self.loyalty.tier_ids) + 1)
        index = len(counts) - 1 - int(np.argmax(counts[::-1])) - 1  # the last maximum: ties go to the higher tier
        return self.loyalty.tier_ids[index] if index >= 0 else None

    def tier_counts(self) -> dict[str, int]:
        """Members per tier, highest first, then ``none`` (below the first tier)."""
        counts = np.bincount(self.loyalty.tier + 1, minlength=len(self.loyalty.tier_ids) + 1).tolist()
        return {**{t: counts[i + 1] for i, t in reversed(list(enumerate(self.loyalty.tier_ids)))}, "none": counts[0]}

    def totals(self) -> dict[str, Any]:
        """Figures over all members."""
        return {"members": len(self.members), "never_engaged": int(np.isinf(self.recency_days).sum()),
                "visits": int(self.frequency.sum()), "events": int(self.events.sum()),
                "residency_visits": int(self.residency_visits.sum()), "vouchers": int(self.vouchers.sum()),
                "unpriced_vouchers": sum(self.unpriced.values()), "monetary": float(self.monetary.sum()),
                "points": float(self.loyalty.points.sum()), "tiers": self.tier_counts(),
                "on_streak": int((self.loyalty.streak > 0).sum()),
                "longest_streak": int(self.loyalty.streak.max()) if len(self.members) else 0}

    def notes(self) -> list[str]:
        """What a reader should know to read the figures right."""
        window = "in the window"
        currency = self.currency
        notes = [f"monetary: the [[catalogue]] value of vouchers redeemed {window}, in {currency}"
                 if currency else "monetary: the community file has no [[catalogue]], so every voucher is worth 0",
                 f"frequency: distinct events attended plus residency shows visited {window}"]
        if self.unpriced:
            listed = ", ".join(f"{ent} {n}" for ent, n in sorted(self.unpriced.items()))
            n = sum(self.unpriced.values())
            notes.append(f"{n} redeemed voucher{'s are' if n != 1 else ' is'} not in the catalogue and "
                         f"count{'' if n != 1 else 's'} 0: {listed}")
        never = int(np.isinf(self.recency_days).sum())
        if never:
            notes.append(f"{never} member{'s have' if never != 1 else ' has'} never engaged (recency: never, "
                         "the lowest score)")
        if self.ledger_event is not None:
            notes.append(f"vouchers from the ledger of event {self.ledger_event!r}")
        return notes

    def as_dict(self) -> dict[str, Any]:
        """Everything as plain JSON data: the segments, totals, notes and every member's figures."""
        return {"community": self.community.community.id, "name": self.community.community.name,
                "at": self.at.isoformat(), "window_days": self.community.rfm.window_days,
                "window_start": self.window_start.isoformat(), "currency": self.currency,
                "ledger_event": self.ledger_event,
                "segments": [_segment_dict(s) for s in self.segments()], "totals": self.totals(),
                "unpriced": dict(sorted(self.unpriced.items())), "notes": self.notes(),
                "members": [self._member_dict(i) for i in range(len(self.members))]}

    def _member_dict(self, i: int) -> dict[str, Any]:
        member, days, last = self.members[i], float(self.recency_days[i]), float(self.last_engaged_s[i])
        return {"wallet": member.wallet, "name": member.name, "role": member.role, "joined_at": member.joined_at,
                "last_engaged_at": None if np.isnan(last) else last,
                "recency_days": None if np.isinf(days) else round(days, 4), "events": int(self.events[i]),
                "residency_visits": int(self.residency_visits[i]), "frequency": int(self.frequency[i]),
                "vouchers": int(self.vouchers[i]), "monetary": float(self.monetary[i]),
                "points": float(self.loyalty.points[i]), "tier": self.loyalty.tier_id(i),
                "streak": int(self.loyalty.streak[i]), "longest_streak": int(self.loyalty.longest_streak[i]),
                "scores": {"r": int(self.scores.recency[i]), "f": int(self.scores.frequency[i]),
                           "m": int(self.scores.monetary[i])},
                "segment": str(SEGMENTS[int(self.scores.segment[i])])}


def _segment_dict(s: SegmentFigures) -> dict[str, Any]:
    def rounded(x: float | None) -> float | None:
        return None if x is None else round(x, 3)
    return {"segment": str(s.segment), "members": s.members, "share": round(s.share, 4),
            "mean_recency_days": rounded(s.mean_recency_days), "never": s.never,
            "mean_frequency": rounded(s.mean_frequency), "mean_monetary": rounded(s.mean_monetary),
            "mean_scores": None if s.mean_scores is None else dict(zip("rfm", (round(x, 3) for x in s.mean_scores))),
            "typical_tier": s.typical_tier}


def community_report(community: Community, data_dir: str | Path, at: dt.datetime) -> CommunityReport:
    """Read the data directory's store and ledger and compute every current member's figures as of ``at`` (aware)."""
    if at.tzinfo is None:
        raise ShowroomError(f"--at {at.isoformat()} has no UTC offset")
    at = at.astimezone(community.zone())
    at_s = at.timestamp()
    since_s = at_s - community.rfm.window_days * DAY_S
    cid = community.community.id
    with community_db(data_dir) as db:
        members = tuple(current_members(db, cid))
        if not members and cid not in communities_in(db):
            known = ", ".join(communities_in(db)) or "none"
            raise ShowroomError(f"{Path(data_dir) / DB_FILE}: no members of community {cid!r} "
                                f"(communities here: {known})")
        roster = [m.wallet for m in members]
        index = {wallet: i for i, wallet in enumerate(roster)}
        last, events, visits = _engagement_figures(db, cid, index, since_s, at_s)
        loyalty = _standings(db, community, roster, at_s)
    with ledger_db(data_dir) as ledger:
        vouchers, monetary, unpriced = _redemptions(ledger, community, index, since_s, at_s)
        found = ledger.execute("SELECT value FROM meta WHERE key = 'event'").fetchone()
    recency = np.where(np.isnan(last), np.inf, (at_s - last) / DAY_S)
    return CommunityReport(community, at, members, last, recency, events, visits, vouchers, monetary, loyalty,
                           rfm_scores(recency, events + visits, monetary), unpriced,
                           None if found is None else str(found[0]))


def _engagement_figures(db: sqlite3.Connection, community: str, index: Mapping[str, int], since_s: float,
                        at_s: float) -> tuple[FloatArray, IntArray, IntArray]:
    """Each member's last engagement (NaN: never), events and residency shows in the window."""
    n = len(index)
    last = np.full(n, np.nan)
    events = np.zeros(n, np.int64)
    visits = np.zeros(n, np.int64)
    query = "SELECT wallet, MAX(at) FROM engagement WHERE community = ? AND at <= ? GROUP BY wallet"
    for wallet, when in db.execute(query, (community, at_s)):
        if wallet in index:
            last[index[wallet]] = when
    for wallet, attended, visited in db.execute(_VISITS, (community, since_s, at_s)):
        if wallet in index:
            events[index[wallet]], visits[index[wallet]] = attended, visited
    return last, events, visits


def _standings(db: sqlite3.Connection, community: Community, roster: list[str], at_s: float) -> Standings:
    """Loyalty standings of the roster from the log up to ``at_s`` (rows of former members left out)."""
    found = db.execute("SELECT wallet, kind, amount, at FROM engagement WHERE community = ? AND at <= ? ORDER BY seq",
                       (community.community.id, at_s)).fetchall()
    wallet, kind, amount, time_s = (list(column) for column in zip(*found)) if found else ([], [], [], [])
    keep = np.isin(np.array(wallet, np.str_), np.array(roster, np.str_))
    try:
        log = EngagementLog(member_indices(np.array(wallet, np.str_)[keep], roster), np.array(kind, np.str_)[keep],
                            np.array(amount, np.float64)[keep], np.array(time_s, np.float64)[keep])
        return standings(log, loyalty_rules(CommunityRules.of(community)), n_members=len(roster), now_s=at_s,
                         zone=community.zone())
    except LoyaltyError as exc:
        raise ShowroomError(f"the engagement log of {community.community.id!r} cannot be counted: {exc}") from None


def _redemptions(ledger: sqlite3.Connection, community: Community, index: Mapping[str, int], since_s: float,
                 at_s: float) -> tuple[IntArray, FloatArray, dict[str, int]]:
    """Vouchers each member redeemed in the window, their catalogue value, and the unpriced ones per voucher."""
    prices = {item.entitlement: item.value for item in community.catalogue}
    vouchers = np.zeros(len(index), np.int64)
    monetary = np.zeros(len(index), np.float64)
    unpriced: Counter[str] = Counter()
    query = "SELECT seq, visitor, entitlement, redeemed_at FROM awards WHERE redeemed_at IS NOT NULL ORDER BY seq"
    for seq, visitor, entitlement, redeemed_at in ledger.execute(query):
        if visitor not in index:
            continue
        try:
            when = parse_time(redeemed_at).timestamp()
        except LedgerError as exc:
            raise ShowroomError(f"ledger award {seq}: redeemed_at: {exc}") from None
        if not since_s < when <= at_s:
            continue
        vouchers[index[visitor]] += 1
        if entitlement in prices:
            monetary[index[visitor]] += prices[entitlement]
        else:
            unpriced[entitlement] += 1
    return vouchers, monetary, dict(unpriced)


# ---- as text ---------------------------------------------------------------------------------------

def report_text(report: CommunityReport) -> str:
    """The segment table, the totals and the notes, as ``showroom community report`` prints them."""
    info, n = report.community.community, len(report.members)
    currency = report.currency or "value"
    table: list[tuple[str, ...]] = [("segment", "members", "share", "mean R days", "mean F visits",
                                     f"mean M {currency}", "typical tier")]
    for s in report.segments():
        table.append(_row(str(s.segment), s.members, s.share, s.mean_recency_days, s.mean_frequency,
                          s.mean_monetary, s.typical_tier))
    engaged = report.recency_days[np.isfinite(report.recency_days)]
    table.append(_row("all members", n, 1.0 if n else 0.0, float(engaged.mean()) if len(engaged) else None,
                      float(report.frequency.mean()) if n else None, float(report.monetary.mean()) if n else None,
                      report.typical_tier(np.ones(n, bool)) if n else None))
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:-1], widths[1:-1])), row[-1]]
        return "  ".join(cells).rstrip()

    totals = report.totals()
    tiers = ", ".join(f"{tier} {count}" for tier, count in totals["tiers"].items())
    when = report.at.strftime("%a %Y-%m-%d %H:%M")
    since = report.window_start.strftime("%a %Y-%m-%d %H:%M")
    visits = f"{totals['events']:,} events, {totals['residency_visits']:,} residency shows"
    return "\n".join([
        f"{info.name} ({info.id}): {n} members as of {when} ({info.time_zone})",
        f"RFM window {report.community.rfm.window_days} days, from {since}",
        "",
        *(line(row) for row in table),
        "",
        f"visits    {totals['visits']:,} ({visits}); never engaged: {totals['never_engaged']}",
        f"vouchers  {totals['vouchers']:,} redeemed, worth {totals['monetary']:,.0f} {currency}",
        f"loyalty   {totals['points']:,.0f} points; tiers {tiers}",
        f"streaks   {totals['on_streak']} members on a weekly streak (longest {totals['longest_streak']} weeks)",
        "notes",
        *(f"  - {note}" for note in report.notes()),
    ])


def _row(name: str, members: int, share: float, recency: float | None, frequency: float | None,
         monetary: float | None, tier: str | None) -> tuple[str, ...]:
    """One table row: means as ``-`` for an empty segment, recency ``never`` when nobody in it engaged."""
    if not members:
        return (name, "0", "0.0%", "-", "-", "-", "-")
    days = "never" if recency is None else f"{recency:.1f}"
    return (name, str(members), f"{100 * share:.1f}%", days, f"{frequency or 0:.1f}", f"{monetary or 0:,.0f}",
            tier or "none")
