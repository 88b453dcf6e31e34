"""Community messages in both directions: membership, invites, challenge entries and votes, polls.

Client requests join the control-message union of :mod:`showroom.protocol.client_messages`;
replies and frame events join the unions of :mod:`showroom.protocol.server_messages`.
Documented in docs/protocol.md ("Communities").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from showroom.protocol.base import Ident, Message, Plain, ServerMessage
from showroom.protocol.limits import (
    MAX_BALLOT_CHOICES,
    MAX_IMAGE_BYTES,
    MAX_PART_BYTES,
    MAX_POLL_OPTIONS,
    MAX_QUESTION_CHARS,
    MAX_TITLE_CHARS,
)

Code = Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
"""An invite code."""
PollId = Annotated[str, Field(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Phase = Literal["draft", "submissions", "review", "voting", "closed"]
PollResults = Literal["live", "on_close"]
Wallet = Annotated[str, Field(min_length=3, max_length=64)]
"""A wallet's public name (``w-`` and 32 hex digits)."""


# ---- client -> server ------------------------------------------------------------------------------
class CommunityJoin(Message):
    """Join a community, with an invite code when it is invite-only; answered with ``community``."""

    type: Literal["community_join"] = "community_join"
    community: Ident
    invite: Code | None = None


class CommunityRequest(Message):
    """Ask to join a community whose entry is by request; answered with ``community``."""

    type: Literal["community_request"] = "community_request"
    community: Ident


class CommunityLeave(Message):
    """Leave a community; answered with ``community``."""

    type: Literal["community_leave"] = "community_leave"
    community: Ident


class CommunityAsk(Message):
    """Ask for a community's state as it concerns me; answered with ``community``."""

    type: Literal["community"] = "community"
    community: Ident


class InviteCreate(Message):
    """A member whose role may invite asks for an invite code; answered with ``invite``."""

    type: Literal["invite_create"] = "invite_create"
    community: Ident
    max_uses: Annotated[int, Field(ge=1, le=100)] | None = None
    days: Annotated[float, Field(gt=0, le=7, allow_inf_nan=False)] | None = None


class EntryStart(Message):
    """Start uploading a challenge entry of ``size`` bytes (a PNG or JPEG); answered with ``upload``."""

    type: Literal["entry_start"] = "entry_start"
    community: Ident
    challenge: Ident
    title: Annotated[str, Field(min_length=1, max_length=MAX_TITLE_CHARS)]
    size: Annotated[int, Field(ge=1, le=MAX_IMAGE_BYTES)]


class EntryPart(Message):
    """One part of an upload, in order from 0; every part but the last is exactly ``part_bytes`` long."""

    type: Literal["entry_part"] = "entry_part"
    upload: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)]
    data: Annotated[bytes, Field(min_length=1, max_length=MAX_PART_BYTES)]


class EntryDone(Message):
    """Every part is sent: check, re-encode and keep the entry; answered with ``entry``."""

    type: Literal["entry_done"] = "entry_done"
    upload: Annotated[int, Field(ge=0)]


class Vote(Message):
    """My one ballot in a challenge's voting phase: approved entries, or my preferences in order."""

    type: Literal["vote"] = "vote"
    community: Ident
    challenge: Ident
    choices: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1, max_length=MAX_BALLOT_CHOICES)]


class GalleryAsk(Message):
    """A challenge's approved entries (and, once closed, its results); answered with ``gallery``."""

    type: Literal["gallery"] = "gallery"
    community: Ident
    challenge: Ident


class ImageAsk(Message):
    """An entry's image (approved entries, or my own); answered with ``entry_image``."""

    type: Literal["entry_image"] = "entry_image"
    entry: Annotated[int, Field(ge=0)]


class PollAnswer(Message):
    """My one answer to an open poll (option index, 0-based); confirmed by a ``poll_answered`` event."""

    type: Literal["poll_answer"] = "poll_answer"
    poll: PollId
    option: Annotated[int, Field(ge=0, lt=MAX_POLL_OPTIONS)]


# ---- host -> server --------------------------------------------------------------------------------
class HostInvite(Message):
    """Host: issue an invite code; answered with ``invite``."""

    type: Literal["host_invite"] = "host_invite"
    community: Ident
    max_uses: Annotated[int, Field(ge=1, le=100)] | None = None
    days: Annotated[float, Field(gt=0, le=7, allow_inf_nan=False)] | None = None


