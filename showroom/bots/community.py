"""What a bot does in the event's community: answer polls, join with an invite, submit an entry, vote.

Sans-I/O like :class:`~showroom.bots.bot.Bot`: a :class:`Participant` is fed the community messages
and events its bot receives, keeps a small agenda of actions due after a human-like pause, and hands
the messages it decides on to its bot's ``send``. These are rare control messages: nothing here runs
per frame unless a frame carries an event.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from itertools import count

from showroom.bots.community_plan import Plan
from showroom.bots.invites import DEAD_CODE, InvitePool
from showroom.bots.preferences import ballot, entry_title, poll_option
from showroom.bots.sketch import sketch_png
from showroom.bots.stats import Stats
from showroom.protocol import client_messages as msg
from showroom.protocol import community as cm
from showroom.protocol.server_messages import ErrorReply

MAX_INVITE_TRIES = 3
"""Codes one bot tries before it stays a plain visitor."""
UPLOAD_GIVE_UP_S = 60.0
"""An upload unanswered this long is taken for lost (the server drops an upload idle for 60 s)."""
COMMUNITY_REFS = frozenset({"community_join", "community", "entry_start", "entry_part", "entry_done", "vote",
                            "gallery", "poll_answer"})
"""Messages whose refusals are the community's (counted apart from the rest)."""
REPLIES = (cm.CommunityState, cm.UploadReady, cm.EntryReceived, cm.VoteRecorded, cm.Gallery)
"""The community replies a participant reads."""
EVENTS = (cm.PollState, cm.PollAnswered, cm.ChallengePhase, cm.FeaturedEvent, cm.EntryModerated,
          cm.MembershipChanged, cm.InviteIssued)
"""The frame events a participant reads (cell and personal)."""


