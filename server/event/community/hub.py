"""The communities an event serves, as one facade for the sessions and the event: membership,
challenges, polls and loyalty, each in its own module, wired to the event's shards, its
visitors and its reward path.

Sans-I/O like the rest of ``server.event``: times come in as arguments (``wall``: Unix
seconds), blocking work goes through :class:`~server.event.jobs.Jobs`, and answers go back
through the callbacks each request brings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from server.event.community.audiences import Audiences, ReportOf
from server.event.community.contests import Contests, received
from server.event.community.loyalty_live import Loyalty
from server.event.community.membership import Fault, Membership, Roster
from server.event.community.polls import Polls, iso, state_of
from server.event.community.rules import CommunityRules
from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_store import CommunityStore, Entry, Invite, Poll
from showroom.community.model import Community
from showroom.community.schedule import next_occurrence
from showroom.protocol.community import (
    ChallengeBrief,
    ChallengeInfo,
    ChallengePhase,
    CommunityBrief,
    CommunityState,
    EntryImage,
    EntryModerated,
    Gallery,
    GalleryEntry,
    InviteIssued,
    InviteRow,
    LivePollRow,
    MemberRow,
    Members,
    MembershipChanged,
    RequestInfo,
    Requests,
    ResidencyInfo,
    TierReached,
    VoteRecorded,
)
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.server_messages import ServerMessage
from showroom.scene.model import Event as SceneEvent

Reply = Callable[[ServerMessage], None]
MAX_INVITES_LISTED = 200
"""A ``members`` answer lists at most this many invite codes (the newest)."""


@dataclass(frozen=True)
class Wiring:
    """How the communities reach the rest of the event."""

    broadcast: Callable[[ServerMessage], None]
    """An event for every visitor of every shard in the next tick."""
    personal: Callable[[str, ServerMessage], None]
    """A personal event for the visitor with this wallet, if present."""
    grant: Callable[[str, str], None]
    """Award a ledger rule to a wallet (through the event's rewards)."""
    report: ReportOf | None = None
    """A community's RFM report from the data directory (blocking); without it hosts get no reports or audiences."""


class Communities:
    """Every community an event serves: membership, challenges, polls, loyalty."""

    def __init__(self, communities: list[Community], scene_event: SceneEvent, store: CommunityStore, jobs: Jobs,
                 wiring: Wiring) -> None:
        self.rules = {c.community.id: CommunityRules.of(c) for c in communities}
        self.event = scene_event
        self.store = store
        self.wiring = wiring
        self.membership = Membership({cid: Roster(r) for cid, r in self.rules.items()}, store, jobs)
        self.contests = Contests(self.rules, self.membership, store, jobs)
        self.polls = Polls(scene_event.id, store, jobs, wiring.broadcast, self._may_answer)
        self.loyalty = Loyalty(self.rules, store, jobs, self._reached)
        self.audiences = None if wiring.report is None else Audiences(
            self.membership, store, jobs, wiring.report, wiring.grant, wiring.personal)
        self.phases: dict[tuple[str, str], str] = {}

    def load(self, wall: float) -> None:
        """Take up where the store left off: members, overrides, open polls, points, phases."""
        self.membership.load()
        self.contests.load()
        self.polls.resume([self.event.id, *self.rules])
        self.loyalty.load()
        self.phases = {(cid, ch): self.contests.phase(cid, ch, wall) for cid, r in self.rules.items() for ch in r.challenges}

    def grants(self) -> dict[str, str]:
        """Every ledger rule the communities award through."""
        return {rule: grant for r in self.rules.values() for rule, grant in r.grants().items()}

    # ---- the event's own community ----------------------------------------------------------------
    @property
    def home(self) -> str | None:
        """The community the event belongs to (its scene's ``event.community``), if served."""
        return self.event.community if self.event.community in self.rules else None

    def may_enter(self, wallet: str) -> str | None:
        """Why a wallet may not enter the event (members only, or a tier), or None."""
        community = self.event.community
        if community is None or not (self.event.members_only or self.event.min_tier):
            return None
        rules = self.rules.get(community)
        name = rules.name if rules else community
        if not self.membership.is_member(community, wallet):
            return f"this show is for members of {name}: join with an invite code (join.invite)"
        if self.event.min_tier and not self._tier_at_least(community, wallet, self.event.min_tier):
            return f"this show is for members of {name} from the {self.event.min_tier} tier up"
        return None

    def _tier_at_least(self, community: str, wallet: str, tier: str) -> bool:
        tiers = [t.id for t in self.rules[community].tiers]
        mine = self.loyalty.tier(community, wallet)
        return mine is not None and tier in tiers and tiers.index(mine) >= tiers.index(tier)

    def perks(self, wallet: str) -> set[str]:
        """The perks a member's loyalty tier in the event's community gives."""
        return self.loyalty.perks(self.home, wallet) if self.home else set()

    def engage(self, wallet: str, kind: str, amount: float, ref: str, wall: float) -> None:
        """Engagement at the event, logged for a member of its community."""
        home = self.home
        if home is not None and self.membership.is_member(home, wallet):
            self.loyalty.engage(home, wallet, kind, amount, ref, wall)

    def visited(self, wallet: str, wall: float) -> None:
        """A visitor entered the event: a residency visit when one of the community's residencies plays now."""
        home = self.home
        if home is None:
            return
        rules = self.rules[home]
        when = dt.datetime.fromtimestamp(wall, rules.zone)
        show = rules.residency_at(when)
        if show is not None:
            self.engage(wallet, "residency_visit", 1, f"residency:{show.id}:{when.date().isoformat()}", wall)

    def _reached(self, community: str, wallet: str, rules: CommunityRules, tier_id: str) -> None:
        tier = next(t for t in rules.tiers if t.id == tier_id)
        self.wiring.personal(wallet, TierReached(community=community, tier=tier.id, name=tier.name,
                                                 perks=list(tier.perks)))
        if tier.grant:
            self.wiring.grant(rules.tier_rule(tier.id), wallet)

    # ---- membership -----------------------------------------------------------------------------
    def answer_state(self, community: str, wallet: str, wall: float, reply: Reply, fault: Fault) -> None:
        """Answer with the community's state; streaks come from the whole log, read off the loop when stale."""
        self.membership.roster(community)
        if self.loyalty.fresh(community, wall):
            reply(self.state(community, wallet, wall))
            return

        def computed(outcome: Outcome[None]) -> None:
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"store: {outcome.error}")
                return
            reply(self.state(community, wallet, wall))
        hand_over(self.membership.jobs, "store", self.loyalty.recompute(community, wall), computed)

    def state(self, community: str, wallet: str, wall: float) -> CommunityState:
        """The community as it concerns ``wallet`` (streaks as last computed)."""
        roster = self.membership.roster(community)
        rules = roster.rules
        member = roster.members.get(wallet)
        residency = None
        when = dt.datetime.fromtimestamp(wall, rules.zone)
        shows = [(shown[0], show) for show in rules.model.residencies
                 if (shown := next_occurrence(show, rules.zone, when)) is not None]
        if shows:
            start, show = min(shows, key=lambda pair: pair[0])
            residency = ResidencyInfo(id=show.id, title=show.title, start=start.isoformat(timespec="minutes"))
        challenges = []
        for challenge in rules.challenges.values():
            phase = self.contests.phase(community, challenge.id, wall)
            if phase in ("draft", "closed") and challenge.next_at(wall) is None and wall - challenge.starts[-1] > 14 * 86400:
                continue  # long closed: not worth a line
            nxt = challenge.next_at(wall)
            challenges.append(ChallengeInfo(id=challenge.id, title=challenge.title, phase=phase, ballot=challenge.ballot,  # type: ignore[arg-type]
                                            next_at=None if nxt is None else iso(nxt), brief=challenge.brief))
        return CommunityState(
            community=community, name=rules.name, entry=rules.entry, members=len(roster.members), cap=rules.cap,  # type: ignore[arg-type]
            status=self.membership.status(community, wallet), role=None if member is None else member.role,  # type: ignore[arg-type]
            tier=self.loyalty.tier(community, wallet), points=self.loyalty.points(community, wallet),
            streak=self.loyalty.streak(community, wallet) if member else 0, residency=residency,
            challenges=challenges[:16], polls=[p for p, live in self.polls.open.items() if live.poll.owner == community])

    def join(self, community: str, wallet: str, name: str, invite: str | None, wall: float, reply: Reply,
             fault: Fault) -> None:
        """Join a community; answered with its state once the membership is durable."""
        self.membership.join(community, wallet, name, invite, wall,
                             lambda member: self.answer_state(community, wallet, wall, reply, fault), fault)

    def request(self, community: str, wallet: str, name: str, wall: float, reply: Reply, fault: Fault) -> None:
        """Ask to join (an open community takes the wallet at once); answered with the state."""
        if self.membership.roster(community).rules.entry == "open":
            self.join(community, wallet, name, None, wall, reply, fault)
            return
        self.membership.request(community, wallet, name, wall,
                                lambda r: self.answer_state(community, wallet, wall, reply, fault), fault)

    def leave(self, community: str, wallet: str, wall: float, reply: Reply, fault: Fault) -> None:
        """Leave; answered with the state."""
        self.membership.leave(community, wallet, wall,
                              lambda m: self.answer_state(community, wallet, wall, reply, fault), fault)

    def invite(self, community: str, by: str, max_uses: int | None, days: float | None, wall: float, reply: Reply,
               fault: Fault) -> None:
        """Issue an invite code (by a member whose role may invite, or by the host)."""
        self.membership.invite(community, by, max_uses, days, wall,
                               lambda inv: reply(InviteIssued(community=community, code=inv.code,
                                                              max_uses=inv.max_uses, expires_at=iso(inv.expires_at))),
                               fault)

    def requests(self, community: str) -> Requests:
        """The pending join requests (a host's read)."""
        self.membership.roster(community)
        return Requests(community=community, requests=[RequestInfo(wallet=r.wallet, name=r.name, at=iso(r.at))
                                                       for r in self.store.requests(community)])

    def decide(self, community: str, wallet: str, approve: bool, reason: str | None, wall: float,
               done: Callable[[], None], fault: Fault) -> None:
        """A host approves or refuses a request; the requester is told if present."""
        def decided(request: object) -> None:
            member = self.membership.rosters[community].members.get(wallet)
            self.wiring.personal(wallet, MembershipChanged(
                community=community, status="member" if member else "refused", role=member.role if member else None,
                reason=reason))
            done()
        self.membership.decide(community, wallet, approve, reason, wall, decided, fault)

    def set_role(self, community: str, wallet: str, role: str, wall: float, done: Callable[[], None],
                 fault: Fault) -> None:
        """A host gives a member another role; the member is told if present."""
        def changed(member: object) -> None:
            self.wiring.personal(wallet, MembershipChanged(community=community, status="member", role=role,
                                                           reason=None))
            done()
        self.membership.set_role(community, wallet, role, wall, changed, fault)

    def expel(self, community: str, wallet: str, wall: float, done: Callable[[], None], fault: Fault) -> None:
        """A host bans a wallet from the community; the wallet is told if present."""
        def banned(member: object) -> None:
            self.wiring.personal(wallet, MembershipChanged(community=community, status="banned", role=None,
                                                           reason=None))
            done()
        self.membership.ban(community, wallet, wall, banned, fault)

    def members(self, community: str, reply: Reply, fault: Fault) -> None:
        """Answer a host with the members (from memory) and the invite codes (read on the store lane)."""
        roster = self.membership.roster(community)

        def listed(invites: list[Invite]) -> None:
            members = sorted(roster.members.values(), key=lambda m: (-m.joined_at, m.wallet))
            reply(Members(community=community, members=[
                MemberRow(wallet=m.wallet, name=m.name, role=m.role, tier=self.loyalty.tier(community, m.wallet),
                          points=round(self.loyalty.points(community, m.wallet), 2), joined_at=iso(m.joined_at))
                for m in members], invites=[
                InviteRow(code=i.code, issued_by=i.issued_by, max_uses=i.max_uses, uses=i.uses,
                          expires_at=iso(i.expires_at), revoked=i.revoked) for i in invites[:MAX_INVITES_LISTED]]))
        self.membership.invites(community, listed, fault)

    def briefs(self, wall: float) -> list[CommunityBrief]:
        """Every served community in brief, for a host's status (from memory: no store reads)."""
        by_challenge: dict[tuple[str, str], list[Entry]] = {}
        for entry in self.contests.entries.values():
            by_challenge.setdefault((entry.community, entry.challenge), []).append(entry)
        briefs = []
        for cid, rules in self.rules.items():
            roster = self.membership.rosters[cid]
            challenges = []
            for ch in rules.challenges.values():
                entries = by_challenge.get((cid, ch.id), [])
                challenges.append(ChallengeBrief(
                    id=ch.id, title=ch.title, phase=self.contests.phase(cid, ch.id, wall),  # type: ignore[arg-type]
                    ballot=ch.ballot, entries=len(entries),  # type: ignore[arg-type]
                    pending=sum(e.status == "pending" for e in entries),
                    approved=sum(e.status == "approved" for e in entries),
                    featured=any(e.id in self.contests.ranks for e in entries)))
            briefs.append(CommunityBrief(community=cid, name=rules.name, entry=rules.entry,  # type: ignore[arg-type]
                                         members=len(roster.members), cap=rules.cap, requests=len(roster.pending),
                                         challenges=challenges))
        return briefs

    def live_polls(self) -> list[LivePollRow]:
        """The open polls with their counts so far, for a host's status."""
        return [LivePollRow(poll=pid, question=live.poll.question, options=list(live.poll.options),
                            results=live.poll.results, closes_at=None if live.poll.closes_at is None
                            else iso(live.poll.closes_at), community=live.poll.owner if live.poll.scope == "community"
                            else None, counts=list(live.counts))
                for pid, live in self.polls.open.items()]

    def open_polls(self, wallet: str) -> list[ServerMessage]:
        """The polls a visitor arriving now may answer (event polls, and the home community's for its members)."""
        return [state_of(live.poll) for live in self.polls.open.values() if not live.closing
                and self._may_answer(live.poll, wallet) is None]

    # ---- challenges -----------------------------------------------------------------------------------
    def submit_done(self, owner: int, upload: int, wallet: str, wall: float, reply: Reply, fault: Fault) -> None:
        """Finish an upload; answered with ``entry`` once the re-encoded image is durable."""
        def kept(entry: Entry) -> None:
            reply(received(entry))
        self.contests.finish(owner, upload, wall, kept, fault)

    def vote(self, community: str, challenge: str, wallet: str, choices: list[int], wall: float, reply: Reply,
             fault: Fault) -> None:
        """Cast a member's ballot; confirmed with ``vote_recorded`` once durable."""
        def cast(ballot: tuple[int, ...]) -> None:
            self.engage(wallet, "vote", 1, f"vote:{community}:{challenge}", wall)
            reply(VoteRecorded(community=community, challenge=challenge, choices=list(ballot)))
        self.contests.vote(community, challenge, wallet, choices, wall, cast, fault)

    def gallery(self, community: str, challenge: str, wallet: str | None, wall: float) -> Gallery:
        """A challenge's entries: approved ones and my own (everything for a host, ``wallet`` None)."""
        rules = self.contests.challenge(community, challenge)
        names = self.membership.name
        ranks = self.contests.ranks
        shown = [GalleryEntry(entry=e.id, title=e.title, by=names(community, e.wallet), status=e.status,
                              mine=e.wallet == wallet, width=e.width, height=e.height, rank=ranks.get(e.id),
                              reason=e.reason if wallet is None or e.wallet == wallet else None)
                 for e in self.contests.entries_of(community, challenge)
                 if wallet is None or e.status == "approved" or e.wallet == wallet]
        voted = wallet is not None and wallet in self.contests.voters.get((community, challenge), ())
        return Gallery(community=community, challenge=challenge, phase=self.contests.phase(community, challenge, wall),  # type: ignore[arg-type]
                       ballot=rules.ballot, entries=shown, voted=voted)  # type: ignore[arg-type]

    def image(self, entry: int, wallet: str | None, reply: Reply, fault: Fault) -> None:
        """An entry's image (read on the store lane): approved entries for anyone, pending or rejected ones for
        their author and hosts."""
        found = self.contests.entries.get(entry)
        if found is None or (wallet is not None and found.status != "approved" and found.wallet != wallet):
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no entry {entry} to show")

        def read(outcome: Outcome[bytes]) -> None:
            if outcome.error is not None:
                fault(ErrorCode.REFUSED, f"store: {outcome.error}")
            else:
                reply(EntryImage(entry=entry, image=outcome.get()))
        hand_over(self.membership.jobs, "store", lambda: self.store.image(entry), read)

    def moderate(self, entry: int, approve: bool, reason: str | None, wall: float, done: Callable[[], None],
                 fault: Fault) -> None:
        """A host approves or rejects an entry; its author is told."""
        def moderated(stored: Entry) -> None:
            self.wiring.personal(stored.wallet, EntryModerated(entry=entry, status=stored.status, reason=stored.reason))  # type: ignore[arg-type]
            if stored.status == "approved":  # an entry earns its points once accepted by review
                rules = self.rules.get(stored.community)
                if rules is not None and self.membership.is_member(stored.community, stored.wallet):
                    self.loyalty.engage(stored.community, stored.wallet, "entry", 1, f"entry:{stored.id}", wall)
            done()
        self.contests.moderate(entry, approve, reason, wall, moderated, fault)

    def feature(self, community: str, challenge: str, wall: float, done: Callable[[], None], fault: Fault) -> None:
        """Publish a closed challenge's featured entries to every shard and award them."""
        rules = self.contests.challenge(community, challenge)

        def published(event: ServerMessage, featured: list, entries: list) -> None:
            self.wiring.broadcast(event)
            if rules.feature_grant:
                for entry in entries:
                    self.wiring.grant(rules.feature_rule(community), entry.wallet)
            done()
        self.contests.feature(community, challenge, wall, published, fault)

    # ---- polls ------------------------------------------------------------------------------------
    def _may_answer(self, poll: Poll, wallet: str) -> str | None:
        if poll.scope == "community" and not self.membership.is_member(poll.owner, wallet):
            return f"not_member: this poll is for members of {poll.owner}"
        return None

    def answered(self, wallet: str, wall: float, poll: str) -> None:
        """An answer was counted: engagement for a member."""
        self.engage(wallet, "poll_answer", 1, f"poll:{poll}", wall)

    # ---- the tick ----------------------------------------------------------------------------------
    def tick(self, wall: float) -> None:
        """Once a second: close and report polls, announce challenge phase changes, drop idle uploads."""
        self.polls.tick(wall)
        self.contests.expire(wall)
        for key in self.phases:
            phase = self.contests.phase(*key, wall)
            if phase != self.phases[key]:
                self.phases[key] = phase
                if key[0] == self.home:
                    self.wiring.broadcast(ChallengePhase(community=key[0], challenge=key[1], phase=phase))  # type: ignore[arg-type]
