"""What a community keeps: members, invites, join requests, the engagement log, challenge entries,
moderation, ballots, results, polls and answers. The interface the live event talks to, and
the records it returns; one module per backend implements it (SQLite: :mod:`server.storage.community_sqlite`).

Every write method is one transaction, durable when it returns (so the server acknowledges a
join, an entry, a vote or an answer only after it is safe), and safe under concurrency: the
checks that guard it (the member cap, one ballot per member, one answer per wallet, an
invite's uses) happen inside that transaction. Writes are called from one writer thread; reads
may come from others. Times are Unix seconds (UTC). A refusal raises :class:`CommunityRefusal`
with a short reason code from :data:`REFUSALS` and a message for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from showroom.errors import ShowroomError

MemberStatus = Literal["member", "left", "banned"]
RequestStatus = Literal["pending", "approved", "refused"]
EntryStatus = Literal["pending", "approved", "rejected"]
Phase = Literal["draft", "submissions", "review", "voting", "closed"]
PollResults = Literal["live", "on_close"]

Refusal = Literal[
    "full",              # the community has its cap of members
    "banned",            # this wallet is banned from the community
    "already_member",    # join or request by a member
    "not_member",        # an action that needs membership
    "unknown_invite",    # no such invite code in this community
    "invite_expired",    # the invite's time is over
    "invite_used_up",    # the invite has had its uses
    "invite_revoked",    # the host withdrew the invite
    "no_request",        # no pending join request from this wallet
    "too_many_entries",  # more entries in a challenge than the community allows per member
    "unknown_entry",     # no such entry in this community
    "already_decided",   # an entry or request moderated twice with a contradicting decision
    "already_voted",     # a second ballot in one challenge
    "already_answered",  # a second answer to one poll
    "unknown_poll",      # no such poll
    "poll_closed",       # an answer after the poll closed
    "bad_option",        # an answer outside the poll's options
]
REFUSALS: tuple[str, ...] = get_args(Refusal)
"""Reason codes of :class:`CommunityRefusal`, each a word a client can act on."""


class CommunityRefusal(ShowroomError):
    """A write the community's rules refuse; ``reason`` is one of :data:`REFUSALS`."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Member:
    """A wallet's membership of a community (the latest state; the history stays in the store)."""

    community: str
    wallet: str
    name: str
    role: str
    status: MemberStatus
    joined_at: float
    invite: str | None
    """The invite code used to join, if any."""


@dataclass(frozen=True)
class Invite:
    """An invite code: ``uses`` of ``max_uses`` taken, valid until ``expires_at``."""

    community: str
    code: str
    issued_by: str
    """A member's wallet, or ``"host"``."""
    max_uses: int
    uses: int
    expires_at: float
    revoked: bool
    created_at: float


@dataclass(frozen=True)
class JoinRequest:
    """A request to join a ``request``-entry community, and what became of it."""

    community: str
    wallet: str
    name: str
    status: RequestStatus
    at: float
    decided_by: str | None
    reason: str | None


@dataclass(frozen=True)
class Engagement:
    """One row of a community's append-only engagement log."""

    seq: int
    community: str
    wallet: str
    kind: str
    """An engagement kind of the community format (attended_minute, selfie, reaction, entry, vote,
    poll_answer, redemption, residency_visit)."""
    amount: float
    at: float
    ref: str
    """What it refers to (an event id, an entry id, a poll id, a ledger seq): with (wallet, kind),
    a key that makes logging the same happening twice harmless."""


@dataclass(frozen=True)
class Entry:
    """A challenge entry: a re-encoded image with a title, and its moderation status."""

    id: int
    community: str
    challenge: str
    wallet: str
    title: str
    status: EntryStatus
    reason: str | None
    """Why it was rejected (a moderator's words)."""
    at: float
    sha256: str
    """Of the stored (re-encoded) image."""
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class Moderation:
    """One moderator's action on an entry, kept for good."""

    entry: int
    action: Literal["approve", "reject"]
    by: str
    reason: str | None
    at: float


@dataclass(frozen=True)
class Ballot:
    """A member's ballot in a challenge: approved entry ids (approval) or preferences in order (ranked)."""

    community: str
    challenge: str
    wallet: str
    choices: tuple[int, ...]
    at: float


@dataclass(frozen=True)
class Featured:
    """A featured entry of a closed challenge, with its rank (1 = first)."""

    community: str
    challenge: str
    entry: int
    rank: int
    at: float


@dataclass(frozen=True)
class Poll:
    """A poll: of an event (live during a show) or of a community (between events)."""

    id: str
    scope: Literal["event", "community"]
    owner: str
    """The event id or the community id."""
    question: str
    options: tuple[str, ...]
    results: PollResults
    opened_at: float
    closes_at: float | None
    closed_at: float | None


@dataclass(frozen=True)
class Answer:
    """A wallet's answer to a poll."""

    poll: str
    wallet: str
    option: int
    at: float