class HostRequests(Message):
    """Host: list the pending join requests; answered with ``requests``."""

    type: Literal["host_requests"] = "host_requests"
    community: Ident


class HostDecide(Message):
    """Host: approve or refuse a join request."""

    type: Literal["host_decide"] = "host_decide"
    community: Ident
    wallet: Wallet
    approve: bool
    reason: Annotated[str, Field(max_length=MAX_TITLE_CHARS)] | None = None


class HostRole(Message):
    """Host: give a member another role of the community file (what it may do follows the role)."""

    type: Literal["host_role"] = "host_role"
    community: Ident
    wallet: Wallet
    role: Ident


class HostExpel(Message):
    """Host: ban a wallet from a community for good (a member, a former member or a requester): its membership
    ends, a pending request is refused, and it may not join or ask again."""

    type: Literal["host_expel"] = "host_expel"
    community: Ident
    wallet: Wallet


class HostMembers(Message):
    """Host: a community's members (with role, tier and points) and its invite codes; answered with ``members``."""

    type: Literal["host_members"] = "host_members"
    community: Ident


class HostRevoke(Message):
    """Host: withdraw an invite code (nobody joins with it any more; who joined with it stays)."""

    type: Literal["host_revoke"] = "host_revoke"
    community: Ident
    code: Code


class HostReport(Message):
    """Host: the community's members by RFM segment, with loyalty; answered with ``report``."""

    type: Literal["host_report"] = "host_report"
    community: Ident


Segment = Literal["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
                  "at_risk", "cannot_lose", "hibernating", "lost"]
"""An RFM segment (recency and frequency scores, :mod:`showroom.community.rfm`)."""


class HostTarget(Message):
    """Host: grant an entitlement to an audience (members in these segments, from this tier, on a streak of this
    many weeks: every criterion given must hold), or give each of them an invite code to hand on."""

    type: Literal["host_target"] = "host_target"
    community: Ident
    segments: Annotated[list[Segment], Field(min_length=1, max_length=MAX_POLL_OPTIONS)] | None = None
    min_tier: Ident | None = None
    min_streak: Annotated[int, Field(ge=1, le=520)] | None = None
    grant: Ident | None = None
    invites: Annotated[int, Field(ge=1, le=100)] | None = None
    """Uses of the invite code each member of the audience gets."""


class HostPhase(Message):
    """Host: move a challenge to a phase now, whatever its calendar says."""

    type: Literal["host_phase"] = "host_phase"
    community: Ident
    challenge: Ident
    phase: Phase


class HostModerate(Message):
    """Host: approve or reject an entry (a rejection gives the member a reason)."""

    type: Literal["host_moderate"] = "host_moderate"
    entry: Annotated[int, Field(ge=0)]
    approve: bool
    reason: Annotated[str, Field(max_length=MAX_TITLE_CHARS)] | None = None


class HostEntries(Message):
    """Host: every entry of a challenge with its moderation status; answered with ``gallery``."""

    type: Literal["host_entries"] = "host_entries"
    community: Ident
    challenge: Ident


class HostFeature(Message):
    """Host: count a closed challenge's ballots and publish its featured entries (and award them)."""

    type: Literal["host_feature"] = "host_feature"
    community: Ident
    challenge: Ident


class HostPoll(Message):
    """Host: start a poll in every shard now (``community``: a community poll, open between events)."""

    type: Literal["host_poll"] = "host_poll"
    question: Annotated[str, Field(min_length=1, max_length=MAX_QUESTION_CHARS)]
    options: Annotated[list[Annotated[str, Field(min_length=1, max_length=MAX_TITLE_CHARS)]],
                       Field(min_length=2, max_length=MAX_POLL_OPTIONS)]
    results: PollResults = "live"
    seconds: Annotated[float, Field(gt=0, le=7 * 86400, allow_inf_nan=False)] | None = None
    community: Ident | None = None


class HostPollClose(Message):
    """Host: close a poll now; its final results go to every shard."""

    type: Literal["host_poll_close"] = "host_poll_close"
    poll: PollId


COMMUNITY_CLIENT_MESSAGES = (CommunityJoin, CommunityRequest, CommunityLeave, CommunityAsk, InviteCreate, EntryStart,
                             EntryPart, EntryDone, Vote, GalleryAsk, ImageAsk, PollAnswer)
COMMUNITY_HOST_MESSAGES = (HostInvite, HostRequests, HostDecide, HostRole, HostExpel, HostMembers, HostRevoke,
                           HostReport, HostTarget, HostPhase, HostModerate, HostEntries, HostFeature, HostPoll,
                           HostPollClose)


