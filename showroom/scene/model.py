"""The root of a scene file: the event, its venue, show, entitlements and reward rules."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from showroom.scene.base import Ident, SceneModel, Text
from showroom.scene.crowd import CrowdSection
from showroom.scene.rewards import Entitlement, Rule
from showroom.scene.show import Brand, Cue, Look, Mascot
from showroom.scene.timecode import TimeCode
from showroom.scene.venue import Venue


class Event(SceneModel):
    """The event as a whole: its id, title, show length, how many visitors share one shard, and who may enter.

    An event may belong to a brand community (``community``, the id of a community file); then
    ``members_only`` keeps it to the community's members and ``min_tier`` to members who reached
    at least that loyalty tier. Without them everyone may enter.
    """

    id: Ident
    title: Text
    host: Text = "Showroom"
    duration: TimeCode
    shard_capacity: Annotated[int, Field(ge=1, le=20_000)] = 500
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    community: Ident | None = None
    members_only: bool = False
    min_tier: Ident | None = None


class Scene(SceneModel):
    """A whole event as a host writes it in a TOML scene file.

    A crowd scenario (``scenes/validation/``) is a scene without a runway, brands or
    mascots, whose ``[crowd]`` section puts groups of people on the floor.
    """

    event: Event
    venue: Venue
    brands: list[Brand] = Field(default_factory=list, max_length=64)
    mascots: list[Mascot] = Field(default_factory=list, max_length=64)
    looks: list[Look] = Field(default_factory=list, max_length=256)
    timeline: list[Cue] = Field(default_factory=list, max_length=4096)
    entitlements: list[Entitlement] = Field(default_factory=list, max_length=256)
    rewards: list[Rule] = Field(default_factory=list, max_length=256)
    crowd: CrowdSection = CrowdSection()

    def mascot(self, mascot_id: str) -> Mascot:
        """Return the mascot with this id."""
        return next(m for m in self.mascots if m.id == mascot_id)

    def brand(self, brand_id: str) -> Brand:
        """Return the brand with this id."""
        return next(b for b in self.brands if b.id == brand_id)
