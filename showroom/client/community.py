"""What the client knows of the event's community: my membership and loyalty, the challenge the
panel shows (its gallery, my entries, my ballot), the featured entries for the wall and the
entry images fetched so far. Fed with decoded replies and events by
:class:`showroom.client.state.ClientState`; what it asks the server leaves through a
:class:`showroom.client.upload.Pacer`. Plain data, no panda3d.

On joining it asks ``community`` (my state and the challenges), then the ``gallery`` of the
newest closed challenge (the entries with a ``rank`` are the featured ones; with none it looks at
the closed one before), then the featured entries' images. A ``featured`` event replaces the set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from showroom.client.upload import Pacer, Upload
from showroom.protocol import community as cm
from showroom.protocol.base import ServerMessage

GALLERY_IMAGES = 8
"""Thumbnails fetched for the panel's gallery (a ballot names at most 8 entries)."""
ACTIVE = ("submissions", "review", "voting")
COMMUNITY_REFS = frozenset({"community", "community_join", "community_request", "community_leave", "entry_start",
                            "entry_part", "entry_done", "vote", "gallery", "entry_image"})
"""The ``ref`` of the errors that concern this book."""


@dataclass(frozen=True)
class Featured:
    """A challenge's featured entries, best first."""

    challenge: str
    title: str
    entries: tuple[cm.FeaturedEntry, ...]


@dataclass
class MyEntry:
    """One of my entries and where its moderation stands."""

    entry: int
    challenge: str
    title: str
    status: str
    reason: str | None = None


