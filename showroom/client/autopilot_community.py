"""The tour guide's community round: join with the invite code it was given, enter the last selfie
photo when the challenge takes entries, vote when voting opens, answer a poll a few seconds after
its overlay appears, and walk up to the featured wall for a while when new entries hang there.

Each step is an :class:`showroom.client.autopilot.Action` that the app carries out through the
same code path as a person's key or click (the panel's join and vote buttons, the poll overlay's
answer), so the screen shows what happened. Pure decisions, no panda3d.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from showroom.client.autopilot import Action
from showroom.client.featured import route, viewing_spot
from showroom.client.state import ClientState

JOIN_AFTER_S = 4.0
"""The guide looks around this long before entering its invite code."""
TYPE_S = 2.5
"""The code stays typed in the box this long before Join is pressed (so it can be seen)."""
PANEL_OPEN_S = 8.0
POLL_AFTER_S = 3.0
"""A poll is answered this long after its overlay appears."""
VOTE_AFTER_S = 3.0
"""Picks stay on screen this long before the ballot is cast."""
LOOK_S = 12.0
"""How long the guide stands before the featured wall."""
WALK_S = 45.0
"""The guide walks to the wall for at most this long (then looks from where it got to)."""
ARRIVED_M = 1.2
MOVE_EVERY_S = 1.0
WAIT_IMAGES_S = 6.0
PICKS = 2


@dataclass
class CommunityGuide:
    """Decides the community actions; :meth:`busy` says when the guide holds the visitor still at the wall."""

    invite: str | None = None
    started: float | None = None
    join_at: float | None = None
    joined: bool = False
    submitted: set[str] = field(default_factory=set)
    voted: set[str] = field(default_factory=set)
    vote_at: float | None = None
    answered: set[str] = field(default_factory=set)
    wall_seen: int = 0
    wall_since: float | None = None
    looking_until: float | None = None
    route: list[tuple[float, float]] = field(default_factory=list)
    walk_until: float | None = None
    next_move: float = 0.0
    panel_close_at: float | None = None

    def busy(self, now: float) -> bool:
        """Whether the guide is on its way to the featured wall or looking at it (the tour guide does not walk off)."""
        return self.walk_until is not None or (self.looking_until is not None and now < self.looking_until)

    def step(self, state: ClientState, now: float, *, photo: bool) -> list[Action]:
        """Actions due at local time ``now`` (seconds); ``photo``: an entry to submit is at hand."""
        if self.started is None:
            self.started = now
        book = state.community
        out: list[Action] = []
        if book.community is None or book.state is None:
            return out
        out += self._join(state, now)
        challenge = book.challenge
        if challenge is not None and book.member:
            if (challenge.phase == "submissions" and photo and challenge.id not in self.submitted
                    and book.my_entry() is None and book.upload is None):
                self.submitted.add(challenge.id)
                out += [Action("panel", name="open"), Action("submit")]
                self.panel_close_at = now + PANEL_OPEN_S
            if challenge.phase == "voting" and challenge.id not in self.voted and not book.voted \
                    and not book.vote_sent and book.votable():
                self.voted.add(challenge.id)
                out.append(Action("panel", name="open"))
                out += [Action("pick", seq=e.entry) for e in book.votable()[:PICKS] if e.entry not in book.choices]
                self.vote_at = now + VOTE_AFTER_S
        if self.vote_at is not None and now >= self.vote_at:
            self.vote_at = None
            out.append(Action("vote"))
            self.panel_close_at = now + PANEL_OPEN_S
        out += self._poll(state, now)
        out += self._wall(state, now)
        if self.panel_close_at is not None and now >= self.panel_close_at and self.vote_at is None:
            self.panel_close_at = None
            out.append(Action("panel", name="close"))
        return out

    def _join(self, state: ClientState, now: float) -> list[Action]:
        book = state.community
        assert book.state is not None and self.started is not None
        if self.invite is None or self.joined:
            return []
        if book.member:
            self.joined = True
            return []
        if self.join_at is None and book.state.status in ("none", "left") and now - self.started >= JOIN_AFTER_S:
            self.join_at = now + TYPE_S
            return [Action("panel", name="open"), Action("type_invite", name=self.invite)]
        if self.join_at is not None and now >= self.join_at:
            self.joined = True
            self.panel_close_at = now + PANEL_OPEN_S
            return [Action("join")]
        return []

    def _poll(self, state: ClientState, now: float) -> list[Action]:
        view = state.polls.current
        if view is None or not view.waiting or view.poll in self.answered or now - view.opened_s < POLL_AFTER_S:
            return []
        if view.community is not None and not (state.community.member and view.community == state.community.community):
            return []  # a community poll of a community I am not in: leave it
        self.answered.add(view.poll)
        return [Action("poll", seq=sum(map(ord, view.poll)) % len(view.options))]

    def _wall(self, state: ClientState, now: float) -> list[Action]:
        book = state.community
        scene = state.scene
        wall = scene.venue.featured_wall if scene is not None else None
        if self.walk_until is not None:
            return self._walk(state, now)
        if self.looking_until is not None and now >= self.looking_until:
            self.looking_until = None
            return [Action("look_done")]
        if wall is None or scene is None or book.featured is None or book.featured_version <= self.wall_seen:
            return []
        if self.busy(now) or state.selfie is not None or state.photos_due:
            return []  # in a selfie queue: the wall waits
        if self.wall_since is None:
            self.wall_since = now
        loaded = all(e.entry in book.images for e in book.featured.entries)
        me = state.me()
        if (not loaded and now - self.wall_since < WAIT_IMAGES_S) or me is None:
            return []
        self.wall_seen, self.wall_since = book.featured_version, None
        spot = viewing_spot(wall, (float(scene.venue.size[0]), float(scene.venue.size[1])))
        self.route = route(scene, (float(me[0]), float(me[1])), spot)
        self.walk_until, self.next_move = now + WALK_S, now
        return self._walk(state, now)

    def _walk(self, state: ClientState, now: float) -> list[Action]:
        """On the way to the wall: the next waypoint, then (arrived, or walked long enough) turn and look."""
        me = state.me()
        assert self.walk_until is not None
        while self.route and me is not None and abs(complex(*self.route[0]) - complex(float(me[0]), float(me[1]))) < ARRIVED_M:
            self.route.pop(0)
        if self.route and now < self.walk_until:
            if now < self.next_move:
                return []
            self.next_move = now + MOVE_EVERY_S
            return [Action("move", *self.route[0])]
        self.walk_until, self.route = None, []
        self.looking_until = now + LOOK_S
        return [Action("look_wall")]
