"""The base classes of every message, in each direction, and the id type messages share."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Ident = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
"""An id as the scene and community formats write them (``teddy``, ``rose-sketch``)."""


class Message(BaseModel):
    """Base of every client -> server control message: strict, no unknown keys, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    type: str

    def wire(self) -> dict[str, Any]:
        """The message as the msgpack map a client sends (fields left at nil are left out)."""
        return self.model_dump(exclude_none=True)


class ServerMessage(BaseModel):
    """Base of every server message and event: immutable; unknown keys are ignored when read."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, use_enum_values=True)
    type: str

    def wire(self) -> dict[str, Any]:
        """The msgpack map sent on the wire (every field, nil included, under its wire name)."""
        return self.model_dump(by_alias=True)


class Plain(BaseModel):
    """Base of the maps nested inside server messages: immutable, unknown keys ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)
