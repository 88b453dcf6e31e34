"""What a member can do that earns loyalty points: the engagement kinds, defined once."""

from __future__ import annotations

from typing import Literal, get_args

EngagementKind = Literal[
    "attended_minute", "selfie", "reaction", "entry", "vote", "poll_answer", "redemption", "residency_visit",
]
"""One kind of engagement; one unit of it earns the points ``[loyalty].points`` gives it."""

ENGAGEMENT_KINDS: tuple[EngagementKind, ...] = get_args(EngagementKind)
"""Every engagement kind, in the order the format documents them."""

UNITS: dict[EngagementKind, str] = {
    "attended_minute": "a minute at an event of the community",
    "selfie": "a selfie with a mascot",
    "reaction": "a reaction during a show",
    "entry": "an entry to a challenge (accepted by review)",
    "vote": "a ballot cast in a challenge",
    "poll_answer": "an answer to a poll",
    "redemption": "a voucher redeemed",
    "residency_visit": "a visit to a residency show",
}
"""What one unit of each kind is."""

DEFAULT_POINTS: dict[EngagementKind, int] = {
    "attended_minute": 1,
    "selfie": 5,
    "reaction": 0,
    "entry": 20,
    "vote": 2,
    "poll_answer": 2,
    "redemption": 10,
    "residency_visit": 10,
}
"""Points per unit when a community file writes no ``[loyalty].points`` table (reactions are free to spam, so 0)."""
