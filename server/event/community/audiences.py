"""A host's read of a community's members, and the audiences cut from it.

``report``: every current member by RFM segment with loyalty, the same figures as
``showroom community report`` (:mod:`server.storage.community_report`), computed from the
store and the ledger on the ``store`` lane, never on the event loop.

``target``: the members in some segments, from a tier up, on a streak of some weeks (every
criterion given must hold: an audience is a filter, recomputed from the log each time), then
an entitlement for each of them through the event's reward path (a voucher, early access, a
pass: once per member, however many waves), an invite code for each of them to hand on (an
invite wave: issued in the member's name, within the community's invite limits), or both.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from server.event.community.membership import Fault, Membership
from server.event.community.polls import iso
from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_report import CommunityReport, report_text
from server.storage.community_store import CommunityStore, Invite, Member
from showroom.community.model import Community
from showroom.community.rfm import select_audience
from showroom.protocol.community import AudienceInvite, HostTarget, InviteIssued, ReportMessage, SegmentRow, Targeted
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import ServerMessage

ReportOf = Callable[[Community, dt.datetime], CommunityReport]
"""Computes a community's report as of an instant (blocking: it reads the data directory)."""

CODE_DRAWS = 3
"""Invite waves drawn before a clash of codes (72 random bits each) is reported as an error."""


def report_message(report: CommunityReport) -> ReportMessage:
    """A report as the ``report`` message carries it."""
    return ReportMessage(
        community=report.community.community.id, at=report.at.isoformat(),
        members=len(report.members), currency=report.currency, text=report_text(report),
        segments=[SegmentRow(segment=str(s.segment), members=s.members, share=round(s.share, 4),
                             recency_days=_rounded(s.mean_recency_days), frequency=_rounded(s.mean_frequency),
                             monetary=_rounded(s.mean_monetary), tier=s.typical_tier)
                  for s in report.segments()])


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


@dataclass(frozen=True)
class Reached:
    """An audience as the store lane found it: its members and the invite codes issued to them."""

    members: list[Member]
    invites: list[Invite]


class Audiences:
    """Reports and targeting for every community the event serves."""

    def __init__(self, membership: Membership, store: CommunityStore, jobs: Jobs, report_of: ReportOf,
                 grant: Callable[[str, str], None], personal: Callable[[str, ServerMessage], None]) -> None:
        self.membership = membership
        self.store = store
        self.jobs = jobs
        self.report_of = report_of
        self.grant = grant
        self.personal = personal

    def report(self, community: str, wall: float, reply: Callable[[ServerMessage], None], fault: Fault) -> None:
        """Answer with the community's report as of ``wall``."""
        rules = self.membership.roster(community).rules
        at = dt.datetime.fromtimestamp(wall, rules.zone)

        def done(outcome: Outcome[CommunityReport]) -> None:
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"report: {outcome.error}")
            else:
                reply(report_message(outcome.get()))
        hand_over(self.jobs, "store", lambda: self.report_of(rules.model, at), done)

    def target(self, m: HostTarget, wall: float, reply: Callable[[ServerMessage], None], fault: Fault) -> None:
        """Grant an entitlement, hand out invite codes, or both, to an audience; answered with ``targeted``."""
        rules = self.membership.roster(m.community).rules
        if m.grant is None and m.invites is None:
            raise ProtocolError(ErrorCode.INVALID, "host_target needs grant (an entitlement id), invites (uses of "
                                                   "each member's code), or both")
        entitlements = [e.id for e in rules.model.entitlements]
        if m.grant is not None and m.grant not in entitlements:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"{rules.name} defines no entitlement {m.grant!r} "
                                                          f"(its entitlements: {', '.join(entitlements) or 'none'})")
        tiers = [t.id for t in rules.tiers]
        if m.min_tier is not None and m.min_tier not in tiers:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"{rules.name} has no tier {m.min_tier!r} "
                                                          f"(its tiers: {', '.join(tiers) or 'none'})")
        at = dt.datetime.fromtimestamp(wall, rules.zone)
        uses = None if m.invites is None else min(m.invites, rules.invite_max_uses)
        expires = wall + 86400.0 * rules.invite_max_days

        def reach() -> Reached:
            report = self.report_of(rules.model, at)
            chosen = select_audience(segment=report.scores.segment, segments=m.segments,
                                     tier=report.loyalty.tier,
                                     min_tier=None if m.min_tier is None else tiers.index(m.min_tier),
                                     streak=report.loyalty.streak, min_streak=m.min_streak)
            members = [report.members[i] for i in chosen]
            if uses is None or not members:
                return Reached(members, [])
            for draw in range(CODE_DRAWS):
                wave = [(secrets.token_urlsafe(9), member.wallet) for member in members]
                try:
                    return Reached(members, self.store.create_invites(m.community, wave, max_uses=uses,
                                                                      expires_at=expires, now=wall))
                except ValueError:
                    if draw == CODE_DRAWS - 1:
                        raise
            raise AssertionError("unreachable")

        def reached(outcome: Outcome[Reached]) -> None:
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"target: {outcome.error}")
                return
            found = outcome.get()
            if m.grant is not None:
                for member in found.members:
                    self.grant(rules.audience_rule(m.grant), member.wallet)
            for invite in found.invites:
                self.personal(invite.issued_by, InviteIssued(community=m.community, code=invite.code,
                                                             max_uses=invite.max_uses, expires_at=iso(invite.expires_at)))
            names = {member.wallet: member.name for member in found.members}
            reply(Targeted(community=m.community, at=at.isoformat(), members=len(found.members), granted=m.grant,
                           invites=[AudienceInvite(wallet=i.issued_by, name=names[i.issued_by], code=i.code)
                                    for i in found.invites]))
        hand_over(self.jobs, "store", reach, reached)
