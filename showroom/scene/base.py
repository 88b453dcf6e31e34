"""Shared building blocks of the scene models: strict base class and field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_IDENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class SceneModel(BaseModel):
    """Base of every scene model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _ident(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(
            f"{value!r} is not a valid id: use 1-48 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit"
        )
    return value


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError(f"{value!r} is not a colour: write it as '#rrggbb'")
    return value.lower()


Ident = Annotated[str, AfterValidator(_ident)]
"""A short lowercase identifier used for cross-references (``teddy``, ``catwalk``)."""

Color = Annotated[str, AfterValidator(_color)]
"""A colour written as ``#rrggbb``."""

Coord = Annotated[float, Field(allow_inf_nan=False)]
"""A coordinate in metres on the floor plan (x to the right, y away from the entrance)."""

Point = tuple[Coord, Coord]
"""A floor point ``[x, y]`` in metres."""

Metres = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A strictly positive length in metres."""

Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
"""A strictly positive duration in seconds."""

Text = Annotated[str, Field(min_length=1, max_length=200)]
"""A display string (names, titles)."""
