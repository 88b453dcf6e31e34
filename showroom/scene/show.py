"""What happens on the runway: brands, their mascots, the looks and the timeline of cues."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from showroom.scene.base import Color, Ident, Metres, Point, SceneModel, Seconds, Text
from showroom.scene.timecode import TimeCode


class Brand(SceneModel):
    """A brand taking part in the event, with the palette its mascot and booth use."""

    id: Ident
    name: Text
    palette: list[Color] = Field(min_length=1, max_length=8)


class MascotBody(SceneModel):
    """Proportions of a procedural mascot, so every brand's character looks distinct."""

    height: Annotated[float, Field(ge=0.8, le=3.5)] = 1.8
    body_width: Annotated[float, Field(ge=0.3, le=2.0)] = 0.8
    head_size: Annotated[float, Field(ge=0.2, le=1.2)] = 0.5
    ears: Literal["none", "round", "pointed", "long", "floppy"] = "round"
    ear_size: Annotated[float, Field(ge=0.0, le=0.8)] = 0.18
    tail: Literal["none", "stub", "long", "bushy"] = "stub"
    tail_length: Annotated[float, Field(ge=0.0, le=1.5)] = 0.2
    snout: Annotated[float, Field(ge=0.0, le=0.5)] = 0.1


class MascotColors(SceneModel):
    """Colours of a mascot; ``accent`` and ``eyes`` fall back to sensible defaults."""

    body: Color
    accent: Color = "#ffffff"
    eyes: Color = "#111111"


class Mascot(SceneModel):
    """A brand's mascot: how it looks, how fast it walks, its poses and its selfie queue."""

    id: Ident
    brand: Ident
    name: Text
    home: Point
    home_heading: Annotated[float, Field(ge=-360, le=360)] = 0.0
    radius: Annotated[float, Field(gt=0.1, le=1.5)] = 0.5
    walk_speed: Annotated[float, Field(gt=0, le=3.0)] = 1.1
    poses: list[Ident] = Field(min_length=1, max_length=32)
    selfie_capacity: Annotated[int, Field(ge=1, le=500)] = 20
    photo_seconds: Annotated[float, Field(gt=0, le=60)] = 6.0
    body: MascotBody = MascotBody()
    colors: MascotColors


class Look(SceneModel):
    """A named segment of the show (one brand's turn), used for captions and reward rules."""

    id: Ident
    name: Text
    brand: Ident | None = None
    at: TimeCode
    until: TimeCode


class _Cue(SceneModel):
    at: TimeCode
    skippable: bool = False


class WalkCue(_Cue):
    """Walk a mascot along a named path, at ``speed`` m/s or over ``duration`` seconds."""

    kind: Literal["walk"]
    mascot: Ident
    path: Ident
    speed: Annotated[float, Field(gt=0, le=3.0)] | None = None
    duration: Seconds | None = None

    @model_validator(mode="after")
    def _speed_or_duration(self) -> WalkCue:
        if self.speed is not None and self.duration is not None:
            raise ValueError("give either speed or duration for a walk, not both")
        return self


class PauseCue(_Cue):
    """Hold a mascot still where it stands for ``duration`` seconds."""

    kind: Literal["pause"]
    mascot: Ident
    duration: Seconds


class PoseCue(_Cue):
    """Strike one of the mascot's named poses for ``duration`` seconds."""

    kind: Literal["pose"]
    mascot: Ident
    pose: Ident
    duration: Seconds


class TurnCue(_Cue):
    """Turn a mascot to a heading in degrees (0 faces +y, counter-clockwise positive)."""

    kind: Literal["turn"]
    mascot: Ident
    heading: Annotated[float, Field(ge=-360, le=360)]
    duration: Seconds = 1.0


class LightsCue(_Cue):
    """Change the venue lights to a colour and intensity, fading over ``duration`` seconds."""

    kind: Literal["lights"]
    color: Color = "#ffffff"
    intensity: Annotated[float, Field(ge=0.0, le=2.0)] = 1.0
    duration: Annotated[float, Field(ge=0, le=600)] = 0.0
    target: Literal["all", "house", "runway"] = "all"


class MusicCue(_Cue):
    """A music mark: the title of the track that starts here (shown as a caption)."""

    kind: Literal["music"]
    mark: Text
    duration: Seconds | None = None


class AnnounceCue(_Cue):
    """An announcement shown to every visitor for ``duration`` seconds."""

    kind: Literal["announce"]
    text: Annotated[str, Field(min_length=1, max_length=280)]
    duration: Seconds = 8.0


class SelfieCue(_Cue):
    """Open a selfie session: the mascot poses at a selfie spot and serves its queue."""

    kind: Literal["selfie"]
    mascot: Ident
    spot: Ident
    duration: Seconds


Cue = Annotated[
    Union[WalkCue, PauseCue, PoseCue, TurnCue, LightsCue, MusicCue, AnnounceCue, SelfieCue],
    Field(discriminator="kind"),
]
"""One entry of the show timeline, told apart by its ``kind``."""

MASCOT_CUES = (WalkCue, PauseCue, PoseCue, TurnCue, SelfieCue)
"""Cue classes that occupy a mascot for their duration."""

__all__ = [
    "AnnounceCue", "Brand", "Cue", "LightsCue", "Look", "MASCOT_CUES", "Mascot", "MascotBody",
    "MascotColors", "MusicCue", "PauseCue", "PoseCue", "SelfieCue", "TurnCue", "WalkCue", "Point",
    "Metres",
]
