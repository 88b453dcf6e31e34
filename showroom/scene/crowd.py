"""How the crowd walks, and crowd scenarios: groups that start in an area and walk a route.

An event's visitors draw their desired walking speed from ``[crowd.desired_speed]``. A
crowd scenario (a pedestrian-dynamics test such as those of RiMEA, or a drill of a venue's
exits) adds groups of people that start in an area and walk through waypoints to an exit
or round a loop, and areas and lines where the crowd is measured.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from showroom.scene.base import Ident, Metres, Point, SceneModel
from showroom.scene.timecode import TimeCode

WEIDMANN_MEAN_MPS = 1.34
"""Mean free walking speed of pedestrians (Weidmann 1993)."""
WEIDMANN_SD_MPS = 0.26
"""Spread (standard deviation) of free walking speeds (Weidmann 1993)."""

Speed = Annotated[float, Field(ge=0, le=5.0, allow_inf_nan=False)]


class DesiredSpeed(SceneModel):
    """Each person's desired walking speed: a normal draw, cut to ``[min, max]`` (m/s)."""

    mean: Annotated[float, Field(gt=0, le=5.0, allow_inf_nan=False)] = WEIDMANN_MEAN_MPS
    sd: Speed = WEIDMANN_SD_MPS
    min: Annotated[float, Field(gt=0, le=5.0, allow_inf_nan=False)] = 0.5
    max: Annotated[float, Field(gt=0, le=5.0, allow_inf_nan=False)] = 2.2

    @model_validator(mode="after")
    def _ordered(self) -> DesiredSpeed:
        if not self.min <= self.mean <= self.max:
            raise ValueError(f"need min <= mean <= max, got min {self.min:g}, mean {self.mean:g}, max {self.max:g}")
        return self


class Waypoint(SceneModel):
    """A place on a route: a spot (``at``, reached within ``radius``) or a gate across a corridor
    (``line``, two end points, reached within ``radius`` of it). People walk to a gate straight
    down the corridor, as people do, where they would all converge on a spot."""

    name: Ident
    at: Point | None = None
    line: tuple[Point, Point] | None = None
    radius: Metres = 1.0

    @model_validator(mode="after")
    def _spot_or_gate(self) -> Waypoint:
        if (self.at is None) == (self.line is None):
            raise ValueError("give either at (a spot) or line (a gate), not both or neither")
        return self

    @property
    def ends(self) -> tuple[Point, Point]:
        """The gate's ends; a spot is a gate of no length."""
        if self.line is not None:
            return self.line
        assert self.at is not None
        return self.at, self.at


class Group(SceneModel):
    """People who start in ``area`` at ``start`` and walk ``route`` (waypoint and exit names, in order).

    ``count`` people, or ``density`` persons per square metre of the area. A route that ends
    at an exit takes them out of the venue; with ``loop`` they walk the route round and round.
    ``speed`` overrides the crowd's desired speed for this group.
    """

    name: Ident
    area: list[Point] = Field(min_length=3, max_length=256)
    count: Annotated[int, Field(ge=1, le=100_000)] | None = None
    density: Annotated[float, Field(gt=0, le=5.0, allow_inf_nan=False)] | None = None
    route: list[Ident] = Field(min_length=1, max_length=64)
    loop: bool = False
    start: TimeCode = 0.0
    speed: DesiredSpeed | None = None

    @model_validator(mode="after")
    def _how_many(self) -> Group:
        if (self.count is None) == (self.density is None):
            raise ValueError("give either count or density (persons per square metre), not both or neither")
        return self


class Measurement(SceneModel):
    """An area where density and speed are measured (``direction``: the way counted as forward)."""

    name: Ident
    polygon: list[Point] = Field(min_length=3, max_length=256)
    direction: Point = (1.0, 0.0)


class Line(SceneModel):
    """A line whose crossings are counted (flow through a door), from ``a`` to ``b``."""

    name: Ident
    a: Point
    b: Point


class CrowdSection(SceneModel):
    """``[crowd]``: desired speeds, and for a crowd scenario its waypoints, groups and measurements."""

    desired_speed: DesiredSpeed = DesiredSpeed()
    waypoints: list[Waypoint] = Field(default_factory=list, max_length=256)
    groups: list[Group] = Field(default_factory=list, max_length=64)
    measure: list[Measurement] = Field(default_factory=list, max_length=64)
    lines: list[Line] = Field(default_factory=list, max_length=64)