# ---- server -> client --------------------------------------------------------------------------
class ChallengeInfo(Plain):
    """A challenge as a member sees it."""

    id: str
    title: str
    phase: Phase
    ballot: Literal["approval", "ranked"]
    next_at: str | None
    """When the next phase starts (RFC 3339), None when closed."""
    brief: str = ""
    """What the challenge asks for, as its community file says."""


class ResidencyInfo(Plain):
    """The next residency show."""

    id: str
    title: str
    start: str
    """RFC 3339, in the community's time zone."""


class CommunityState(ServerMessage):
    """A community as it concerns the visitor: membership, loyalty, the next residency, challenges, polls."""

    type: Literal["community"] = "community"
    community: str
    name: str
    entry: Literal["invite", "request", "open"]
    members: int
    cap: int
    status: Literal["member", "pending", "left", "banned", "none"]
    role: str | None
    tier: str | None
    points: float
    streak: int
    residency: ResidencyInfo | None
    challenges: list[ChallengeInfo]
    polls: list[str]
    """Ids of the community's open polls."""


class InviteIssued(ServerMessage):
    """An invite code (to a member who asked, or to the host)."""

    type: Literal["invite"] = "invite"
    community: str
    code: str
    max_uses: int
    expires_at: str


class UploadReady(ServerMessage):
    """The answer to ``entry_start``: send ``parts`` parts of ``part_bytes`` bytes (the last may be shorter)."""

    type: Literal["upload"] = "upload"
    upload: int
    part_bytes: int
    parts: int


class EntryReceived(ServerMessage):
    """An entry is kept (re-encoded, metadata stripped) and waits for moderation."""

    type: Literal["entry"] = "entry"
    entry: int
    community: str
    challenge: str
    title: str
    status: Literal["pending", "approved", "rejected"]
    width: int
    height: int


class VoteRecorded(ServerMessage):
    """Confirmation of my ballot, as counted."""

    type: Literal["vote_recorded"] = "vote_recorded"
    community: str
    challenge: str
    choices: list[int]


class GalleryEntry(Plain):
    """One entry in a gallery."""

    entry: int
    title: str
    by: str
    """The member's display name."""
    status: Literal["pending", "approved", "rejected"]
    mine: bool
    width: int
    height: int
    rank: int | None = None
    reason: str | None = None


class Gallery(ServerMessage):
    """A challenge's entries: approved ones for members (all, with their status, for hosts); results once closed."""

    type: Literal["gallery"] = "gallery"
    community: str
    challenge: str
    phase: Phase
    ballot: Literal["approval", "ranked"]
    entries: list[GalleryEntry]
    voted: bool
    """Whether I have cast my ballot."""


class EntryImage(ServerMessage):
    """An entry's image, as stored (JPEG)."""

    type: Literal["entry_image"] = "entry_image"
    entry: int
    image: bytes


class RequestInfo(Plain):
    """A pending join request."""

    wallet: str
    name: str
    at: str


class Requests(ServerMessage):
    """To a host: the pending join requests of a community."""

    type: Literal["requests"] = "requests"
    community: str
    requests: list[RequestInfo]


class MemberRow(Plain):
    """One member in a ``members`` answer."""

    wallet: str
    name: str
    role: str
    tier: str | None
    points: float
    joined_at: str
    """RFC 3339 UTC."""


class InviteRow(Plain):
    """One invite code in a ``members`` answer."""

    code: str
    issued_by: str
    """``host``, or the wallet of the member who asked for it."""
    max_uses: int
    uses: int
    expires_at: str
    revoked: bool


class Members(ServerMessage):
    """To a host: a community's current members (newest first) and its invite codes (newest first)."""

    type: Literal["members"] = "members"
    community: str
    members: list[MemberRow]
    invites: list[InviteRow]


class SegmentRow(Plain):
    """One RFM segment in a ``report``."""

    segment: str
    members: int
    share: float
    recency_days: float | None
    """Mean days since the last engagement of those who ever engaged."""
    frequency: float | None
    """Mean visits (events and residency shows) in the RFM window."""
    monetary: float | None
    """Mean value of the vouchers redeemed in the window (in ``currency``)."""
    tier: str | None
    """The most common loyalty tier."""


