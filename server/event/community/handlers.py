"""A session's community messages: each type's handler, for visitors (who have a wallet) and hosts.

The session's tables (:mod:`server.event.session`) take these in. A handler checks what it can
at once and raises :class:`ProtocolError`; what needs the store answers later, through the
session (``reply``) or as an error (``fault``), once the work is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from server.event.community.audiences import Audiences
from server.event.community.hub import Communities
from server.event.community.membership import HOST
from server.event.seats import Member
from server.event.shard import Shard
from showroom.protocol import community as cm
from showroom.protocol.base import Message
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import HostOk, ServerMessage

if TYPE_CHECKING:
    from server.event.session import Session


def hub(session: Session) -> Communities:
    """The event's communities, or the error a server without them answers."""
    communities = session.event.communities
    if communities is None:
        raise ProtocolError(ErrorCode.NO_STORE,
                            "this server runs no communities (serve it with a data directory and community files)")
    return communities


def _fault(session: Session, ref: str, now: float) -> Callable[[ErrorCode, str], None]:
    return lambda code, message: session.fault(code, message, ref, now)


def _host_ok(session: Session, ref: str) -> Callable[[], None]:
    return lambda: session.reply(HostOk(ref=ref, t=round(session.event.show_t, 3), cue=session.event.cue_now()))


# ---- visitors (with an avatar, so with a wallet) ------------------------------------------------------
def community_join(session: Session, m: cm.CommunityJoin, member: Member, shard: Shard, now: float) -> None:
    """Join a community (open, or with an invite code)."""
    hub(session).join(m.community, member.wallet, member.name, m.invite, session.event.wall_time(now),
                      session.reply, _fault(session, m.type, now))


def community_request(session: Session, m: cm.CommunityRequest, member: Member, shard: Shard, now: float) -> None:
    """Ask to join a request-entry community."""
    hub(session).request(m.community, member.wallet, member.name, session.event.wall_time(now), session.reply,
                         _fault(session, m.type, now))


def community_leave(session: Session, m: cm.CommunityLeave, member: Member, shard: Shard, now: float) -> None:
    """Leave a community."""
    hub(session).leave(m.community, member.wallet, session.event.wall_time(now), session.reply,
                       _fault(session, m.type, now))


def community_state(session: Session, m: cm.CommunityAsk, member: Member, shard: Shard, now: float) -> None:
    """A community as it concerns me."""
    hub(session).answer_state(m.community, member.wallet, session.event.wall_time(now), session.reply,
                              _fault(session, m.type, now))


def invite_create(session: Session, m: cm.InviteCreate, member: Member, shard: Shard, now: float) -> None:
    """An invite code from a member whose role may invite."""
    hub(session).invite(m.community, member.wallet, m.max_uses, m.days, session.event.wall_time(now), session.reply,
                        _fault(session, m.type, now))


def entry_start(session: Session, m: cm.EntryStart, member: Member, shard: Shard, now: float) -> None:
    """Open an upload for a challenge entry."""
    session.reply(hub(session).contests.start_upload(id(session), m.community, m.challenge, member.wallet, m.title,
                                                     m.size, session.event.wall_time(now)))


def entry_part(session: Session, m: cm.EntryPart, member: Member, shard: Shard, now: float) -> None:
    """One part of an upload (no answer unless it is refused)."""
    hub(session).contests.part(id(session), m.upload, m.index, m.data, session.event.wall_time(now))


def entry_done(session: Session, m: cm.EntryDone, member: Member, shard: Shard, now: float) -> None:
    """The last part is in: keep the entry."""
    hub(session).submit_done(id(session), m.upload, member.wallet, session.event.wall_time(now), session.reply,
                             _fault(session, m.type, now))


def vote(session: Session, m: cm.Vote, member: Member, shard: Shard, now: float) -> None:
    """My ballot."""
    hub(session).vote(m.community, m.challenge, member.wallet, list(m.choices), session.event.wall_time(now),
                      session.reply, _fault(session, m.type, now))


def _viewer(session: Session) -> str | None:
    """Whose eyes: a visitor's wallet, or None for a host (who sees every entry, pending and rejected too)."""
    return None if session.role == "host" or session.member is None else session.member.wallet


def gallery(session: Session, m: cm.GalleryAsk, now: float) -> None:
    """A challenge's entries as I may see them (approved ones and my own; everything for a host)."""
    session.reply(hub(session).gallery(m.community, m.challenge, _viewer(session), session.event.wall_time(now)))


def entry_image(session: Session, m: cm.ImageAsk, now: float) -> None:
    """An entry's image (approved ones and my own; every entry for a host, who moderates them)."""
    hub(session).image(m.entry, _viewer(session), session.reply, _fault(session, m.type, now))


def poll_answer(session: Session, m: cm.PollAnswer, member: Member, shard: Shard, now: float) -> None:
    """My answer to a poll; confirmed with a personal ``poll_answered`` event."""
    communities = hub(session)
    wall = session.event.wall_time(now)

    def counted(event: ServerMessage) -> None:
        member.events.append(event)
        communities.answered(member.wallet, wall, m.poll)
    communities.polls.answer(m.poll, m.option, member.wallet, wall, counted, _fault(session, m.type, now))


