"""Membership of the communities a server serves: joins (open, with an invite, or approved
requests) under the member cap, leaving, bans, invites; and the member caches the event reads
to admit visitors to members-only shows.

Sans-I/O: every write goes to the store on the ``store`` lane, and the cache and the answer
follow only once it is durable. The cap is the store's to keep (one transaction per join), so
racing joiners can never push a community past it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from server.event.community.rules import CommunityRules
from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_store import CommunityRefusal, CommunityStore, Invite, JoinRequest, Member
from showroom.protocol.errors import ErrorCode, ProtocolError

Fault = Callable[[ErrorCode, str], None]
T = TypeVar("T")

HOST = "host"
"""Who a host's actions are recorded as."""


@dataclass
class Roster:
    """What the event keeps in memory of one community: current members, banned and pending wallets."""

    rules: CommunityRules
    members: dict[str, Member] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    joining: set[str] = field(default_factory=set)
    """Wallets whose join or request is being written."""


def refused(exc: BaseException) -> tuple[ErrorCode, str]:
    """The error a client gets for a failed community write."""
    if isinstance(exc, CommunityRefusal):
        return ErrorCode.REFUSED, f"{exc.reason}: {exc}"
    return ErrorCode.REFUSED, f"store: {exc}"


def applied(fault: Fault, apply: Callable[[T], None]) -> Callable[[Outcome[T]], None]:
    """An outcome handler: ``apply`` the stored result, or answer the refusal through ``fault``."""
    def done(outcome: Outcome[T]) -> None:
        if outcome.error is not None:
            fault(*refused(outcome.error))
        else:
            apply(outcome.get())
    return done


