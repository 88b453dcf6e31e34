"""Challenges live: phases (the calendar, or a host's override), entries uploaded in parts and
re-encoded off the loop, moderation, one ballot per member, results hidden until voting closes,
and featuring that publishes the top entries and awards them through the ledger.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from server.event.community.images import ImageRefused, StoredImage, reencode
from server.event.community.membership import HOST, Fault, Membership, applied, refused
from server.event.community.rules import ChallengeRules, CommunityRules
from server.event.jobs import Jobs, Outcome, hand_over
from server.storage.community_store import CommunityStore, Entry, Featured
from showroom.community.ballots import count_approval, count_irv
from showroom.protocol.community import EntryReceived, FeaturedEntry, FeaturedEvent, UploadReady
from showroom.protocol.errors import ErrorCode, ProtocolError
from showroom.protocol.limits import MAX_PART_BYTES

UPLOAD_IDLE_S = 60.0
"""An upload that receives no part for this long is dropped."""
MAX_UPLOADS = 64
"""Uploads in progress at once on one event (each holds at most MAX_IMAGE_BYTES)."""


@dataclass
class Upload:
    """An entry being uploaded: where it goes, how big it will be, the parts so far."""

    id: int
    owner: int
    """The uploading connection (its session's id)."""
    community: str
    challenge: str
    wallet: str
    title: str
    size: int
    parts: list[bytes] = field(default_factory=list)
    received: int = 0
    last_at: float = 0.0


class Contests:
    """Every challenge of the communities the event serves."""

    def __init__(self, communities: dict[str, CommunityRules], membership: Membership, store: CommunityStore,
                 jobs: Jobs) -> None:
        self.communities = communities
        self.membership = membership
        self.store = store
        self.jobs = jobs
        self.overrides: dict[tuple[str, str], tuple[str, float]] = {}
        self.uploads: dict[int, Upload] = {}
        self.entry_counts: dict[tuple[str, str, str], int] = {}
        """Entries per (community, challenge, wallet), kept and in flight."""
        self.voting: set[tuple[str, str, str]] = set()
        """Ballots being written (a second one meanwhile is refused at once)."""
        self.entries: dict[int, Entry] = {}
        """Every entry of the served communities (no image bytes), as stored."""
        self.voters: dict[tuple[str, str], set[str]] = {}
        """Wallets whose ballot is stored, per (community, challenge)."""
        self.ranks: dict[int, int] = {}
        """The rank of every featured entry, once its challenge's results are published."""
        self._ids = itertools.count(1)

    def load(self) -> None:
        """Take the host's phase overrides up again after a restart."""
        for community, rules in self.communities.items():
            for challenge, (phase, at) in self.store.phases(community).items():
                self.overrides[(community, challenge)] = (phase, at)
            for challenge in rules.challenges:
                for entry in self.store.entries(community, challenge):
                    self._keep(entry)
                self.voters[(community, challenge)] = {b.wallet for b in self.store.ballots(community, challenge)}
                self.ranks |= {f.entry: f.rank for f in self.store.featured(community, challenge)}

    def _keep(self, entry: Entry) -> None:
        """Remember a stored entry and count it toward its author's entries in the challenge (unless rejected)."""
        if entry.id not in self.entries and entry.status != "rejected":
            key = (entry.community, entry.challenge, entry.wallet)
            self.entry_counts[key] = self.entry_counts.get(key, 0) + 1
        self.entries[entry.id] = entry

    # ---- phases --------------------------------------------------------------------------------
    def entries_of(self, community: str, challenge: str) -> list[Entry]:
        """A challenge's entries, in submission order."""
        return sorted((e for e in self.entries.values() if e.community == community and e.challenge == challenge),
                      key=lambda e: e.id)

    def challenge(self, community: str, challenge: str) -> ChallengeRules:
        """A challenge of a served community, or a ProtocolError naming the known ones."""
        try:
            return self.communities[community].challenge(challenge)
        except KeyError as exc:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, str(exc).strip("'\"")) from None

    def phase(self, community: str, challenge: str, wall: float) -> str:
        """The phase now: a host's override until the calendar next moves on, else the calendar's."""
        rules = self.challenge(community, challenge)
        override = self.overrides.get((community, challenge))
        if override is not None and override[1] >= rules.last_boundary(wall):
            return override[0]
        return rules.calendar_phase(wall)

    def set_phase(self, community: str, challenge: str, phase: str, wall: float, then: Callable[[], None],
                  fault: Fault) -> None:
        """A host moves a challenge to ``phase`` now (kept in the store, so a restart resumes it)."""
        self.challenge(community, challenge)

        def stored(_: None) -> None:
            self.overrides[(community, challenge)] = (phase, wall)
            then()
        hand_over(self.jobs, "store", lambda: self.store.set_phase(community, challenge, phase, HOST, wall),  # type: ignore[arg-type]
                  applied(fault, stored))

    # ---- entries ---------------------------------------------------------------------------------
    def start_upload(self, owner: int, community: str, challenge: str, wallet: str, title: str, size: int,
                     wall: float) -> UploadReady:
        """Open an upload of ``size`` bytes for a member's entry while the challenge takes entries."""
        rules = self.challenge(community, challenge)
        if not self.membership.is_member(community, wallet):
            raise ProtocolError(ErrorCode.REFUSED, f"not_member: only members of {community} may enter")
        if self.phase(community, challenge, wall) != "submissions":
            raise ProtocolError(ErrorCode.REFUSED,
                                f"not_open: {rules.title} takes entries in its submissions phase, not now")
        if self.entry_counts.get((community, challenge, wallet), 0) >= rules.max_per_member:
            raise ProtocolError(ErrorCode.REFUSED, f"too_many_entries: at most {rules.max_per_member} per member")
        self.drop_uploads_of(owner)
        if len(self.uploads) >= MAX_UPLOADS:
            raise ProtocolError(ErrorCode.REFUSED, "busy: too many uploads at once; try again in a moment")
        upload = Upload(next(self._ids), owner, community, challenge, wallet, title, size, last_at=wall)
        self.uploads[upload.id] = upload
        return UploadReady(upload=upload.id, part_bytes=MAX_PART_BYTES, parts=-(-size // MAX_PART_BYTES))

    def part(self, owner: int, upload_id: int, index: int, data: bytes, wall: float) -> None:
        """Take the next part of an upload (parts come in order, each ``part_bytes`` long but the last)."""
        upload = self._upload(owner, upload_id)
        if index != len(upload.parts):
            raise ProtocolError(ErrorCode.INVALID, f"expected part {len(upload.parts)}, got {index}")
        if upload.received + len(data) > upload.size or (upload.received + len(data) < upload.size
                                                          and len(data) != MAX_PART_BYTES):
            self.uploads.pop(upload.id, None)
            raise ProtocolError(ErrorCode.INVALID, f"parts must be {MAX_PART_BYTES} bytes and add up to the "
                                                   f"{upload.size} bytes announced; the upload is dropped")
        upload.parts.append(data)
        upload.received += len(data)
        upload.last_at = wall

    def finish(self, owner: int, upload_id: int, wall: float, then: Callable[[Entry], None], fault: Fault) -> None:
        """Every part is in: re-encode off the loop, then keep the entry; ``then`` gets it once durable."""
        upload = self._upload(owner, upload_id)
        if upload.received != upload.size:
            raise ProtocolError(ErrorCode.INVALID, f"only {upload.received} of {upload.size} bytes arrived")
        if self.phase(upload.community, upload.challenge, wall) != "submissions":
            del self.uploads[upload.id]
            raise ProtocolError(ErrorCode.REFUSED, "not_open: the challenge stopped taking entries during the upload")
        del self.uploads[upload.id]
        key = (upload.community, upload.challenge, upload.wallet)
        rules = self.challenge(upload.community, upload.challenge)
        self.entry_counts[key] = self.entry_counts.get(key, 0) + 1
        data = b"".join(upload.parts)

        def kept(outcome: Outcome[Entry]) -> None:
            self.entry_counts[key] -= 1  # counted again, for good, as a kept entry
            if outcome.error is not None:
                fault(*refused(outcome.error))
                return
            self._keep(outcome.get())
            then(outcome.get())

        def decoded(outcome: Outcome[StoredImage]) -> None:
            if outcome.error is not None:
                self.entry_counts[key] -= 1
                reason = outcome.error if isinstance(outcome.error, ImageRefused) else "unreadable"
                fault(ErrorCode.REFUSED, f"bad_image: {reason}; nothing was kept")
                return
            image = outcome.get()
            try:
                hand_over(self.jobs, "store", lambda: self.store.submit(
                    upload.community, upload.challenge, upload.wallet, upload.title, image.data, sha256=image.sha256,
                    width=image.width, height=image.height, max_per_member=rules.max_per_member, now=wall), kept)
            except ProtocolError as exc:  # the store lane is full: answered, and the place given back
                self.entry_counts[key] -= 1
                fault(exc.code, exc.message)
        hand_over(self.jobs, "images", lambda: reencode(data), decoded)

    def drop_uploads_of(self, owner: int) -> None:
        """Forget a connection's unfinished upload (it started another, or it closed)."""
        for upload_id in [u.id for u in self.uploads.values() if u.owner == owner]:
            del self.uploads[upload_id]

    def expire(self, wall: float) -> None:
        """Drop uploads idle for too long."""
        for upload_id in [u.id for u in self.uploads.values() if wall - u.last_at > UPLOAD_IDLE_S]:
            del self.uploads[upload_id]

    def _upload(self, owner: int, upload_id: int) -> Upload:
        upload = self.uploads.get(upload_id)
        if upload is None or upload.owner != owner:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no upload {upload_id} in progress on this connection")
        return upload

    def moderate(self, entry: int, approve: bool, reason: str | None, wall: float, then: Callable[[Entry], None],
                 fault: Fault) -> None:
        """Approve or reject an entry (every action is kept); ``then`` gets the entry as it now stands."""
        if entry not in self.entries:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"no entry {entry}")

        def moderated(after: Entry) -> None:
            before = self.entries[entry]
            key = (after.community, after.challenge, after.wallet)
            if (before.status == "rejected") != (after.status == "rejected"):  # a rejected entry frees its place
                self.entry_counts[key] = self.entry_counts.get(key, 0) + (-1 if after.status == "rejected" else 1)
            self.entries[entry] = after
            then(after)
        hand_over(self.jobs, "store", lambda: self.store.moderate(entry, "approve" if approve else "reject", HOST, reason,
                                                          wall), applied(fault, moderated))

    # ---- voting and results -----------------------------------------------------------------------
    def vote(self, community: str, challenge: str, wallet: str, choices: list[int], wall: float,
             then: Callable[[tuple[int, ...]], None], fault: Fault) -> None:
        """A member's one ballot while the challenge is voting: approved entries only, none of their own."""
        rules = self.challenge(community, challenge)
        if not self.membership.is_member(community, wallet):
            raise ProtocolError(ErrorCode.REFUSED, f"not_member: only members of {community} vote")
        if self.phase(community, challenge, wall) != "voting":
            raise ProtocolError(ErrorCode.REFUSED, f"not_open: {rules.title} is not in its voting phase")
        if len(set(choices)) != len(choices):
            raise ProtocolError(ErrorCode.INVALID, "vote: choices: an entry may appear only once")
        entries = {e.id: e for e in self.entries.values()
                   if e.community == community and e.challenge == challenge and e.status == "approved"}
        unknown = [c for c in choices if c not in entries]
        if unknown:
            raise ProtocolError(ErrorCode.UNKNOWN_TARGET, f"entries {unknown} are not approved entries of {rules.title}")
        if any(entries[c].wallet == wallet for c in choices):
            raise ProtocolError(ErrorCode.REFUSED, "own_entry: you may not vote for your own entry")
        key = (community, challenge, wallet)
        if key in self.voting or wallet in self.voters.get((community, challenge), ()):
            raise ProtocolError(ErrorCode.REFUSED, "already_voted: you have cast your ballot in this challenge")
        self.voting.add(key)
        ballot = tuple(choices) if rules.ballot == "ranked" else tuple(sorted(choices))

        def cast(outcome: Outcome[object]) -> None:
            self.voting.discard(key)
            if outcome.error is not None:
                fault(*refused(outcome.error))
                return
            self.voters.setdefault((community, challenge), set()).add(wallet)
            then(ballot)
        try:
            hand_over(self.jobs, "store", lambda: self.store.vote(community, challenge, wallet, ballot, wall), cast)
        except ProtocolError:
            self.voting.discard(key)
            raise

    def count(self, community: str, challenge: str) -> list[int]:
        """The ranking of a challenge's approved entries from its ballots, best first: the top
        ``featured`` places for ranked ballots (sequential instant run-off), every entry for approval.
        Reads the store: for the ``store`` lane."""
        rules = self.challenge(community, challenge)
        order = [str(e.id) for e in self.store.entries(community, challenge, "approved")]
        if not order:
            return []
        ballots = [[str(c) for c in b.choices] for b in self.store.ballots(community, challenge)]
        result = (count_irv(ballots, order, top=rules.featured) if rules.ballot == "ranked"
                  else count_approval(ballots, order))
        return [int(entry) for entry in result.ranking]

    def feature(self, community: str, challenge: str, wall: float,
                then: Callable[[FeaturedEvent, list[Featured], list[Entry]], None], fault: Fault) -> None:
        """Publish a closed challenge's top entries (once); ``then`` gets the event to send and who to award."""
        rules = self.challenge(community, challenge)
        if self.phase(community, challenge, wall) != "closed":
            raise ProtocolError(ErrorCode.REFUSED, f"not_closed: {rules.title} is still "
                                                   f"{self.phase(community, challenge, wall)}; results wait for the close")

        def published(featured: list[Featured]) -> None:
            self.ranks |= {f.entry: f.rank for f in featured}
            entries = [self.entries[f.entry] for f in featured]
            shown = [FeaturedEntry(entry=f.entry, title=e.title, by=self.membership.name(community, e.wallet),
                                   rank=f.rank) for f, e in zip(featured, entries)]
            then(FeaturedEvent(community=community, challenge=challenge, entries=shown), featured, entries)
        hand_over(self.jobs, "store", lambda: self.store.feature(
            community, challenge, self.count(community, challenge)[:rules.featured], wall), applied(fault, published))



def received(entry: Entry) -> EntryReceived:
    """The ``entry`` reply for a kept entry."""
    return EntryReceived(entry=entry.id, community=entry.community, challenge=entry.challenge, title=entry.title,
                         status=entry.status, width=entry.width, height=entry.height)