VISITOR_HANDLERS: dict[type[Message], Callable[[Session, Any, Member, Shard, float], None]] = {
    cm.CommunityJoin: community_join,
    cm.CommunityRequest: community_request,
    cm.CommunityLeave: community_leave,
    cm.CommunityAsk: community_state,
    cm.InviteCreate: invite_create,
    cm.EntryStart: entry_start,
    cm.EntryPart: entry_part,
    cm.EntryDone: entry_done,
    cm.Vote: vote,
    cm.PollAnswer: poll_answer,
}
"""Community messages from visitors and bots."""

ANYONE_HANDLERS: dict[type[Message], Callable[[Session, Any, float], None]] = {
    cm.GalleryAsk: gallery,
    cm.ImageAsk: entry_image,
}
"""Community messages hosts may send too."""


# ---- hosts -----------------------------------------------------------------------------------------
def host_invite(session: Session, m: cm.HostInvite, now: float) -> None:
    """An invite code issued by the host."""
    hub(session).invite(m.community, HOST, m.max_uses, m.days, session.event.wall_time(now), session.reply,
                        _fault(session, m.type, now))


def host_requests(session: Session, m: cm.HostRequests, now: float) -> None:
    """The pending join requests."""
    session.reply(hub(session).requests(m.community))


def host_decide(session: Session, m: cm.HostDecide, now: float) -> None:
    """Approve or refuse a join request."""
    hub(session).decide(m.community, m.wallet, m.approve, m.reason, session.event.wall_time(now),
                        _host_ok(session, m.type), _fault(session, m.type, now))


def host_role(session: Session, m: cm.HostRole, now: float) -> None:
    """Give a member another role."""
    hub(session).set_role(m.community, m.wallet, m.role, session.event.wall_time(now), _host_ok(session, m.type),
                          _fault(session, m.type, now))


def host_expel(session: Session, m: cm.HostExpel, now: float) -> None:
    """Ban a wallet from a community."""
    hub(session).expel(m.community, m.wallet, session.event.wall_time(now), _host_ok(session, m.type),
                       _fault(session, m.type, now))


def host_members(session: Session, m: cm.HostMembers, now: float) -> None:
    """The members and invite codes of a community."""
    hub(session).members(m.community, session.reply, _fault(session, m.type, now))


def host_revoke(session: Session, m: cm.HostRevoke, now: float) -> None:
    """Withdraw an invite code."""
    done = _host_ok(session, m.type)
    hub(session).membership.revoke(m.community, m.code, session.event.wall_time(now), lambda invite: done(),
                                   _fault(session, m.type, now))


def _audiences(session: Session) -> Audiences:
    audiences = hub(session).audiences
    if audiences is None:
        raise ProtocolError(ErrorCode.NO_STORE, "this server keeps no ledger to report on communities from")
    return audiences


def host_report(session: Session, m: cm.HostReport, now: float) -> None:
    """The community's members by RFM segment, with loyalty."""
    _audiences(session).report(m.community, session.event.wall_time(now), session.reply, _fault(session, m.type, now))


def host_target(session: Session, m: cm.HostTarget, now: float) -> None:
    """An entitlement or an invite wave for an audience."""
    _audiences(session).target(m, session.event.wall_time(now), session.reply, _fault(session, m.type, now))


def host_phase(session: Session, m: cm.HostPhase, now: float) -> None:
    """Move a challenge to a phase now."""
    hub(session).contests.set_phase(m.community, m.challenge, m.phase, session.event.wall_time(now),
                                    _host_ok(session, m.type), _fault(session, m.type, now))


def host_moderate(session: Session, m: cm.HostModerate, now: float) -> None:
    """Approve or reject an entry."""
    hub(session).moderate(m.entry, m.approve, m.reason, session.event.wall_time(now), _host_ok(session, m.type),
                          _fault(session, m.type, now))


def host_entries(session: Session, m: cm.HostEntries, now: float) -> None:
    """Every entry of a challenge with its status."""
    session.reply(hub(session).gallery(m.community, m.challenge, None, session.event.wall_time(now)))


def host_feature(session: Session, m: cm.HostFeature, now: float) -> None:
    """Publish a closed challenge's featured entries."""
    hub(session).feature(m.community, m.challenge, session.event.wall_time(now), _host_ok(session, m.type),
                         _fault(session, m.type, now))


def host_poll(session: Session, m: cm.HostPoll, now: float) -> None:
    """Start a poll in every shard."""
    communities = hub(session)
    if m.community is not None:
        communities.membership.roster(m.community)
    communities.polls.start(m.question, list(m.options), m.results, m.seconds, m.community,
                            session.event.wall_time(now), session.reply, _fault(session, m.type, now))


def host_poll_close(session: Session, m: cm.HostPollClose, now: float) -> None:
    """Close a poll now."""
    hub(session).polls.close(m.poll, session.event.wall_time(now), session.reply, _fault(session, m.type, now))


HOST_HANDLERS: dict[type[Message], Callable[[Session, Any, float], None]] = {
    cm.HostInvite: host_invite,
    cm.HostRequests: host_requests,
    cm.HostDecide: host_decide,
    cm.HostRole: host_role,
    cm.HostExpel: host_expel,
    cm.HostMembers: host_members,
    cm.HostRevoke: host_revoke,
    cm.HostReport: host_report,
    cm.HostTarget: host_target,
    cm.HostPhase: host_phase,
    cm.HostModerate: host_moderate,
    cm.HostEntries: host_entries,
    cm.HostFeature: host_feature,
    cm.HostPoll: host_poll,
    cm.HostPollClose: host_poll_close,
}
"""Community messages only a host may send."""