class Participant:
    """One bot's community life: its plan, membership, the actions it has scheduled and those done."""

    def __init__(self, name: str, plan: Plan, stats: Stats, rng: random.Random, pool: InvitePool,
                 send: Callable[[msg.Message], None], palette: Callable[[], tuple[str, ...]]) -> None:
        self.name, self.plan, self.stats, self.rng, self.pool = name, plan, stats, rng, pool
        self.send = send
        self.palette = palette
        self.home: str | None = None
        """The event's community (from the scene)."""
        self.member_of: set[str] = set()
        self.code: str | None = None
        """The invite code of the join or community_join in flight."""
        self.tries = 0
        self.joining = False
        self.phases: dict[str, str] = {}
        self.polls: set[str] = set()
        self.submitted: set[str] = set()
        self.voted: set[str] = set()
        """Challenges whose gallery this bot asked for (to vote in)."""
        self.cast: set[str] = set()
        """Challenges this bot sent its ballot in: never a second one."""
        self.upload: tuple[str, bytes] | None = None
        """(challenge, file) of the entry being uploaded: one at a time per connection."""
        self.upload_at = 0.0
        self.agenda: list[tuple[float, int, Callable[[float], None]]] = []
        self._order = count()

    # ---- the agenda -------------------------------------------------------------------------------
    def later(self, now: float, action: Callable[[float], None]) -> None:
        """Do ``action`` after a pause drawn from the plan's think time (more quick answers than slow)."""
        lo, hi = self.plan.think_s
        heapq.heappush(self.agenda, (now + self.rng.triangular(lo, hi, lo + (hi - lo) * 0.3), next(self._order), action))

    def due(self, now: float) -> None:
        """Carry out the actions whose time has come."""
        while self.agenda and self.agenda[0][0] <= now:
            heapq.heappop(self.agenda)[2](now)

    def tally(self, what: str) -> None:
        """Count one community happening in the run's figures."""
        self.stats.community[what] += 1

    # ---- joining ----------------------------------------------------------------------------------
    def join_code(self, index: int) -> str | None:
        """The invite code to send in ``join`` (None: a plain join)."""
        if not self.plan.join or self.tries >= MAX_INVITE_TRIES:
            return None
        self.code = self.pool.take(index)
        if self.code is not None:
            self.tries += 1
            self.tally("join_attempts")
        return self.code

    def join_refused(self, error: ErrorReply, index: int) -> tuple[bool, str | None]:
        """A refused ``join``: whether to send ``join`` again, and with which code (None: a plain one)."""
        if self.code is None:
            if error.code == "members_only":  # a members-only show: an invite is the way in
                code = self.join_code(index)
                return code is not None, code
            return False, None
        self.refused(error)
        if error.code != "refused":  # the event has no community (no_store), or the code was malformed
            self.tries = MAX_INVITE_TRIES
            self.code = None
            return True, None
        self._invite_refused(error)
        return True, self.join_code(index + self.tries)

    def welcomed(self, home: str | None, now: float) -> None:
        """The bot is in the event (``home``: its community); a join with a code made it a member."""
        self.home = home
        if home is None:
            return
        if self.code is not None:
            self.code = None
            self._became_member(home)
        if self.plan.join:  # learn the challenges' phases (and, without a code, how to join)
            self.send(cm.CommunityAsk(community=home))

    def _became_member(self, community: str) -> None:
        if community not in self.member_of:
            self.member_of.add(community)
            self.tally("members_joined")

    def _try_joining(self, open_entry: bool = False) -> None:
        """Join the home community, with a code from the pool unless its entry is open (when no join is in flight)."""
        if (self.home is None or self.home in self.member_of or not self.plan.join or self.joining
                or self.tries >= MAX_INVITE_TRIES):
            return
        self.code = None if open_entry else self.pool.take()
        if self.code is None and not open_entry:
            return
        self.tries += 1
        self.joining = True
        self.tally("join_attempts")
        self.send(cm.CommunityJoin(community=self.home, invite=self.code))

    def _invite_refused(self, error: ErrorReply) -> None:
        reason = error.message.split(":", 1)[0]
        if self.code is not None and reason in DEAD_CODE:
            self.pool.drop(self.code)
        elif reason in ("full", "banned"):
            self.tries = MAX_INVITE_TRIES  # no code will do
        self.code = None

    # ---- what the server says ---------------------------------------------------------------------
    def receive(self, message: object, now: float) -> None:
        """Any community reply or event the bot received (those of :data:`REPLIES` and :data:`EVENTS`)."""
        if isinstance(message, cm.PollState):
            self.poll(message, now)
        elif isinstance(message, cm.ChallengePhase):
            self.phase(message.community, message.challenge, message.phase, now)
        elif isinstance(message, cm.CommunityState):
            self.state(message, now)
        elif isinstance(message, cm.UploadReady):
            self.upload_ready(message)
        elif isinstance(message, cm.EntryReceived):
            self.entry(message)
        elif isinstance(message, cm.Gallery):
            self.gallery(message)
        else:
            self.event(message)

    def state(self, state: cm.CommunityState, now: float) -> None:
        """A ``community`` reply: membership, and the phase of each challenge."""
        self.joining = False
        self.code = None
        if state.status == "member":
            self._became_member(state.community)
        else:
            self.member_of.discard(state.community)
        if state.community != self.home:
            return
        if state.status != "member":
            self._try_joining(open_entry=state.entry == "open")
            return
        for challenge in state.challenges:
            self.phase(state.community, challenge.id, challenge.phase, now)

    def phase(self, community: str, challenge: str, phase: str, now: float) -> None:
        """A challenge of the home community is in ``phase``: a member submits or votes once, after a pause."""
        if community != self.home:
            return
        if community not in self.member_of:
            if phase in ("submissions", "voting") and (self.plan.submit or self.plan.vote):
                self._try_joining()  # once a member, the ``community`` answer brings the phases back here
            return
        if self.phases.get(challenge) == phase:
            return
        self.phases[challenge] = phase
        if phase == "submissions" and self.plan.submit and challenge not in self.submitted:
            self.submitted.add(challenge)
            self.later(now, lambda t: self._start_entry(community, challenge, t))
        elif phase == "voting" and self.plan.vote and challenge not in self.voted:
            self.voted.add(challenge)
            self.later(now, lambda t: self._ask_gallery(community, challenge))

    def poll(self, poll: cm.PollState, now: float) -> None:
        """A poll opened (or was open when the bot came): answer it once, after a pause."""
        if not self.plan.polls or poll.poll in self.polls:
            return
        if poll.community is not None and poll.community not in self.member_of:
            return  # members only: a non-member would only be refused
        self.polls.add(poll.poll)
        self.tally("polls_seen")
        option = poll_option(poll.poll, len(poll.options), self.rng)
        self.later(now, lambda t: self._answer(poll.poll, option))

    def _answer(self, poll: str, option: int) -> None:
        self.tally("poll_answers_sent")
        self.send(cm.PollAnswer(poll=poll, option=option))

    def _start_entry(self, community: str, challenge: str, now: float) -> None:
        if self.upload is not None and now - self.upload_at < UPLOAD_GIVE_UP_S:  # one at a time: come back to it
            self.later(now, lambda t: self._start_entry(community, challenge, t))
            return
        if self.phases.get(challenge) != "submissions":
            return
        data = sketch_png(f"{self.name}/{challenge}", self.palette())
        self.upload, self.upload_at = (challenge, data), now
        self.tally("entries_sent")
        self.send(cm.EntryStart(community=community, challenge=challenge, title=entry_title(self.rng), size=len(data)))

    def upload_ready(self, ready: cm.UploadReady) -> None:
        """The server waits for the parts: send them all, then ``entry_done``."""
        if self.upload is None:
            return
        data, step = self.upload[1], ready.part_bytes
        for index in range(ready.parts):
            self.send(cm.EntryPart(upload=ready.upload, index=index, data=data[index * step:(index + 1) * step]))
        self.send(cm.EntryDone(upload=ready.upload))

    def entry(self, entry: cm.EntryReceived) -> None:
        """The entry is kept (pending moderation)."""
        self.upload = None
        self.tally("entries_confirmed")

    def _ask_gallery(self, community: str, challenge: str) -> None:
        self.send(cm.GalleryAsk(community=community, challenge=challenge))

    def gallery(self, gallery: cm.Gallery) -> None:
        """The approved entries of a challenge in voting: cast one ballot (or none, when nothing is eligible)."""
        if (gallery.phase != "voting" or gallery.voted or gallery.challenge not in self.voted
                or gallery.challenge in self.cast):
            return
        self.cast.add(gallery.challenge)
        choices = ballot(gallery, self.rng)
        if not choices:
            self.tally("votes_skipped")
            return
        self.tally("votes_sent")
        self.send(cm.Vote(community=gallery.community, challenge=gallery.challenge, choices=choices))

    def event(self, event: object) -> None:
        """A personal or cell event that needs no pause: confirmations, moderation, membership, invites."""
        if isinstance(event, cm.PollAnswered):
            self.tally("poll_answers_confirmed")
        elif isinstance(event, cm.EntryModerated):
            self.tally(f"entries_{event.status}")
        elif isinstance(event, cm.FeaturedEvent):
            self.stats.community["entries_featured"] += sum(1 for e in event.entries if e.by == self.name)
        elif isinstance(event, cm.MembershipChanged):
            if event.status == "member":
                self._became_member(event.community)
            else:
                self.member_of.discard(event.community)
        elif isinstance(event, cm.InviteIssued):
            self.tally("invites_received")
            self.pool.give(event.code)
        elif isinstance(event, cm.VoteRecorded):
            self.tally("votes_confirmed")

    def refused(self, error: ErrorReply) -> None:
        """A community message refused: counted by message and reason; nothing is retried blindly."""
        reason = error.message.split(":", 1)[0] if error.code == "refused" else str(error.code)
        self.stats.community_refused[f"{error.ref}: {reason}"] += 1
        if error.ref == "community_join":
            self.joining = False
            self._invite_refused(error)
        elif error.ref in ("entry_start", "entry_part", "entry_done"):
            self.upload = None
