"""How a load test's bots take part in the event's community: the shares given on the command line, and
each bot's plan drawn from them."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

ACTS = ("poll", "join", "submit", "vote")
"""``poll``: a share of all bots; ``join``: a share of the bots given an invite code (default 1);
``submit`` and ``vote``: shares of the members."""
THINK_S = (1.0, 8.0)
"""Default pause before a community action, seconds: a person reads the question first."""


def parse_acts(text: str) -> dict[str, float]:
    """``"poll:0.9,submit:0.3,vote:0.8"`` to shares in 0..1 (``join`` 1 unless given); raises ValueError naming the fault."""
    shares = {"join": 1.0} if text.strip() else {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, share = part.partition(":")
        if name not in ACTS:
            raise ValueError(f"unknown community action {name!r} (known: {', '.join(ACTS)})")
        try:
            value = float(share) if share else 1.0
        except ValueError:
            raise ValueError(f"community action {name}: expected a share from 0 to 1, got {share!r}") from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"community action {name}: the share must be from 0 to 1, got {share}")
        shares[name] = value
    return shares


def parse_think(text: str) -> tuple[float, float]:
    """``"1:8"`` (or one number, ``"2"``) as the least and most seconds of a pause; ValueError naming the fault."""
    lo_text, _, hi_text = text.partition(":")
    try:
        lo, hi = float(lo_text), float(hi_text or lo_text)
    except ValueError:
        raise ValueError(f"expected MIN:MAX seconds such as 1:8, got {text!r}") from None
    if not (0 <= lo <= hi and math.isfinite(hi)):
        raise ValueError(f"expected 0 <= MIN <= MAX (finite seconds), got {text!r}")
    return lo, hi


@dataclass(frozen=True)
class Plan:
    """What one bot will do in the community, drawn once from the shares."""

    polls: bool = False
    join: bool = False
    submit: bool = False
    vote: bool = False
    think_s: tuple[float, float] = THINK_S

    @property
    def active(self) -> bool:
        """Whether the bot does anything in the community at all."""
        return self.polls or self.join


def draw_plan(shares: dict[str, float], rng: random.Random, think_s: tuple[float, float] = THINK_S) -> Plan:
    """One bot's :class:`Plan` from the shares of :func:`parse_acts`."""
    drawn = {name: rng.random() < shares.get(name, 0.0) for name in ACTS}
    return Plan(drawn["poll"], drawn["join"], drawn["submit"], drawn["vote"], think_s)
