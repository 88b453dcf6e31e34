"""The venue of an event: floor, walls, obstacles, runway, audience zones and spots."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from showroom.protocol.limits import MAX_COORD_M
from showroom.scene.base import Ident, Metres, Point, SceneModel, Text


def _addressable(value: float) -> float:
    if value > MAX_COORD_M:
        raise ValueError(f"a venue is at most {MAX_COORD_M:g} m on a side: the wire carries positions "
                         "as 16-bit centimetres")
    return value


FloorLength = Annotated[
    float, Field(gt=0, allow_inf_nan=False, json_schema_extra={"maximum": MAX_COORD_M}), AfterValidator(_addressable)
]
"""A side of the floor in metres: more than 0 and no more than the wire can address (``MAX_COORD_M``)."""


class Wall(SceneModel):
    """A wall drawn as a polyline; agents keep ``thickness / 2`` plus their radius away from it."""

    points: list[Point] = Field(min_length=2, max_length=256)
    thickness: Metres = 0.2
    height: Metres = 3.0
    closed: bool = False


class Obstacle(SceneModel):
    """A solid polygon on the floor (a pillar, a bar counter) that nobody walks through."""

    name: Ident
    polygon: list[Point] = Field(min_length=3, max_length=256)
    height: Metres = 1.2


class Runway(SceneModel):
    """The raised catwalk: a centreline polyline with a width; mascots walk only on it."""

    centerline: list[Point] = Field(min_length=2, max_length=64)
    width: Metres = 3.0
    height: Metres = 0.8


class Zone(SceneModel):
    """An audience area: ``standing`` and ``seated`` for everyone, ``vip`` for pass holders."""

    name: Ident
    kind: Literal["standing", "seated", "vip"] = "standing"
    polygon: list[Point] = Field(min_length=3, max_length=256)


class Booth(SceneModel):
    """A brand booth: a solid footprint that visitors walk to and around."""

    name: Ident
    brand: Ident | None = None
    polygon: list[Point] = Field(min_length=3, max_length=256)
    height: Metres = 2.5


class Spot(SceneModel):
    """A named circle on the floor where visitors appear (spawn) or leave (exit)."""

    name: Ident
    at: Point
    radius: Metres = 1.5


class MascotPath(SceneModel):
    """A named route on the runway that a walk cue sends a mascot along."""

    name: Ident
    points: list[Point] = Field(min_length=2, max_length=256)


class SelfieSpot(SceneModel):
    """Where a mascot poses for selfies (``at``, on the runway) and where its queue starts (``queue``, on the floor)."""

    name: Ident
    at: Point
    queue: Point
    spacing: Metres = 0.8


class FeaturedWall(SceneModel):
    """Where the featured entries of the event community's latest challenge hang: a board standing on the floor.

    Drawing only (visitors are not kept off it): stand it against a wall or where nobody needs to walk.
    """

    at: Point
    """The middle of the board's foot, metres."""
    heading: Annotated[float, Field(ge=-360, le=360)] = 180.0
    """The way its face looks, degrees (0 faces +y, counter-clockwise positive; 180 faces the entrance)."""
    width: Annotated[float, Field(ge=2, le=60, allow_inf_nan=False)] = 8.0
    height: Annotated[float, Field(ge=1.5, le=12, allow_inf_nan=False)] = 4.0
    title: Text = "Featured"
    """Shown across its top, above the challenge's title."""

    def ends(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The floor points of its two ends (left, right as seen from in front), metres."""
        h = math.radians(self.heading)
        dx, dy = math.cos(h) * self.width / 2, math.sin(h) * self.width / 2
        x, y = self.at
        return (x + dx, y + dy), (x - dx, y - dy)


class Venue(SceneModel):
    """The whole floor plan; the floor spans ``[0, size[0]] x [0, size[1]]`` metres."""

    name: Text = "Venue"
    size: tuple[FloorLength, FloorLength]
    walls: list[Wall] = Field(default_factory=list, max_length=1024)
    obstacles: list[Obstacle] = Field(default_factory=list, max_length=1024)
    runway: Runway | None = None
    zones: list[Zone] = Field(default_factory=list, max_length=256)
    booths: list[Booth] = Field(default_factory=list, max_length=256)
    spawns: list[Spot] = Field(default_factory=list, max_length=64)
    exits: list[Spot] = Field(default_factory=list, max_length=64)
    paths: list[MascotPath] = Field(default_factory=list, max_length=256)
    selfie_spots: list[SelfieSpot] = Field(default_factory=list, max_length=64)
    featured_wall: FeaturedWall | None = None
    """Where the client hangs the featured challenge entries (only for an event with a community)."""