@dataclass
class CommunityBook:
    """The event community as it concerns this visitor."""

    community: str | None = None
    state: cm.CommunityState | None = None
    gallery: cm.Gallery | None = None
    """The gallery of :attr:`challenge_id`."""
    featured: Featured | None = None
    featured_version: int = 0
    """Counts the featured sets received (the wall and the tour guide watch it)."""
    images: dict[int, bytes] = field(default_factory=dict)
    mine: dict[int, MyEntry] = field(default_factory=dict)
    choices: list[int] = field(default_factory=list)
    """My ballot being made: approved entries (approval) or my preferences in order (ranked)."""
    vote_sent: bool = False
    voted: bool = False
    upload: Upload | None = None
    tier_name: str | None = None
    pacer: Pacer = field(default_factory=Pacer)
    probing: list[str] = field(default_factory=list)
    """Closed challenges still to look at for the featured set, newest first."""
    asked_images: set[int] = field(default_factory=set)
    unserved: bool = False
    """The server runs no communities (``no_store``): ask nothing more, show no wall."""

    # ---- asking ---------------------------------------------------------------------------
    def start(self) -> None:
        """Ask for my state in the event's community (on joining the event)."""
        if self.community is not None and not self.unserved:
            self.pacer.send(cm.CommunityAsk(community=self.community))

    def join(self, invite: str) -> str | None:
        """Join with an invite code; returns why not, or None when the request is on its way."""
        code = invite.strip()
        if self.community is None or self.unserved:
            return "this event has no community on this server"
        try:
            self.pacer.send(cm.CommunityJoin(community=self.community, invite=code or None))
        except ValueError:
            return "an invite code is 4-32 letters, digits, - or _"
        return None

    def submit(self, data: bytes, title: str) -> str | None:
        """Upload ``data`` (a checked PNG or JPEG) as my entry to the challenge taking submissions; returns why not."""
        challenge = self.challenge
        if self.community is None or challenge is None or challenge.phase != "submissions":
            return "no challenge takes entries now"
        if self.upload is not None:
            return "an entry is on its way already"
        self.upload = Upload(self.community, challenge.id, title[:80] or "My entry", data)
        self.pacer.send(self.upload.start())
        return None

    def toggle(self, entry: int) -> None:
        """Pick or unpick an entry for my ballot (ranked: picks are my preferences, in the order made)."""
        if entry in self.choices:
            self.choices.remove(entry)
        elif len(self.choices) < 8:
            self.choices.append(entry)

    def cast(self) -> str | None:
        """Send my ballot; returns why not."""
        challenge = self.challenge
        if self.community is None or challenge is None or challenge.phase != "voting":
            return "no challenge is in its voting phase"
        if self.voted or self.vote_sent:
            return "your ballot is cast already"
        if not self.choices:
            return "pick at least one entry first"
        self.vote_sent = True
        self.pacer.send(cm.Vote(community=self.community, challenge=challenge.id, choices=list(self.choices)))
        return None

    def refresh(self) -> None:
        """Ask again for my state and the shown challenge's gallery (the panel opened)."""
        if self.community is None or self.unserved:
            return
        self.pacer.send(cm.CommunityAsk(community=self.community))
        if self.challenge is not None and self.challenge.phase != "draft":
            self.pacer.send(cm.GalleryAsk(community=self.community, challenge=self.challenge.id))

    def due(self, now_s: float) -> list:
        """The messages to send now."""
        return self.pacer.due(now_s, self.upload)

    # ---- reading --------------------------------------------------------------------------
    @property
    def member(self) -> bool:
        """Whether I am a member."""
        return self.state is not None and self.state.status == "member"

    @property
    def challenge(self) -> cm.ChallengeInfo | None:
        """The challenge the panel shows: one under way, else the newest closed, else the first to come."""
        if self.state is None or not self.state.challenges:
            return None
        found = self.state.challenges
        return (next((c for c in found if c.phase in ACTIVE), None)
                or next((c for c in reversed(found) if c.phase == "closed"), None) or found[0])

    def my_entry(self) -> MyEntry | None:
        """My newest entry in the shown challenge."""
        challenge = self.challenge
        mine = [e for e in self.mine.values() if challenge is not None and e.challenge == challenge.id]
        return max(mine, key=lambda e: e.entry) if mine else None

    def votable(self) -> list[cm.GalleryEntry]:
        """The gallery's approved entries I may vote for (not mine)."""
        if self.gallery is None:
            return []
        return [e for e in self.gallery.entries if e.status == "approved" and not e.mine]

    # ---- receiving ------------------------------------------------------------------------
    def receive(self, message: ServerMessage) -> str | None:
        """Take in a community reply or event; returns a notice for the visitor, if any."""
        if isinstance(message, cm.CommunityState):
            return self._state(message)
        if isinstance(message, cm.Gallery):
            return self._gallery(message)
        if isinstance(message, cm.EntryImage):
            self.images[message.entry] = bytes(message.image)
        elif isinstance(message, cm.FeaturedEvent) and message.community == self.community:
            self._feature(message.challenge, message.entries)
            return f"new featured entries: {self._title(message.challenge)}"
        elif isinstance(message, cm.UploadReady) and self.upload is not None:
            self.upload.ready(message)
        elif isinstance(message, cm.EntryReceived):
            self.upload = None
            self.mine[message.entry] = MyEntry(message.entry, message.challenge, message.title, message.status)
            return f"entry '{message.title}' received: waiting for review"
        elif isinstance(message, cm.EntryModerated):
            entry = self.mine.get(message.entry)
            if entry is not None:
                entry.status, entry.reason = message.status, message.reason
            why = f" ({message.reason})" if message.reason else ""
            return f"your entry was {message.status}{why}"
        elif isinstance(message, cm.VoteRecorded):
            self.voted, self.vote_sent = True, False
            n = len(message.choices)
            return f"your ballot is counted ({n} {'entry' if n == 1 else 'entries'})"
        elif isinstance(message, cm.ChallengePhase) and message.community == self.community:
            self.refresh()
            return f"{self._title(message.challenge)}: {message.phase}"
        elif isinstance(message, (cm.MembershipChanged, cm.TierReached)) and message.community == self.community:
            self.pacer.send(cm.CommunityAsk(community=message.community))
            if isinstance(message, cm.TierReached):
                self.tier_name = message.name
                return f"you reached {message.name}"
            return f"membership: {message.status}" + (f" ({message.reason})" if message.reason else "")
        return None

    def refused(self, ref: str | None, message: str, code: str = "refused") -> None:
        """An ``error`` answering one of my community messages."""
        if code == "no_store":
            self.unserved = True
            self.pacer.queue.clear()
            return
        if ref in ("entry_start", "entry_part", "entry_done"):
            self.upload = None
        elif ref == "vote":
            self.vote_sent = False
            if message.startswith("already_voted"):
                self.voted = True
        elif ref == "gallery" and self.probing:
            self._probe_next()

    def _state(self, state: cm.CommunityState) -> str | None:
        was = self.state
        self.state = state
        if self.featured is None and not self.probing and (was is None or was.challenges != state.challenges):
            self.probing = [c.id for c in reversed(state.challenges) if c.phase == "closed"]
            if self.probing:
                self.pacer.send(cm.GalleryAsk(community=state.community, challenge=self.probing[0]))
        shown = self.challenge
        if shown is not None and shown.phase != "draft" and (self.gallery is None or self.gallery.challenge != shown.id
                                                             or self.gallery.phase != shown.phase):
            self.pacer.send(cm.GalleryAsk(community=state.community, challenge=shown.id))
        if was is not None and was.status != "member" and state.status == "member":
            return f"welcome to {state.name}"
        return None

    def _gallery(self, gallery: cm.Gallery) -> str | None:
        if gallery.community != self.community:
            return None
        shown = self.challenge
        for e in gallery.entries:
            if e.mine:
                self.mine[e.entry] = MyEntry(e.entry, gallery.challenge, e.title, e.status, e.reason)
        if shown is not None and gallery.challenge == shown.id:
            if self.gallery is None or self.gallery.challenge != gallery.challenge:
                self.choices = []
            self.gallery = gallery
            self.voted = gallery.voted or self.voted
            self.choices = [c for c in self.choices if c in {e.entry for e in self.votable()}]
            self._want_images([e.entry for e in gallery.entries if e.status == "approved"][:GALLERY_IMAGES])
        if self.probing and gallery.challenge == self.probing[0]:
            ranked = sorted((e for e in gallery.entries if e.rank is not None), key=lambda e: e.rank or 0)
            if ranked:
                self.probing = []
                self._feature(gallery.challenge, [cm.FeaturedEntry(entry=e.entry, title=e.title, by=e.by,
                                                                   rank=e.rank or 0) for e in ranked])
            else:
                self._probe_next()
        return None

    def _probe_next(self) -> None:
        self.probing.pop(0)
        if self.probing and self.community is not None:
            self.pacer.send(cm.GalleryAsk(community=self.community, challenge=self.probing[0]))

    def _feature(self, challenge: str, entries: list[cm.FeaturedEntry]) -> None:
        self.probing = []
        self.featured = Featured(challenge, self._title(challenge), tuple(sorted(entries, key=lambda e: e.rank)))
        self.featured_version += 1
        self._want_images([e.entry for e in self.featured.entries])
        shown = self.challenge
        if shown is not None and shown.id == challenge and self.community is not None:
            self.pacer.send(cm.GalleryAsk(community=self.community, challenge=challenge))  # ranks for the results

    def _want_images(self, entries: list[int]) -> None:
        for entry in entries:
            if entry not in self.asked_images:
                self.asked_images.add(entry)
                self.pacer.send(cm.ImageAsk(entry=entry))

    def _title(self, challenge: str) -> str:
        found = [c for c in self.state.challenges if c.id == challenge] if self.state is not None else []
        return found[0].title if found else challenge