class CommunityStore(Protocol):
    """Members, invites, requests, engagement, challenges and polls of every community on a server."""

    # ---- membership ------------------------------------------------------------------------
    def join(self, community: str, wallet: str, name: str, *, cap: int, role: str, invite: str | None,
             now: float) -> Member:
        """Make ``wallet`` a member: with ``invite`` its code is checked and one use taken, and the
        cap is checked, all in one transaction. Refuses full, banned, already_member and the
        invite reasons. A member who left may join again (a new membership)."""

    def leave(self, community: str, wallet: str, now: float) -> Member:
        """End a membership (not_member if there is none)."""

    def ban(self, community: str, wallet: str, by: str, now: float) -> Member:
        """End a membership for good: the wallet may not join or request again."""

    def member(self, community: str, wallet: str) -> Member | None:
        """The wallet's membership (the latest, whatever its status), or None."""

    def members(self, community: str) -> list[Member]:
        """Current members, in the order they joined."""

    def count(self, community: str) -> int:
        """How many current members."""

    def set_role(self, community: str, wallet: str, role: str, now: float) -> Member:
        """Give a member another role."""

    # ---- invites and requests ----------------------------------------------------------------
    def create_invite(self, community: str, code: str, *, issued_by: str, max_uses: int, expires_at: float,
                      now: float) -> Invite:
        """A new invite code (codes are unique per community; a clash is a ValueError: draw another)."""

    def create_invites(self, community: str, issued: Sequence[tuple[str, str]], *, max_uses: int, expires_at: float,
                       now: float) -> list[Invite]:
        """Several invite codes at once, all or none, as (code, issued_by) pairs (a host's invite wave)."""

    def revoke_invite(self, community: str, code: str, now: float) -> Invite:
        """Withdraw an invite (unknown_invite if there is none)."""

    def invites(self, community: str) -> list[Invite]:
        """Every invite of the community, newest first."""

    def request_join(self, community: str, wallet: str, name: str, now: float) -> JoinRequest:
        """Ask to join (a repeat returns the pending request); refuses banned and already_member."""

    def decide_request(self, community: str, wallet: str, *, approve: bool, by: str, reason: str | None,
                       cap: int, role: str, now: float) -> JoinRequest:
        """Approve (the wallet joins, under the cap, in the same transaction) or refuse a pending request."""

    def requests(self, community: str, status: RequestStatus | None = "pending") -> list[JoinRequest]:
        """Join requests, oldest first."""

    # ---- engagement --------------------------------------------------------------------------
    def log(self, community: str, wallet: str, kind: str, amount: float, ref: str, now: float) -> Engagement:
        """Append to the engagement log; logging the same (community, wallet, kind, ref) again returns the first row."""

    def engagement(self, community: str, since_seq: int = -1) -> list[Engagement]:
        """The log after ``since_seq``, in order."""

    # ---- challenges --------------------------------------------------------------------------
    def set_phase(self, community: str, challenge: str, phase: Phase, by: str, now: float) -> None:
        """A host's override of a challenge's phase (kept, so a restart resumes it)."""

    def phases(self, community: str) -> dict[str, tuple[Phase, float]]:
        """The overridden phase of each challenge, and when it was set."""

    def submit(self, community: str, challenge: str, wallet: str, title: str, image: bytes, *, sha256: str,
               width: int, height: int, max_per_member: int, now: float) -> Entry:
        """Store an entry (the image already re-encoded); refuses not_member and too_many_entries."""

    def moderate(self, entry: int, action: Literal["approve", "reject"], by: str, reason: str | None,
                 now: float) -> Entry:
        """Approve or reject an entry; every action is kept as a :class:`Moderation`."""

    def moderation(self, entry: int) -> list[Moderation]:
        """Every action on an entry, oldest first."""

    def entries(self, community: str, challenge: str, status: EntryStatus | None = None) -> list[Entry]:
        """Entries of a challenge, in submission order."""

    def image(self, entry: int) -> bytes:
        """The stored image of an entry (the re-encoded JPEG)."""

    def vote(self, community: str, challenge: str, wallet: str, choices: tuple[int, ...], now: float) -> Ballot:
        """Record a member's one ballot in a challenge; refuses not_member and already_voted (the
        checks that need the challenge's entries, such as own entries, are the caller's)."""

    def ballots(self, community: str, challenge: str) -> list[Ballot]:
        """Every ballot of a challenge, in the order they were cast."""

    def feature(self, community: str, challenge: str, ranking: list[int], now: float) -> list[Featured]:
        """Publish a closed challenge's featured entries (ranks 1..K); a repeat returns the first result."""

    def featured(self, community: str, challenge: str) -> list[Featured]:
        """The published featured entries, by rank (empty before publishing)."""

    # ---- polls ----------------------------------------------------------------------------------
    def open_poll(self, poll: Poll) -> Poll:
        """Keep a new poll (ids are unique; a repeat with the same id returns the first)."""

    def close_poll(self, poll: str, now: float) -> Poll:
        """Close a poll (a repeat keeps the first closing time)."""

    def polls(self, owner: str, open_only: bool = False) -> list[Poll]:
        """The polls of an event or community, oldest first."""

    def poll(self, poll: str) -> Poll | None:
        """One poll by id."""

    def answer(self, poll: str, wallet: str, option: int, now: float) -> Answer:
        """Record a wallet's one answer; refuses unknown_poll, poll_closed, bad_option and already_answered."""

    def tally(self, poll: str) -> list[int]:
        """Answers per option."""

    def answers(self, poll: str) -> list[Answer]:
        """Every answer of a poll, in order (for export)."""

    def close(self) -> None:
        """Close the store."""
