"""Residencies: a scene that plays every week on the same weekday and local time through a season."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from showroom.community.challenges import plausible_year
from showroom.scene.base import Ident, SceneModel, Text
from showroom.scene.rewards import Duration

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
"""A day of the week, written in lowercase English."""

WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
"""The weekdays in order, Monday first (``WEEKDAYS.index(day)`` is Python's ``date.weekday()``)."""

EVERYONE = "everyone"
"""Residency entry: anyone may come in."""
MEMBERS = "members"
"""Residency entry: members of the community only."""

MAX_SHOW_S = 24 * 3600
"""Longest residency show: a day."""
MAX_SEASON_DAYS = 731
"""Longest season, from ``first`` to ``last``: two years."""

_CLOCK = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?\s*$")


def _time_of_day(value: object) -> dt.time:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValueError("a start time is local to the community's time zone: write it without an offset")
        return value
    if isinstance(value, str):
        match = _CLOCK.match(value)
        if match:
            hours, minutes, seconds = match.groups()
            return dt.time(int(hours), int(minutes), int(seconds or 0))
    raise ValueError(f"expected a local time of day such as '20:00', got {value!r}")


_TIME_OF_DAY_SCHEMA = {
    "type": "string",
    "pattern": r"^\s*([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?\s*$",
    "description": "A local time of day, 'HH:MM' (24-hour clock) in the community's time zone.",
}

TimeOfDay = Annotated[dt.time, BeforeValidator(_time_of_day), WithJsonSchema(_TIME_OF_DAY_SCHEMA)]
"""A wall-clock time of day, ``"20:00"`` (or a TOML local time ``20:00:00``), in the community's time zone."""

def _within_a_day(seconds: float) -> float:
    if seconds > MAX_SHOW_S:
        raise ValueError("a residency show lasts at most a day ('24h')")
    return seconds


ShowLength = Annotated[Duration, AfterValidator(_within_a_day)]
"""How long one show of a residency lasts: a duration such as ``"90m"``, up to a day."""


SeasonDate = Annotated[dt.date, AfterValidator(plausible_year)]
"""A day of a season, from 1970 to 9000."""


class Residency(SceneModel):
    """A weekly live show: ``scene`` plays every ``weekday`` at ``start`` local time from ``first`` to ``last``.

    ``entry`` says who may come in: ``everyone``, ``members`` of the community, or the id of a
    loyalty tier (members who reached at least that tier).
    """

    id: Ident
    title: Text
    scene: Annotated[str, Field(min_length=1, max_length=400)]
    weekday: Weekday
    start: TimeOfDay
    duration: ShowLength
    first: SeasonDate
    last: SeasonDate
    entry: Ident = EVERYONE

    def weekday_index(self) -> int:
        """The weekday as Python counts it (Monday 0, Sunday 6)."""
        return WEEKDAYS.index(self.weekday)
