"""Creative challenges: a brief, phases in time, a ballot, and the weekly series that repeats one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field

from showroom.scene.base import Ident, SceneModel, Text
from showroom.scene.rewards import OffsetDateTime

Phase = Literal["draft", "submissions", "review", "voting", "closed"]
"""Where a challenge stands: written but not open (draft), taking entries, being moderated, being voted on, done."""

PHASES: tuple[Phase, ...] = get_args(Phase)
"""The phases in the order a challenge goes through them."""

TIMED_PHASES: tuple[Phase, ...] = PHASES[1:]
"""The phases that start at a time written in the file (``draft`` is whatever comes before ``submissions``)."""

Ballot = Literal["approval", "ranked"]
"""How members vote: approve any number of entries, or rank them in order of preference."""

MAX_REPEAT_WEEKS = 52
"""Longest weekly series one ``[[challenges]]`` table may write."""

LongText = Annotated[str, Field(min_length=1, max_length=2000)]
"""A paragraph (a brief, a description)."""

FIRST_YEAR, LAST_YEAR = 1970, 9000
"""Years a community's dates may fall in: Unix time starts in 1970, and a date near 9999 leaves no room for a season."""


def plausible_year(value: dt.date) -> dt.date:
    """``value`` unchanged, if its year lies from :data:`FIRST_YEAR` to :data:`LAST_YEAR`."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.isoformat()} is not between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


PhaseTime = Annotated[OffsetDateTime, AfterValidator(plausible_year)]
"""The start of a challenge phase: a date-time with a UTC offset, from 1970 to 9000."""


class Challenge(SceneModel):
    """A creative challenge: members submit entries, a moderator reviews them, members vote, the best are featured.

    Before ``submissions`` the challenge is a draft; each phase lasts until the next one's time.
    With ``repeat_weeks = N`` the table stands for N challenges a week apart (ids ``ID-w1`` to
    ``ID-wN``), the same local times each week in the community's time zone.
    """

    id: Ident
    title: Text
    brief: LongText
    ballot: Ballot = "approval"
    featured: Annotated[int, Field(ge=1, le=10)] = 3
    feature_grant: Ident | None = None
    max_entries_per_member: Annotated[int, Field(ge=1, le=20)] = 1
    submissions: PhaseTime
    review: PhaseTime
    voting: PhaseTime
    closed: PhaseTime
    repeat_weeks: Annotated[int, Field(ge=1, le=MAX_REPEAT_WEEKS)] | None = None

    def phase_starts(self) -> tuple[tuple[Phase, dt.datetime], ...]:
        """Each timed phase with the instant it starts, in order."""
        return (("submissions", self.submissions), ("review", self.review), ("voting", self.voting),
                ("closed", self.closed))


def weekly_series(challenge: Challenge, tz: dt.tzinfo) -> list[Challenge]:
    """The challenges one table stands for: itself, or its ``repeat_weeks`` weekly copies numbered ``-w1``, ``-w2``...

    Copies keep the local times of the first week in ``tz`` (so a challenge that opens Monday
    10:00 opens Monday 10:00 after a daylight-saving change too); their times are in ``tz``.
    """
    if challenge.repeat_weeks is None:
        return [challenge]
    series = []
    for week in range(challenge.repeat_weeks):
        shift = dt.timedelta(weeks=week)
        update: dict[str, object] = {phase: when.astimezone(tz) + shift for phase, when in challenge.phase_starts()}
        update.update(id=f"{challenge.id}-w{week + 1}", repeat_weeks=None)
        series.append(challenge.model_copy(update=update))
    return series


def expand_challenges(challenges: Sequence[Challenge], tz: dt.tzinfo) -> list[Challenge]:
    """Every challenge of a file, weekly series expanded, in file order."""
    return [one for challenge in challenges for one in weekly_series(challenge, tz)]
