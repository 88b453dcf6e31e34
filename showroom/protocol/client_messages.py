"""Client -> server control messages: pydantic models in one discriminated union on ``type``.

Movement input does not go through these models: it is a fixed-shape msgpack array
(see :mod:`showroom.protocol.codec`) checked in batch by the server. Clients build their
messages from these models too (``encode(Join(name="ada"))``), so every client sends what
the server checks.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter

from showroom.protocol import community as cm
from showroom.protocol.base import Ident, Message
from showroom.protocol.codes import Reaction, Role
from showroom.protocol.limits import MAX_ANNOUNCE_CHARS, MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_SEAT_CHARS, MAX_TOKEN_CHARS


class Join(Message):
    """First message of every connection (``v`` is :data:`~showroom.protocol.limits.PROTOCOL_VERSION`)."""

    type: Literal["join"] = "join"
    v: int
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    role: Role = "visitor"
    token: Annotated[str, Field(max_length=MAX_TOKEN_CHARS)] = ""
    resume: Annotated[str, Field(max_length=64)] | None = None
    wallet: Annotated[str, Field(min_length=16, max_length=64)] | None = None
    invite: Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    """An invite code of the event's community: join it first (members-only shows)."""
    seat: Annotated[str, Field(min_length=1, max_length=MAX_SEAT_CHARS)] | None = None
    """The seat token a ``handover`` gave (an event spread over workers): the worker it names seats you with it."""


class React(Message):
    """A reaction from the fixed set, shown above the avatar and counted per cell."""

    type: Literal["react"] = "react"
    reaction: Reaction


class Chat(Message):
    """A chat line to everyone in the shard."""

    type: Literal["chat"] = "chat"
    text: Annotated[str, Field(min_length=1, max_length=MAX_CHAT_CHARS)]


class SelfieRequest(Message):
    """Ask a mascot nearby for a selfie; the answer is a queue position."""

    type: Literal["selfie"] = "selfie"
    mascot: Ident


class SelfieLeave(Message):
    """Leave the selfie queue one is in."""

    type: Literal["selfie_leave"] = "selfie_leave"


class Ping(Message):
    """Clock probe; the server answers ``pong`` with the client's and its own time."""

    type: Literal["ping"] = "ping"
    t: float


class Wallet(Message):
    """List my Meta-Pass wallet: every award with its status; answered with ``wallet``."""

    type: Literal["wallet"] = "wallet"


class Redeem(Message):
    """Redeem the voucher awarded in ledger entry ``award``; answered with ``redeemed`` or an error."""

    type: Literal["redeem"] = "redeem"
    award: Annotated[int, Field(ge=0)]


class Leave(Message):
    """Leave the event for good (no resume)."""

    type: Literal["leave"] = "leave"


class SceneRequest(Message):
    """Fetch the scene's TOML text after a ``scene_changed`` event; answered with ``scene``."""

    type: Literal["scene"] = "scene"


class HostStart(Message):
    """Host: start (or resume) the show clock."""

    type: Literal["host_start"] = "host_start"


class HostPause(Message):
    """Host: pause the show clock."""

    type: Literal["host_pause"] = "host_pause"


class HostSeek(Message):
    """Host: move the show clock to ``t`` seconds."""

    type: Literal["host_seek"] = "host_seek"
    t: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class HostCue(Message):
    """Host: jump to the start of timeline cue ``index``."""

    type: Literal["host_cue"] = "host_cue"
    index: Annotated[int, Field(ge=0)]


class HostAnnounce(Message):
    """Host: show an announcement to every visitor in every shard."""

    type: Literal["host_announce"] = "host_announce"
    text: Annotated[str, Field(min_length=1, max_length=MAX_ANNOUNCE_CHARS)]


class HostKick(Message):
    """Host: disconnect a visitor (they may come back)."""

    type: Literal["host_kick"] = "host_kick"
    visitor: Annotated[int, Field(ge=0)]


class HostBan(Message):
    """Host: disconnect a visitor and refuse their name from now on."""

    type: Literal["host_ban"] = "host_ban"
    visitor: Annotated[int, Field(ge=0)]


class HostDrop(Message):
    """Host: open or close a voucher drop."""

    type: Literal["host_drop"] = "host_drop"
    entitlement: Ident
    open: bool


class HostNext(Message):
    """Host: jump to the start of the next cue after the show time (the server's current timeline)."""

    type: Literal["host_next"] = "host_next"


class HostStatus(Message):
    """Host: ask for the live status of the event; answered with ``status``."""

    type: Literal["host_status"] = "host_status"


ClientMessage = Annotated[
    Union[Join, React, Chat, SelfieRequest, SelfieLeave, Ping, Wallet, Redeem, Leave, SceneRequest, HostStart,
          HostPause, HostSeek, HostCue, HostAnnounce, HostKick, HostBan, HostDrop, HostNext, HostStatus,
          cm.CommunityJoin, cm.CommunityRequest, cm.CommunityLeave, cm.CommunityAsk, cm.InviteCreate, cm.EntryStart,
          cm.EntryPart, cm.EntryDone, cm.Vote, cm.GalleryAsk, cm.ImageAsk, cm.PollAnswer, cm.HostInvite,
          cm.HostRequests, cm.HostDecide, cm.HostRole, cm.HostExpel, cm.HostMembers, cm.HostRevoke, cm.HostReport,
          cm.HostTarget, cm.HostPhase, cm.HostModerate, cm.HostEntries, cm.HostFeature, cm.HostPoll, cm.HostPollClose],
    Field(discriminator="type"),
]
"""Every control message a client may send."""

HOST_MESSAGES: tuple[type[Message], ...] = (
    HostStart, HostPause, HostSeek, HostCue, HostAnnounce, HostKick, HostBan, HostDrop, HostNext, HostStatus,
    *cm.COMMUNITY_HOST_MESSAGES)
"""Messages only a connection joined with the host role may send."""

CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
CLIENT_TYPES: tuple[str, ...] = tuple(
    m.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for m in ClientMessage.__origin__.__args__  # type: ignore[attr-defined]
)
