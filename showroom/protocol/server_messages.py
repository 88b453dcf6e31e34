"""Server -> client messages and events: one typed model each, encoded by one encoder.

The server builds every message it sends from these models; clients (the desktop client,
the bots, the host console) read what they receive through :func:`read_message` and
:func:`read_event`. Models ignore keys they do not know, so a client keeps working when a
newer server adds fields, and unknown message or event types read as None (docs/protocol.md:
"ignore what you do not know").

Snapshot frames are not here: their shared part is packed NumPy columns
(:mod:`showroom.protocol.snapshot`) and their per-visitor head is built by
:func:`showroom.protocol.codec.frame_head`; the ``show`` map inside them is :class:`ShowState`
and their events are the event models below.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from showroom.protocol import community as cm
from showroom.protocol.base import ServerMessage
from showroom.protocol.codes import ReloadStatus, Role, SelfieLeftReason
from showroom.protocol.errors import ErrorCode


# ---- replies and notices (top-level messages) --------------------------------------------------
class EventInfo(BaseModel):
    """The event a ``welcome`` is for."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    id: str
    title: str
    duration: float
    """Length of the show, seconds."""


class Welcome(ServerMessage):
    """The answer to a successful ``join``."""

    type: Literal["welcome"] = "welcome"
    v: int
    you: int
    """Your avatar id (-1 for a host, who has none)."""
    slot: int = -1
    """Your avatar's slot in the shard, as snapshot rows key avatars (-1 for a host)."""
    shard: int
    role: Role
    resume: str
    wallet: str
    tick_hz: int
    event: EventInfo
    scene: str
    scene_version: int
    playing: bool
    t: float


class Handover(ServerMessage):
    """The answer of an event's front door to ``join``: the event runs on several workers, and a seat is
    reserved for you on one of them. Connect to ``url`` within ``ttl`` seconds and send the same ``join``
    with ``seat`` set to this ``seat``; the front door closes this connection (1000). A host's handover
    has an empty ``seat`` (hosts take no seat)."""

    type: Literal["handover"] = "handover"
    url: str
    seat: str
    ttl: float


class ErrorReply(ServerMessage):
    """A refused message: its code, a line for people, and the type of the message refused."""

    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    ref: str | None = None


class Pong(ServerMessage):
    """The answer to ``ping``: the client's time echoed and the server's wall clock."""

    type: Literal["pong"] = "pong"
    t: float
    st: float


class HostOk(ServerMessage):
    """To a host: its host message was carried out."""

    type: Literal["host_ok"] = "host_ok"
    ref: str
    t: float
    cue: int


class SelfieLine(BaseModel):
    """One mascot's selfie line in a shard, as ``status`` reports it."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    mascot: str
    waiting: int
    serving: int
    """Avatar id being photographed, -1 for none."""


class ShardStatus(BaseModel):
    """One shard in a ``status``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    shard: int
    visitors: int
    connected: int
    selfies: list[SelfieLine]


class PendingEdit(BaseModel):
    """A valid scene edit waiting for its cue."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    version: int
    at: float


class StockLevel(BaseModel):
    """A voucher's stock in a ``status``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    entitlement: str
    left: int | None
    total: int
    open: bool


class CueRow(BaseModel):
    """One cue of the timeline in a ``status``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    index: int
    at: float
    """Show second it starts at."""
    kind: str
    what: str
    """What it does, in a few words."""


class Status(ServerMessage):
    """To a host: the live status of the event (the answer to ``host_status``)."""

    type: Literal["status"] = "status"
    event: str
    t: float
    playing: bool
    duration: float
    cue: int
    cue_kind: str | None
    next_cue: int
    next_at: float | None
    look: str | None
    scene_version: int
    pending: PendingEdit | None
    visitors: int
    hosts: int
    shards: list[ShardStatus]
    awards: int | None
    awarded: dict[str, int] | None
    stock: list[StockLevel]
    cues: list[CueRow] = []
    """The timeline, for a cue list (``host_cue`` takes the index)."""
    polls: list[cm.LivePollRow] = []
    """Open polls with their counts so far."""
    communities: list[cm.CommunityBrief] = []
    """The served communities: members, requests waiting, each challenge's phase and moderation queue."""


