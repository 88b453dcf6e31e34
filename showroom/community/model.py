"""The root of a community file: the community, its roles, invites, rewards, loyalty, challenges and residencies."""

from __future__ import annotations

import difflib
import zoneinfo
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field

from showroom.community.challenges import Challenge, expand_challenges
from showroom.community.engagement import DEFAULT_POINTS, EngagementKind
from showroom.community.residencies import Residency
from showroom.scene.base import Ident, SceneModel, Text
from showroom.scene.rewards import Entitlement, Perk

MAX_MEMBERS = 500
"""Most members a community can have (WeChat's group cap); ``community.cap`` is fixed at creation."""
MAX_INVITE_USES = 100
"""Most joins one invite can admit."""
MAX_INVITE_DAYS = 7.0
"""Longest an invite stays valid, in days."""

Entry = Literal["invite", "request", "open"]
"""How people join: with an invite from a member, by asking (someone who can approve decides), or freely."""

Ability = Literal["invite", "approve", "moderate", "feature", "poll", "ban"]
"""Something a role lets its holders do."""

ABILITIES: tuple[Ability, ...] = get_args(Ability)
"""Every ability, in the order the format documents them."""

StreakDecay = Literal["reset", "halve"]
"""What a week below ``streak_min_points`` does to a streak: start it again from 0, or halve it."""


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zones = sorted(zoneinfo.available_timezones())
        city = value.strip().replace(" ", "_").lower()
        close = ([zone for zone in zones if zone.rsplit("/", 1)[-1].lower() == city][:1]
                 or difflib.get_close_matches(value, zones, n=1))
        hint = f"; did you mean {close[0]!r}?" if close else " (write an IANA name such as 'Europe/Paris')"
        raise ValueError(f"unknown time zone {value!r}{hint}") from None
    return value


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_time_zone)]
"""An IANA time zone name (``Europe/Paris``, ``Asia/Shanghai``)."""


class CommunityInfo(SceneModel):
    """The community itself: who runs it, where its clock is, how many may join and how."""

    id: Ident
    name: Text
    brand: Ident
    time_zone: TimeZone
    cap: Annotated[int, Field(ge=1, le=MAX_MEMBERS)] = MAX_MEMBERS
    entry: Entry = "invite"
    description: Annotated[str, Field(max_length=2000)] = ""


class Role(SceneModel):
    """A role members hold, and what it lets them do; the ``default`` role is given to every new member."""

    id: Ident
    name: Text
    can: list[Ability] = Field(default_factory=list, max_length=len(ABILITIES))
    default: bool = False


def default_roles() -> list[Role]:
    """The roles of a file that writes none: an owner who can do everything, admins, and members who can invite."""
    return [
        Role(id="owner", name="Owner", can=list(ABILITIES)),
        Role(id="admin", name="Admin", can=["invite", "approve", "moderate", "feature", "poll"]),
        Role(id="member", name="Member", can=["invite"], default=True),
    ]


class Invites(SceneModel):
    """Limits of the invite links members hand out."""

    max_uses: Annotated[int, Field(ge=1, le=MAX_INVITE_USES)] = MAX_INVITE_USES
    max_days: Annotated[float, Field(gt=0, le=MAX_INVITE_DAYS, allow_inf_nan=False)] = MAX_INVITE_DAYS


class Tier(SceneModel):
    """A loyalty tier, reached at ``points``: its perks and what is awarded on reaching it."""

    id: Ident
    name: Text
    points: Annotated[int, Field(ge=0, le=1_000_000_000)]
    perks: list[Perk] = Field(default_factory=list, max_length=len(get_args(Perk)))
    grant: Ident | None = None


Points = Annotated[int, Field(ge=0, le=10_000)]
"""Loyalty points earned by one unit of an engagement."""


class Loyalty(SceneModel):
    """How engagement earns points, what a weekly streak asks, and the tiers points reach."""

    points: dict[EngagementKind, Points] = Field(default_factory=lambda: dict(DEFAULT_POINTS))
    streak_min_points: Annotated[int, Field(ge=1, le=1_000_000)] = 50
    streak_decay: StreakDecay = "reset"
    tiers: list[Tier] = Field(default_factory=list, max_length=10)

    def points_for(self, kind: EngagementKind) -> int:
        """Points one unit of ``kind`` earns (0 for a kind the table leaves out)."""
        return self.points.get(kind, 0)


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 currency code (``EUR``, ``CNY``)."""


class CatalogueItem(SceneModel):
    """What one redeemed voucher is worth, for the monetary part of RFM."""

    entitlement: Ident
    value: Annotated[float, Field(ge=0, le=1_000_000_000, allow_inf_nan=False)]
    currency: Currency


class Rfm(SceneModel):
    """Settings of RFM (recency, frequency, monetary value) segmentation."""

    window_days: Annotated[int, Field(ge=1, le=3650)] = 90


class Community(SceneModel):
    """A brand community as its host writes it in a TOML community file."""

    community: CommunityInfo
    roles: list[Role] = Field(default_factory=default_roles, min_length=1, max_length=16)
    invites: Invites = Invites()
    entitlements: list[Entitlement] = Field(default_factory=list, max_length=256)
    loyalty: Loyalty = Loyalty()
    challenges: list[Challenge] = Field(default_factory=list, max_length=64)
    residencies: list[Residency] = Field(default_factory=list, max_length=16)
    catalogue: list[CatalogueItem] = Field(default_factory=list, max_length=256)
    rfm: Rfm = Rfm()

    def zone(self) -> zoneinfo.ZoneInfo:
        """The community's time zone."""
        return zoneinfo.ZoneInfo(self.community.time_zone)

    def all_challenges(self) -> list[Challenge]:
        """Every challenge, weekly series expanded into their weeks (ids ``ID-w1``...)."""
        return expand_challenges(self.challenges, self.zone())

    def default_role(self) -> Role:
        """The role new members get."""
        return next(role for role in self.roles if role.default)

    def tier(self, tier_id: str) -> Tier:
        """The loyalty tier with this id."""
        return next(tier for tier in self.loyalty.tiers if tier.id == tier_id)

    def entitlement(self, entitlement_id: str) -> Entitlement:
        """The entitlement with this id."""
        return next(ent for ent in self.entitlements if ent.id == entitlement_id)


__all__ = [
    "ABILITIES",
    "MAX_INVITE_DAYS",
    "MAX_INVITE_USES",
    "MAX_MEMBERS",
    "Ability",
    "CatalogueItem",
    "Challenge",
    "Community",
    "CommunityInfo",
    "Entry",
    "Invites",
    "Loyalty",
    "Residency",
    "Rfm",
    "Role",
    "StreakDecay",
    "Tier",
    "TimeZone",
    "default_roles",
]
