"""Loyalty while the event runs: engagement goes into each community's append-only log, points
are kept up to date per member, and a member who reaches a tier is told and awarded once.

Points follow the log exactly (the same rule as :func:`showroom.community.loyalty.row_points`),
so the live figure and a recomputation from the store agree; streaks, which need the whole
log, are computed from it on request (and cached for a few seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from server.event.community.rules import CommunityRules
from server.event.jobs import Busy, Jobs, Outcome
from server.storage.community_store import CommunityStore, Engagement
from showroom.community.loyalty import EngagementLog, LoyaltyRules, Standings, member_indices, standings
from showroom.community.loyalty import Tier as LoyaltyTier

STANDINGS_FRESH_S = 10.0
"""How long computed streaks are reused before the log is read again."""

Told = Callable[[str, str, CommunityRules, str], None]
"""Called as (community, wallet, rules, tier id) when a member reaches a tier."""


@dataclass
class Ledgerbook:
    """One community's live loyalty: points per wallet, the tier each has reached."""

    rules: CommunityRules
    points: dict[str, float] = field(default_factory=dict)
    tier: dict[str, str | None] = field(default_factory=dict)
    counted: int = -1
    """The last log row counted. Rows come back in the order they were written (one store lane), and logging
    the same happening again returns its first row, so a row at or below this one is already counted."""
    last_ref: dict[tuple[str, str], str] = field(default_factory=dict)
    """The last ref logged per (wallet, kind), so a repeat (another reaction in the same minute) is not written
    again: at most one entry per member and kind."""
    standings: tuple[float, list[str], Standings] | None = None
    """When streaks were last computed (Unix seconds), the wallets in their order, and the standings."""


def loyalty_rules(rules: CommunityRules) -> LoyaltyRules:
    """The community file's loyalty section as the pure loyalty module takes it."""
    loyalty = rules.model.loyalty
    return LoyaltyRules(points={k: float(v) for k, v in loyalty.points.items()},
                        tiers=[LoyaltyTier(t.id, float(max(t.points, 1e-9)), tuple(t.perks)) for t in rules.tiers],
                        streak_min_points=float(loyalty.streak_min_points), streak_decay=loyalty.streak_decay)


class Loyalty:
    """Engagement logging and live points for every community the event serves."""

    def __init__(self, communities: dict[str, CommunityRules], store: CommunityStore, jobs: Jobs,
                 reached: Told) -> None:
        self.books = {cid: Ledgerbook(rules) for cid, rules in communities.items()}
        self.store = store
        self.jobs = jobs
        self.reached = reached

    def load(self) -> None:
        """Sum every community's log once at start (tiers reached before are not told again)."""
        for community, book in self.books.items():
            for row in self.store.engagement(community):
                self._count(book, row, tell=False)

    def engage(self, community: str, wallet: str, kind: str, amount: float, ref: str, wall: float) -> None:
        """Log one engagement (a repeat of the same (wallet, kind, ref) counts once)."""
        book = self.books.get(community)
        if book is None or amount <= 0 or book.last_ref.get((wallet, kind)) == ref:
            return
        book.last_ref[(wallet, kind)] = ref

        def logged(outcome: Outcome[Engagement]) -> None:
            if outcome.error is None:
                self._count(book, outcome.get(), tell=True)
            elif book.last_ref.get((wallet, kind)) == ref:  # not written: the next repeat may try again
                del book.last_ref[(wallet, kind)]
        try:
            self.jobs.submit("store", lambda: self.store.log(community, wallet, kind, amount, ref, wall), logged)
        except Busy:  # engagement is best effort under overload; awards and votes are not
            book.last_ref.pop((wallet, kind), None)

    def _count(self, book: Ledgerbook, row: Engagement, tell: bool) -> None:
        if row.seq <= book.counted:  # a repeated log returns the first row: count it once
            return
        book.counted = row.seq
        per_unit = book.rules.points.get(row.kind, 0)  # type: ignore[call-overload]
        book.points[row.wallet] = book.points.get(row.wallet, 0.0) + per_unit * row.amount
        tier = book.rules.tier_at(book.points[row.wallet])
        before = book.tier.get(row.wallet)
        now = None if tier is None else tier.id
        if now != before:
            book.tier[row.wallet] = now
            if tell and now is not None:
                self.reached(book.rules.id, row.wallet, book.rules, now)

    def points(self, community: str, wallet: str) -> float:
        """A member's points now."""
        book = self.books.get(community)
        return 0.0 if book is None else book.points.get(wallet, 0.0)

    def tier(self, community: str, wallet: str) -> str | None:
        """A member's tier now (None below the first)."""
        book = self.books.get(community)
        return None if book is None else book.tier.get(wallet)

    def perks(self, community: str, wallet: str) -> set[str]:
        """The perks of a member's tier."""
        book = self.books.get(community)
        tier_id = self.tier(community, wallet)
        if book is None or tier_id is None:
            return set()
        return set(next(t for t in book.rules.tiers if t.id == tier_id).perks)

    def fresh(self, community: str, wall: float) -> bool:
        """Whether the community's streaks were computed recently enough to answer with."""
        book = self.books.get(community)
        return book is None or (book.standings is not None and 0 <= wall - book.standings[0] <= STANDINGS_FRESH_S)

    def recompute(self, community: str, wall: float) -> Callable[[], None]:
        """Work for the store lane: read the whole log and compute every member's streak (kept when done)."""
        book = self.books[community]

        def work() -> None:
            rows = self.store.engagement(community)
            roster = sorted({r.wallet for r in rows})
            log = EngagementLog(member_indices([r.wallet for r in rows], roster), np.array([r.kind for r in rows]),
                                np.array([r.amount for r in rows]), np.array([r.at for r in rows]))
            table = standings(log, loyalty_rules(book.rules), n_members=len(roster), now_s=wall, zone=book.rules.zone)
            book.standings = (wall, roster, table)
        return work

    def streak(self, community: str, wallet: str) -> int:
        """A member's weekly streak as last computed (0 before the first computation)."""
        book = self.books.get(community)
        if book is None or book.standings is None:
            return 0
        _, roster, table = book.standings
        return int(table.streak[roster.index(wallet)]) if wallet in roster else 0