class Reload(ServerMessage):
    """To hosts, on its own: what became of an edit of the scene file."""

    type: Literal["reload"] = "reload"
    status: ReloadStatus
    version: int
    at: float | None
    t: float
    errors: list[str]
    pending: int | None
    message: str


class SceneText(ServerMessage):
    """The answer to a ``scene`` request: the running scene's TOML text."""

    type: Literal["scene"] = "scene"
    version: int
    text: str


class WalletItem(BaseModel):
    """One award in a ``wallet``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    seq: int
    rule: str
    entitlement: str
    name: str
    kind: str
    unit: int | None
    at: str
    valid_from: str
    valid_until: str | None
    redeemed_at: str | None
    redeemed_seq: int | None


class WalletContents(ServerMessage):
    """The answer to ``wallet``: everything the visitor's wallet holds."""

    type: Literal["wallet"] = "wallet"
    visitor: str
    items: list[WalletItem]
    pubkey: str


class Redeemed(ServerMessage):
    """The answer to a successful ``redeem``."""

    type: Literal["redeemed"] = "redeemed"
    award: int
    entitlement: str
    at: str
    seq: int


# ---- events inside frames ----------------------------------------------------------------------
class SelfieQueue(ServerMessage):
    """Personal: your place in a mascot's selfie queue (0 = being photographed now)."""

    type: Literal["selfie_queue"] = "selfie_queue"
    mascot: str
    position: int
    size: int


class SelfieLeft(ServerMessage):
    """Personal: you are out of a selfie queue."""

    type: Literal["selfie_left"] = "selfie_left"
    mascot: str
    reason: SelfieLeftReason


class Awarded(ServerMessage):
    """Personal: you earned a Meta-Pass entitlement (sent once it is safely in the ledger)."""

    type: Literal["awarded"] = "awarded"
    seq: int
    entitlement: str
    kind: str
    name: str
    valid_until: str | None


class ReactionCounts(ServerMessage):
    """Cell: the reactions sent from around the cell in the last second."""

    type: Literal["reactions"] = "reactions"
    counts: dict[str, int]


class Audience(ServerMessage):
    """Cell: the whole event's audience, in every shard of every worker: the visitors connected now and the
    reactions sent since the server started, by reaction. About once a second, only when it changed."""

    type: Literal["audience"] = "audience"
    visitors: int
    reactions: dict[str, int]


class ChatLine(ServerMessage):
    """Cell: someone in the shard chatted."""

    type: Literal["chat"] = "chat"
    sender: int = Field(alias="from")
    name: str
    text: str


class CueStarted(ServerMessage):
    """Cell: a timeline cue started."""

    type: Literal["cue"] = "cue"
    index: int
    kind: str


class Announcement(ServerMessage):
    """Cell: the host sent an announcement."""

    type: Literal["announce"] = "announce"
    text: str


class SelfieTaken(ServerMessage):
    """Cell: a selfie was taken; ``visible`` lists the avatar ids in the photo (never mascots)."""

    type: Literal["selfie_taken"] = "selfie_taken"
    mascot: str
    visitor: int
    t: float
    visible: list[int]


class DropChanged(ServerMessage):
    """Cell: the host opened or closed a voucher drop."""

    type: Literal["drop"] = "drop"
    entitlement: str
    open: bool


class ShowChanged(ServerMessage):
    """Cell: the host started, paused or moved the show clock."""

    type: Literal["show"] = "show"
    playing: bool
    t: float


class SceneChanged(ServerMessage):
    """Cell: an edited scene runs from this frame on in every shard."""

    type: Literal["scene_changed"] = "scene_changed"
    version: int
    t: float