class ReportMessage(ServerMessage):
    """To a host: a community's members by RFM segment (``text``: the same as a readable table)."""

    type: Literal["report"] = "report"
    community: str
    at: str
    """The instant of the figures (RFC 3339, to the microsecond, in the community's time zone)."""
    members: int
    currency: str | None
    segments: list[SegmentRow]
    text: str


class AudienceInvite(Plain):
    """One member's invite code in a ``targeted`` answer."""

    wallet: str
    name: str
    code: str


class Targeted(ServerMessage):
    """To a host: what a ``host_target`` did. Members of the audience who are at the event are also told their
    invite code (a personal ``invite`` event); the rest get it from the host through ``invites``."""

    type: Literal["targeted"] = "targeted"
    community: str
    at: str
    """The instant the audience was drawn at (its members' figures as of then)."""
    members: int
    """Members in the audience."""
    granted: str | None
    """The entitlement awarded to each of them (once per member: a repeat wave awards nobody twice)."""
    invites: list[AudienceInvite]
    """The invite codes handed out, one per member of the audience."""


class PollState(ServerMessage):
    """A poll: to the host that started or closed it (reply), and to visitors as a frame event when it opens."""

    type: Literal["poll"] = "poll"
    poll: str
    question: str
    options: list[str]
    results: PollResults
    closes_at: str | None
    community: str | None
    counts: list[int] | None = None
    """The final counts, in the host's answer to ``host_poll_close`` (None while the poll is open)."""


class ChallengeBrief(Plain):
    """One challenge in a host's ``status``."""

    id: str
    title: str
    phase: Phase
    ballot: Literal["approval", "ranked"]
    entries: int
    """Entries kept (pending, approved and rejected)."""
    pending: int
    """Entries waiting for moderation."""
    approved: int
    featured: bool
    """Whether its results are published."""


class CommunityBrief(Plain):
    """One served community in a host's ``status``."""

    community: str
    name: str
    entry: Literal["invite", "request", "open"]
    members: int
    cap: int
    requests: int
    """Join requests waiting for a decision."""
    challenges: list[ChallengeBrief]


class LivePollRow(Plain):
    """One open poll in a host's ``status``, with its counts so far (hosts see them whatever the poll shows
    visitors)."""

    poll: str
    question: str
    options: list[str]
    results: PollResults
    closes_at: str | None
    community: str | None
    counts: list[int]


# ---- frame events ----------------------------------------------------------------------------------
class PollResultsEvent(ServerMessage):
    """Cell: a poll's counts (live polls about once a second while answers come; every poll when it closes)."""

    type: Literal["poll_results"] = "poll_results"
    poll: str
    counts: list[int]
    final: bool


class PollAnswered(ServerMessage):
    """Personal: my answer is counted."""

    type: Literal["poll_answered"] = "poll_answered"
    poll: str
    option: int


class ChallengePhase(ServerMessage):
    """Cell: a challenge of the event's community moved to another phase."""

    type: Literal["phase"] = "phase"
    community: str
    challenge: str
    phase: Phase


class FeaturedEntry(Plain):
    """One featured entry."""

    entry: int
    title: str
    by: str
    rank: int


class FeaturedEvent(ServerMessage):
    """Cell: a closed challenge's featured entries, by rank."""

    type: Literal["featured"] = "featured"
    community: str
    challenge: str
    entries: list[FeaturedEntry]


class EntryModerated(ServerMessage):
    """Personal: my entry was approved or rejected (with the moderator's reason)."""

    type: Literal["entry_moderated"] = "entry_moderated"
    entry: int
    status: Literal["approved", "rejected"]
    reason: str | None


class MembershipChanged(ServerMessage):
    """Personal: a host decided my join request, gave me another role, or banned me from the community."""

    type: Literal["membership"] = "membership"
    community: str
    status: Literal["member", "refused", "banned"]
    role: str | None
    reason: str | None


class TierReached(ServerMessage):
    """Personal: my engagement reached a loyalty tier."""

    type: Literal["tier"] = "tier"
    community: str
    tier: str
    name: str
    perks: list[str]


COMMUNITY_REPLIES = (CommunityState, InviteIssued, UploadReady, EntryReceived, VoteRecorded, Gallery, EntryImage,
                     Requests, Members, ReportMessage, Targeted, PollState)
COMMUNITY_EVENTS = (PollState, PollResultsEvent, PollAnswered, ChallengePhase, FeaturedEvent, EntryModerated,
                    MembershipChanged, TierReached, InviteIssued)
