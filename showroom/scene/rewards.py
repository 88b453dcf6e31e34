"""Meta-Pass entitlements and the reward rules that grant them."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator

from showroom.protocol.codes import Reaction
from showroom.scene.base import Ident, SceneModel, Text

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _parse_duration(value: object) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_S[match.group(2)]
    raise ValueError(f"expected a duration such as '30m', '48h' or '7d', got {value!r}")


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": r"^\s*\d+(?:\.\d+)?\s*[smhd]\s*$"},
    ],
    "description": "A duration: '30m', '48h', '7d' or a number of seconds.",
}

Duration = Annotated[
    float, BeforeValidator(_parse_duration), Field(gt=0, allow_inf_nan=False), WithJsonSchema(_DURATION_SCHEMA)
]
"""A positive duration in seconds, written as ``'30m'``, ``'48h'``, ``'7d'`` or a number of seconds."""


def _with_offset(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        written = value.isoformat()
        raise ValueError(f"{written} has no UTC offset: write {written}Z for UTC, or the local offset such as "
                         f"{written}+01:00")
    return value


OffsetDateTime = Annotated[dt.datetime, AfterValidator(_with_offset)]
"""A date-time with a UTC offset (``2026-12-01T10:00:00Z``); one without could mean any time zone."""

Perk = Literal["early_view", "selfie_priority", "vip_zone"]


class MetaPass(SceneModel):
    """A Meta-Pass tier; each perk unlocks something in the event for its holders."""

    kind: Literal["metapass"]
    id: Ident
    name: Text
    tier: Ident
    perks: list[Perk] = Field(default_factory=list, max_length=8)


class EarlyAccess(SceneModel):
    """Early access to a product drop, opening ``hours_early`` before the public."""

    kind: Literal["early_access"]
    id: Ident
    name: Text
    product: Text
    hours_early: Annotated[float, Field(gt=0, le=24 * 365)] = 24.0


class Voucher(SceneModel):
    """A certified voucher for a limited product: stock, per-visitor cap and a validity window."""

    kind: Literal["voucher"]
    id: Ident
    name: Text
    product: Text
    stock: Annotated[int, Field(ge=0, le=10_000_000)]
    per_visitor_cap: Annotated[int, Field(ge=1, le=1000)] = 1
    valid_from: OffsetDateTime | None = None
    valid_until: OffsetDateTime | None = None
    valid_for: Duration | None = None

    @model_validator(mode="after")
    def _one_window(self) -> Voucher:
        if self.valid_for is not None and (self.valid_from or self.valid_until):
            raise ValueError("give either valid_for (relative to the award) or valid_from/valid_until, not both")
        if self.valid_for is None and self.valid_until is None:
            raise ValueError("a voucher needs a window: valid_until (with optional valid_from) or valid_for")
        return self


class Badge(SceneModel):
    """An attendance badge: proof of having been there, nothing to redeem."""

    kind: Literal["badge"]
    id: Ident
    name: Text


Entitlement = Annotated[Union[MetaPass, EarlyAccess, Voucher, Badge], Field(discriminator="kind")]
"""Something a visitor can be awarded, told apart by its ``kind``."""


class _Rule(SceneModel):
    id: Ident
    grant: Ident


class AttendedRule(_Rule):
    """Granted once a visitor has been at the event for ``minutes``."""

    when: Literal["attended"]
    minutes: Annotated[float, Field(gt=0, le=24 * 60)]


class SelfieRule(_Rule):
    """Granted for a selfie with a given mascot."""

    when: Literal["selfie"]
    mascot: Ident


class ReactedRule(_Rule):
    """Granted for reacting during a given look (optionally with one reaction only)."""

    when: Literal["reacted"]
    look: Ident
    reaction: Reaction | None = None


class FirstJoinersRule(_Rule):
    """Granted to the first ``count`` visitors to join the event."""

    when: Literal["first_joiners"]
    count: Annotated[int, Field(ge=1, le=10_000_000)]


Rule = Annotated[
    Union[AttendedRule, SelfieRule, ReactedRule, FirstJoinersRule], Field(discriminator="when")
]
"""A reward rule: a trigger (``when``) and the entitlement it grants."""