class ShowState(BaseModel):
    """The ``show`` map of every frame: the show's state at the frame's show time."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    cue: int
    look: int
    playing: bool
    music: str | None
    announce: str | None
    lights: dict[str, tuple[float, float, float, float]]
    """``house`` and ``runway``: ``[r, g, b, level]``."""

    def wire(self) -> dict[str, Any]:
        """The map as sent."""
        return {"cue": self.cue, "look": self.look, "playing": self.playing, "music": self.music,
                "announce": self.announce, "lights": {k: list(v) for k, v in self.lights.items()}}


Reply = Annotated[
    Union[Welcome, Handover, ErrorReply, Pong, HostOk, Status, Reload, SceneText, WalletContents, Redeemed, Awarded,
          cm.CommunityState, cm.InviteIssued, cm.UploadReady, cm.EntryReceived, cm.VoteRecorded, cm.Gallery,
          cm.EntryImage, cm.Requests, cm.Members, cm.ReportMessage, cm.Targeted, cm.PollState],
    Field(discriminator="type"),
]
"""Every top-level (map) message a server sends."""
PersonalEvent = Annotated[
    Union[SelfieQueue, SelfieLeft, Awarded, cm.PollAnswered, cm.EntryModerated, cm.MembershipChanged, cm.TierReached,
          cm.PollState, cm.InviteIssued],
    Field(discriminator="type"),
]
"""Events in a frame's ``personal.events``."""
CellEvent = Annotated[
    Union[ReactionCounts, Audience, ChatLine, CueStarted, Announcement, SelfieTaken, DropChanged, ShowChanged,
          SceneChanged, cm.PollState, cm.PollResultsEvent, cm.ChallengePhase, cm.FeaturedEvent],
    Field(discriminator="type"),
]
"""Events in a frame's ``cell.events``."""

REPLY: TypeAdapter[Reply] = TypeAdapter(Reply)
EVENT: TypeAdapter[Union[PersonalEvent, CellEvent]] = TypeAdapter(
    Annotated[Union[SelfieQueue, SelfieLeft, Awarded, cm.PollAnswered, cm.EntryModerated, cm.MembershipChanged,
                    cm.TierReached, cm.InviteIssued,
                    ReactionCounts, Audience, ChatLine, CueStarted, Announcement, SelfieTaken, DropChanged,
                    ShowChanged, SceneChanged, cm.PollState, cm.PollResultsEvent, cm.ChallengePhase, cm.FeaturedEvent],
              Field(discriminator="type")])


def _types(union: Any) -> frozenset[str]:
    members = union.__origin__.__args__  # Annotated[Union[...], ...] -> the Union's members
    return frozenset(m.model_fields["type"].default for m in members)


REPLY_TYPES = _types(Reply)
"""The ``type`` of every top-level server message."""
EVENT_TYPES = _types(PersonalEvent) | _types(CellEvent)
"""The ``type`` of every event."""


@functools.lru_cache(maxsize=64)
def _type_names(kinds: tuple[type[ServerMessage], ...]) -> frozenset[str]:
    return frozenset(k.model_fields["type"].default for k in kinds)


class ServerMessageError(ValueError):
    """A server message of a known type whose fields do not match docs/protocol.md."""


def read_message(value: Any) -> ServerMessage | None:
    """A decoded top-level server map as its model; None for a type this client does not know."""
    if not isinstance(value, dict) or value.get("type") not in REPLY_TYPES:
        return None
    try:
        return REPLY.validate_python(value)
    except ValidationError as exc:
        raise ServerMessageError(f"{value.get('type')}: {exc.errors(include_url=False)[0]['msg']}") from None


def read_event(value: Any, *kinds: type[ServerMessage]) -> ServerMessage | None:
    """A decoded frame event as its model; None for an event type this client does not know, or
    (when ``kinds`` are given) does not want: those are not even validated."""
    if not isinstance(value, dict) or value.get("type") not in (_type_names(kinds) if kinds else EVENT_TYPES):
        return None
    try:
        return EVENT.validate_python(value)
    except ValidationError as exc:
        raise ServerMessageError(f"{value.get('type')} event: {exc.errors(include_url=False)[0]['msg']}") from None
