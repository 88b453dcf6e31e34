"""Show times as written in scene files: ``"mm:ss"``, ``"h:mm:ss"`` or plain seconds."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_CLOCK = re.compile(r"^\s*(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)\s*$")


def parse_seconds(value: Any) -> float:
    """Return a show time in seconds from ``"mm:ss"``, ``"h:mm:ss"``, ``"90s"`` or a number."""
    if isinstance(value, bool):
        raise ValueError("expected a time such as '1:30' or a number of seconds, got a boolean")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _CLOCK.match(text)
        if match:
            hours, minutes, secs = match.groups()
            if float(secs) >= 60:
                raise ValueError(f"seconds must be below 60 in {value!r}")
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        else:
            try:
                seconds = float(text[:-1] if text.endswith("s") else text)
            except ValueError:
                raise ValueError(
                    f"expected a time such as '1:30', '0:05.5' or '90s', got {value!r}"
                ) from None
    else:
        raise ValueError(f"expected a time such as '1:30' or a number of seconds, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a time must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def format_clock(seconds: float) -> str:
    """Format seconds as ``m:ss`` (or ``h:mm:ss`` past an hour), rounding down to whole seconds."""
    whole = int(max(seconds, 0.0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


_TIME_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*(?:(?:\d+:)?\d+:[0-5]?\d(?:\.\d+)?|\d+(?:\.\d+)?\s*s?)\s*$"},
    ],
    "description": "A show time: 'mm:ss', 'h:mm:ss', '90s' or a number of seconds.",
}

TimeCode = Annotated[float, BeforeValidator(parse_seconds), WithJsonSchema(_TIME_SCHEMA)]
"""A show time in seconds, written in a scene as ``"mm:ss"`` or a number."""