class Membership:
    """Joins, requests, leaving, bans and invites of every community the event serves."""

    def __init__(self, rosters: dict[str, Roster], store: CommunityStore, jobs: Jobs) -> None:
        self.rosters = rosters
        self.store = store
        self.jobs = jobs

    def load(self) -> None:
        """Fill the caches from the store (at start: at most 500 members a community)."""
        for community, roster in self.rosters.items():
            roster.members = {m.wallet: m for m in self.store.members(community)}
            roster.pending = {r.wallet for r in self.store.requests(community)}

    def roster(self, community: str) -> Roster:
        """A served community's roster, or a ProtocolError naming the known ones."""
        roster = self.rosters.get(community)
        if roster is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                f"unknown community {community!r} (known: {', '.join(self.rosters) or 'none'})")
        return roster

    def is_member(self, community: str, wallet: str) -> bool:
        """Whether ``wallet`` is a current member (from the cache)."""
        roster = self.rosters.get(community)
        return roster is not None and wallet in roster.members

    def name(self, community: str, wallet: str) -> str:
        """A member's display name (``a member`` for a wallet that is no longer one)."""
        member = self.rosters[community].members.get(wallet)
        return "a member" if member is None else member.name

    def status(self, community: str, wallet: str) -> str:
        """member, pending, left, banned or none."""
        roster = self.roster(community)
        if wallet in roster.members:
            return "member"
        if wallet in roster.banned:
            return "banned"
        if wallet in roster.pending:
            return "pending"
        latest = self.store.member(community, wallet)  # one row: a former member's last state
        if latest is not None and latest.status == "banned":
            roster.banned.add(wallet)
        return "none" if latest is None else latest.status

    def may(self, community: str, wallet: str, ability: str) -> bool:
        """Whether a member's role has ``ability`` (invite, approve, moderate, feature, poll, ban)."""
        roster = self.roster(community)
        member = roster.members.get(wallet)
        return member is not None and ability in roster.rules.abilities.get(member.role, frozenset())

    # ---- joining --------------------------------------------------------------------------
    def join(self, community: str, wallet: str, name: str, invite: str | None, wall: float,
             then: Callable[[Member], None], fault: Fault) -> None:
        """Join directly (open entry, or with an invite code); ``then`` gets the membership once durable."""
        roster = self.roster(community)
        if wallet in roster.members:
            then(roster.members[wallet])
            return
        if invite is None and roster.rules.entry != "open":
            how = "send community_request and wait for a host" if roster.rules.entry == "request" else "join with an invite code"
            raise ProtocolError(ErrorCode.REFUSED, f"invite_only: {roster.rules.name} is {roster.rules.entry}-only: {how}")
        self._once(roster, wallet)

        def joined(outcome: Outcome[Member]) -> None:
            roster.joining.discard(wallet)
            if outcome.error is not None:
                if isinstance(outcome.error, CommunityRefusal) and outcome.error.reason == "banned":
                    roster.banned.add(wallet)
                fault(*refused(outcome.error))
                return
            member = outcome.get()
            roster.members[wallet] = member
            roster.pending.discard(wallet)
            then(member)
        self._submit(lambda: self.store.join(community, wallet, name, cap=roster.rules.cap,
                                             role=roster.rules.default_role, invite=invite, now=wall), joined,
                     roster, wallet)

    def request(self, community: str, wallet: str, name: str, wall: float, then: Callable[[JoinRequest], None],
                fault: Fault) -> None:
        """Ask to join a request-entry community."""
        roster = self.roster(community)
        if wallet in roster.members:
            raise ProtocolError(ErrorCode.REFUSED, f"already_member: you are a member of {roster.rules.name}")
        if roster.rules.entry == "invite":
            raise ProtocolError(ErrorCode.REFUSED, f"invite_only: {roster.rules.name} takes members by invite only")
        self._once(roster, wallet)

        def asked(outcome: Outcome[JoinRequest]) -> None:
            roster.joining.discard(wallet)
            if outcome.error is not None:
                fault(*refused(outcome.error))
                return
            roster.pending.add(wallet)
            then(outcome.get())
        self._submit(lambda: self.store.request_join(community, wallet, name, wall), asked, roster, wallet)

    def decide(self, community: str, wallet: str, approve: bool, reason: str | None, wall: float,
               then: Callable[[JoinRequest], None], fault: Fault) -> None:
        """A host approves (the wallet joins, under the cap) or refuses a pending request."""
        roster = self.roster(community)

        def decided(request: JoinRequest) -> None:
            roster.pending.discard(wallet)
            if request.status == "approved":
                member = self.store.member(community, wallet)
                if member is not None:
                    roster.members[wallet] = member
            then(request)
        self._submit(lambda: self.store.decide_request(community, wallet, approve=approve, by=HOST, reason=reason,
                                                       cap=roster.rules.cap, role=roster.rules.default_role,
                                                       now=wall), applied(fault, decided))

    def leave(self, community: str, wallet: str, wall: float, then: Callable[[Member], None], fault: Fault) -> None:
        """End a membership."""
        roster = self.roster(community)
        if wallet not in roster.members:
            raise ProtocolError(ErrorCode.REFUSED, f"not_member: you are not a member of {roster.rules.name}")

        def left(member: Member) -> None:
            roster.members.pop(wallet, None)
            then(member)
        self._submit(lambda: self.store.leave(community, wallet, wall), applied(fault, left))

    def ban(self, community: str, wallet: str, wall: float, then: Callable[[Member], None], fault: Fault) -> None:
        """A host bans a wallet for good: its membership ends and a pending request is refused."""
        roster = self.roster(community)

        def banned(member: Member) -> None:
            roster.members.pop(wallet, None)
            roster.pending.discard(wallet)
            roster.banned.add(wallet)
            then(member)
        self._submit(lambda: self.store.ban(community, wallet, HOST, wall), applied(fault, banned))

    def set_role(self, community: str, wallet: str, role: str, wall: float, then: Callable[[Member], None],
                 fault: Fault) -> None:
        """A host gives a member another role of the community file."""
        roster = self.roster(community)
        if role not in roster.rules.abilities:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET,
                                f"unknown role {role!r} (roles of {roster.rules.name}: {', '.join(roster.rules.abilities)})")
        if wallet not in roster.members:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"{wallet} is not a member of {roster.rules.name}")

        def changed(member: Member) -> None:
            roster.members[wallet] = member
            then(member)
        self._submit(lambda: self.store.set_role(community, wallet, role, wall), applied(fault, changed))

    # ---- invites ----------------------------------------------------------------------------
    def invite(self, community: str, issued_by: str, max_uses: int | None, days: float | None, wall: float,
               then: Callable[[Invite], None], fault: Fault) -> None:
        """Issue an invite code within the community's limits (a member's role must allow it)."""
        roster = self.roster(community)
        if issued_by != HOST and not self.may(community, issued_by, "invite"):
            raise ProtocolError(ErrorCode.FORBIDDEN, f"your role in {roster.rules.name} may not invite")
        uses = min(max_uses or roster.rules.invite_max_uses, roster.rules.invite_max_uses)
        expires = wall + 86400.0 * min(days or roster.rules.invite_max_days, roster.rules.invite_max_days)

        def issued(outcome: Outcome[Invite]) -> None:
            if isinstance(outcome.error, ValueError):  # a code clash: draw another
                self.invite(community, issued_by, max_uses, days, wall, then, fault)
            elif outcome.error is not None:
                fault(*refused(outcome.error))
            else:
                then(outcome.get())
        code = secrets.token_urlsafe(9)
        self._submit(lambda: self.store.create_invite(community, code, issued_by=issued_by, max_uses=uses,
                                                      expires_at=expires, now=wall), issued)

    def revoke(self, community: str, code: str, wall: float, then: Callable[[Invite], None], fault: Fault) -> None:
        """Withdraw an invite code (who joined with it stays a member)."""
        self.roster(community)
        self._submit(lambda: self.store.revoke_invite(community, code, wall), applied(fault, then))

    def invites(self, community: str, then: Callable[[list[Invite]], None], fault: Fault) -> None:
        """The community's invite codes, newest first, read on the store lane."""
        self.roster(community)
        self._submit(lambda: self.store.invites(community), applied(fault, then))

    def _once(self, roster: Roster, wallet: str) -> None:
        if wallet in roster.joining:
            raise ProtocolError(ErrorCode.RATE_LIMITED, "your last join or request is still being written")
        if wallet in roster.banned:
            raise ProtocolError(ErrorCode.REFUSED, f"banned: you are banned from {roster.rules.name}")
        roster.joining.add(wallet)

    def _submit(self, work: Callable[[], T], done: Callable[[Outcome[T]], None], roster: Roster | None = None,
                wallet: str = "") -> None:
        try:
            hand_over(self.jobs, "store", work, done)
        except ProtocolError:
            if roster is not None:
                roster.joining.discard(wallet)
            raise
