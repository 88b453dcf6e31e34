"""A community file as the live event reads it: precomputed once at start (abilities by role,
challenge phase times as Unix seconds, tiers in order, reward rule ids)."""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from showroom.community.challenges import Phase
from showroom.community.engagement import EngagementKind
from showroom.community.model import Community, Tier
from showroom.community.residencies import Residency


@dataclass(frozen=True)
class ChallengeRules:
    """One challenge: its calendar as Unix seconds, ballot, how many are featured and what that earns."""

    id: str
    title: str
    ballot: str
    featured: int
    feature_grant: str | None
    max_per_member: int
    starts: tuple[float, float, float, float]
    """Start of submissions, review, voting and closed."""
    brief: str = ""

    def calendar_phase(self, wall: float) -> Phase:
        """The phase the calendar gives at Unix time ``wall``."""
        k = bisect.bisect_right(self.starts, wall)
        return ("draft", "submissions", "review", "voting", "closed")[k]  # type: ignore[return-value]

    def last_boundary(self, wall: float) -> float:
        """The latest calendar phase start at or before ``wall`` (0 before the first)."""
        k = bisect.bisect_right(self.starts, wall)
        return self.starts[k - 1] if k else 0.0

    def next_at(self, wall: float) -> float | None:
        """When the calendar's next phase starts, None once closed."""
        k = bisect.bisect_right(self.starts, wall)
        return self.starts[k] if k < len(self.starts) else None

    def feature_rule(self, community: str) -> str:
        """The ledger rule id that featuring in this challenge awards."""
        return f"{community}/{self.id}/featured"


@dataclass(frozen=True)
class CommunityRules:
    """Everything the live event needs of one community file."""

    model: Community
    id: str
    name: str
    cap: int
    entry: str
    zone: ZoneInfo
    default_role: str
    abilities: dict[str, frozenset[str]]
    invite_max_uses: int
    invite_max_days: float
    challenges: dict[str, ChallengeRules]
    tiers: tuple[Tier, ...]
    points: dict[EngagementKind, int]

    @classmethod
    def of(cls, model: Community) -> CommunityRules:
        """Precompute a validated community file."""
        info = model.community
        challenges = {c.id: ChallengeRules(c.id, c.title, c.ballot, c.featured, c.feature_grant,
                                           c.max_entries_per_member,
                                           tuple(when.timestamp() for _, when in c.phase_starts()),  # type: ignore[arg-type]
                                           c.brief.strip())
                      for c in model.all_challenges()}
        return cls(model, info.id, info.name, info.cap, info.entry, model.zone(), model.default_role().id,
                   {role.id: frozenset(role.can) for role in model.roles}, model.invites.max_uses,
                   model.invites.max_days, challenges, tuple(sorted(model.loyalty.tiers, key=lambda t: t.points)),
                   dict(model.loyalty.points))

    def challenge(self, challenge: str) -> ChallengeRules:
        """A challenge by id, or a KeyError naming the known ones."""
        found = self.challenges.get(challenge)
        if found is None:
            raise KeyError(f"unknown challenge {challenge!r} of {self.id} (known: {', '.join(self.challenges)})")
        return found

    def tier_at(self, points: float) -> Tier | None:
        """The highest tier ``points`` reach."""
        reached = [tier for tier in self.tiers if points >= tier.points]
        return reached[-1] if reached else None

    def tier_rule(self, tier: str) -> str:
        """The ledger rule id that reaching ``tier`` awards."""
        return f"{self.id}/tier/{tier}"

    def audience_rule(self, entitlement: str) -> str:
        """The ledger rule id a host's grant of ``entitlement`` to an audience awards."""
        return f"{self.id}/audience/{entitlement}"

    def grants(self) -> dict[str, str]:
        """Every ledger rule this community awards through (rule id -> entitlement id)."""
        rules = {c.feature_rule(self.id): c.feature_grant for c in self.challenges.values() if c.feature_grant}
        rules |= {self.tier_rule(t.id): t.grant for t in self.tiers if t.grant}
        rules |= {self.audience_rule(e.id): e.id for e in self.model.entitlements}
        return rules  # type: ignore[return-value]

    def residency_at(self, at: dt.datetime) -> Residency | None:
        """The residency playing at ``at``, if any."""
        from showroom.community.schedule import residency_on

        return residency_on(self.model, at)
