"""The community store in SQLite: ``data_dir/communities.sqlite``, WAL, ``synchronous=FULL``.

Each write is one ``BEGIN IMMEDIATE`` transaction that checks its rule inside (the member cap, an
invite's uses and time, a ban, entries per member, one ballot or answer per wallet), so writers in
threads or processes sharing the data directory take turns on SQLite's write lock; the schema's
UNIQUE constraints (:mod:`server.storage.community_schema`) stand behind the checks. A write is
durable when its method returns.

Connections: write methods (those taking ``now``, and ``open_poll``) use the writer connection,
under a lock so threads may share a store, and read the record they return inside their
transaction. Read methods use a query-only connection of the calling thread: they see the last
commit and never wait for a writer (WAL).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

from server.storage import community_schema as rows
from server.storage.community_store import (
    Answer,
    Ballot,
    CommunityRefusal,
    Engagement,
    Entry,
    EntryStatus,
    Featured,
    Invite,
    JoinRequest,
    Member,
    Moderation,
    Phase,
    Poll,
    PollResults,
    RequestStatus,
)


class SqliteCommunityStore:
    """Every community of a server in ``data_dir/communities.sqlite`` (a :class:`CommunityStore`)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / rows.DB_FILE
        self._db = rows.connect(self.path, write=True)
        try:
            rows.ensure_schema(self._db, self.path)
        except BaseException:
            self._db.close()
            raise
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

    def close(self) -> None:
        """Close the writer and every thread's reader."""
        with self._lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, rows.transaction(self._db) as db:
            yield db

    def _read(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = rows.connect(self.path, write=False)
            self._readers.append(db)  # list.append is atomic: no lock, so a reader never waits for a writer
        return db

    # ---- membership ------------------------------------------------------------------------
    def join(self, community: str, wallet: str, name: str, *, cap: int, role: str, invite: str | None,
             now: float) -> Member:
        """Make ``wallet`` a member, taking one use of ``invite``, under ``cap``, in one transaction."""
        with self._write() as db:
            return _admit(db, community, wallet, name, cap=cap, role=role, invite=invite, now=now)

    def leave(self, community: str, wallet: str, now: float) -> Member:
        """End a membership (not_member if there is none)."""
        with self._write() as db:
            current = _current_member(db, community, wallet)
            return rows.append_membership(db, current, status="left", event="leave", at=now)

    def ban(self, community: str, wallet: str, by: str, now: float) -> Member:
        """Ban ``wallet`` for good (a member, a former member or a requester); a repeat returns the ban.

        A pending join request is refused with the reason ``banned``. A wallet with no membership
        gets a ban row named as its last request (or its wallet), with an empty role, joined ``now``.
        """
        with self._write() as db:
            latest = rows.latest_member(db, community, wallet)
            if latest is not None and latest.status == "banned":
                return latest
            db.execute("UPDATE requests SET status = 'refused', decided_by = ?, reason = 'banned', decided_at = ?"
                       " WHERE community = ? AND wallet = ? AND status = 'pending'", (by, now, community, wallet))
            if latest is None:
                asked = rows.last_request(db, community, wallet)
                latest = Member(community, wallet, wallet if asked is None else asked.name, "", "banned", now, None)
            return rows.append_membership(db, latest, status="banned", event="ban", at=now, by=by)

    def member(self, community: str, wallet: str) -> Member | None:
        """The wallet's membership (the latest, whatever its status), or None."""
        return rows.latest_member(self._read(), community, wallet)

    def members(self, community: str) -> list[Member]:
        """Current members, in the order they joined."""
        return rows.current_members(self._read(), community)

    def count(self, community: str) -> int:
        """How many current members."""
        return rows.member_count(self._read(), community)

    def set_role(self, community: str, wallet: str, role: str, now: float) -> Member:
        """Give a member another role (the change is kept in the history)."""
        with self._write() as db:
            current = _current_member(db, community, wallet)
            if current.role == role:
                return current
            return rows.append_membership(db, current, status="member", event="role", at=now, role=role)

    # ---- invites and requests ----------------------------------------------------------------
    def create_invite(self, community: str, code: str, *, issued_by: str, max_uses: int, expires_at: float,
                      now: float) -> Invite:
        """A new invite code; a code the community already has is a ValueError (draw another)."""
        if max_uses < 1:
            raise ValueError(f"an invite needs at least one use, not {max_uses}")
        with self._write() as db:
            if rows.find_invite(db, community, code) is not None:
                raise ValueError(f"invite code {code!r} already exists in {community}")
            db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
                       (community, code, issued_by, max_uses, expires_at, now))
            return rows.found(rows.find_invite(db, community, code))

    def create_invites(self, community: str, issued: Sequence[tuple[str, str]], *, max_uses: int, expires_at: float,
                       now: float) -> list[Invite]:
        """Several invite codes in one transaction, as (code, issued_by) pairs; any clash is a ValueError and
        none is kept."""
        if max_uses < 1:
            raise ValueError(f"an invite needs at least one use, not {max_uses}")
        codes = [code for code, _ in issued]
        if len(set(codes)) != len(codes):
            raise ValueError("invite codes repeat within the wave")
        with self._write() as db:
            for code, by in issued:
                if rows.find_invite(db, community, code) is not None:
                    raise ValueError(f"invite code {code!r} already exists in {community}")
                db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
                           (community, code, by, max_uses, expires_at, now))
            return [rows.found(rows.find_invite(db, community, code)) for code in codes]

    def revoke_invite(self, community: str, code: str, now: float) -> Invite:
        """Withdraw an invite (unknown_invite if there is none; a repeat keeps the first revocation)."""
        with self._write() as db:
            if rows.find_invite(db, community, code) is None:
                raise CommunityRefusal("unknown_invite", f"{community} has no invite {code!r}")
            db.execute("UPDATE invites SET revoked_at = ? WHERE community = ? AND code = ? AND revoked_at IS NULL",
                       (now, community, code))
            return rows.found(rows.find_invite(db, community, code))

    def invites(self, community: str) -> list[Invite]:
        """Every invite of the community, newest first."""
        return rows.invites_of(self._read(), community)

    def request_join(self, community: str, wallet: str, name: str, now: float) -> JoinRequest:
        """Ask to join (a repeat returns the pending request); refuses banned and already_member."""
        with self._write() as db:
            _check_may_join(db, community, wallet)
            pending = rows.last_request(db, community, wallet, "AND status = 'pending'")
            if pending is not None:
                return pending
            db.execute("INSERT INTO requests (community, wallet, name, status, at) VALUES (?, ?, ?, 'pending', ?)",
                       (community, wallet, name, now))
            return rows.found(rows.last_request(db, community, wallet))

    def decide_request(self, community: str, wallet: str, *, approve: bool, by: str, reason: str | None,
                       cap: int, role: str, now: float) -> JoinRequest:
        """Approve (the wallet joins under ``cap`` in the same transaction) or refuse the pending request.

        Repeating the decision already taken returns the decided request; the contrary decision is
        refused ``already_decided``. Approving a wallet that has joined by invite meanwhile only
        marks the request approved.
        """
        with self._write() as db:
            last = rows.last_request(db, community, wallet)
            if last is None:
                raise CommunityRefusal("no_request", f"{wallet} has not asked to join {community}")
            if last.status != "pending":
                if (last.status == "approved") == approve:
                    return last
                raise CommunityRefusal("already_decided", f"the request of {wallet} was already {last.status}")
            membership = rows.latest_member(db, community, wallet)
            if approve and (membership is None or membership.status != "member"):
                _admit(db, community, wallet, last.name, cap=cap, role=role, invite=None, now=now)
            db.execute("UPDATE requests SET status = ?, decided_by = ?, reason = ?, decided_at = ?"
                       " WHERE community = ? AND wallet = ? AND status = 'pending'",
                       ("approved" if approve else "refused", by, reason, now, community, wallet))
            return rows.found(rows.last_request(db, community, wallet))

    def requests(self, community: str, status: RequestStatus | None = "pending") -> list[JoinRequest]:
        """Join requests (of one status, or all), oldest first."""
        return rows.requests_of(self._read(), community, status)

    # ---- engagement --------------------------------------------------------------------------
    def log(self, community: str, wallet: str, kind: str, amount: float, ref: str, now: float) -> Engagement:
        """Append to the engagement log once per (community, wallet, kind, ref); a repeat returns the first row."""
        with self._write() as db:
            first = rows.find_logged(db, community, wallet, kind, ref)
            if first is not None:
                return first
            db.execute("INSERT INTO engagement (community, wallet, kind, amount, at, ref) VALUES (?, ?, ?, ?, ?, ?)",
                       (community, wallet, kind, amount, now, ref))
            return rows.found(rows.find_logged(db, community, wallet, kind, ref))

    def engagement(self, community: str, since_seq: int = -1) -> list[Engagement]:
        """The log after ``since_seq``, in order."""
        return rows.engagement_after(self._read(), community, since_seq)

    # ---- challenges --------------------------------------------------------------------------
    def set_phase(self, community: str, challenge: str, phase: Phase, by: str, now: float) -> None:
        """Keep a host's override of a challenge's phase (every override stays in the history)."""
        if phase not in get_args(Phase):
            raise ValueError(f"unknown phase {phase!r} (known: {', '.join(get_args(Phase))})")
        with self._write() as db:
            db.execute("INSERT INTO phase_overrides (community, challenge, phase, by, at) VALUES (?, ?, ?, ?, ?)",
                       (community, challenge, phase, by, now))

    def phases(self, community: str) -> dict[str, tuple[Phase, float]]:
        """The overridden phase of each challenge, and when it was set."""
        return rows.phases_in_force(self._read(), community)

    def submit(self, community: str, challenge: str, wallet: str, title: str, image: bytes, *, sha256: str,
               width: int, height: int, max_per_member: int, now: float) -> Entry:
        """Store a member's entry and its image; rejected entries do not count towards ``max_per_member``."""
        if hashlib.sha256(image).hexdigest() != sha256:
            raise ValueError("the image's sha256 does not match the bytes given")
        with self._write() as db:
            _current_member(db, community, wallet)
            held = db.execute("SELECT COUNT(*) FROM entries WHERE community = ? AND challenge = ? AND wallet = ?"
                              " AND status != 'rejected'", (community, challenge, wallet)).fetchone()[0]
            if held >= max_per_member:
                raise CommunityRefusal("too_many_entries", f"{wallet} already has {held} entries in {challenge}"
                                       f" (at most {max_per_member} a member)")
            cursor = db.execute(
                "INSERT INTO entries (community, challenge, wallet, title, status, at, sha256, width, height, size)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                (community, challenge, wallet, title, now, sha256, width, height, len(image)))
            db.execute("INSERT INTO images VALUES (?, ?)", (cursor.lastrowid, image))
            return rows.known_entry(db, rows.found(cursor.lastrowid))

    def moderate(self, entry: int, action: Literal["approve", "reject"], by: str, reason: str | None,
                 now: float) -> Entry:
        """Approve or reject an entry once; the same decision again is kept too, the contrary one refused."""
        decided = {"approve": "approved", "reject": "rejected"}[action]
        with self._write() as db:
            found = rows.known_entry(db, entry)
            if found.status not in ("pending", decided):
                raise CommunityRefusal("already_decided", f"entry {entry} was already {found.status}")
            db.execute("INSERT INTO moderation (entry, action, by, reason, at) VALUES (?, ?, ?, ?, ?)",
                       (entry, action, by, reason, now))
            if found.status == "pending":
                db.execute("UPDATE entries SET status = ?, reason = ? WHERE id = ?",
                           (decided, reason if action == "reject" else None, entry))
            return rows.known_entry(db, entry)

    def moderation(self, entry: int) -> list[Moderation]:
        """Every action on an entry, oldest first."""
        return rows.moderation_of(self._read(), entry)

    def entries(self, community: str, challenge: str, status: EntryStatus | None = None) -> list[Entry]:
        """Entries of a challenge (of one status, or all), in submission order; their images stay unread."""
        return rows.entries_of(self._read(), community, challenge, status)

    def image(self, entry: int) -> bytes:
        """The stored image of an entry (the re-encoded JPEG); unknown_entry if there is none."""
        data = rows.image_of(self._read(), entry)
        if data is None:
            raise CommunityRefusal("unknown_entry", f"no entry {entry}")
        return data

    def vote(self, community: str, challenge: str, wallet: str, choices: tuple[int, ...], now: float) -> Ballot:
        """Record a member's one ballot in a challenge; refuses not_member and already_voted."""
        if len(set(choices)) != len(choices):
            raise ValueError(f"a ballot names each entry once, not {list(choices)}")
        with self._write() as db:
            _current_member(db, community, wallet)
            if rows.find_ballot(db, community, challenge, wallet) is not None:
                raise CommunityRefusal("already_voted", f"{wallet} has already voted in {challenge}")
            db.execute("INSERT INTO ballots (community, challenge, wallet, choices, at) VALUES (?, ?, ?, ?, ?)",
                       (community, challenge, wallet, json.dumps([int(c) for c in choices]), now))
            return rows.found(rows.find_ballot(db, community, challenge, wallet))

    def ballots(self, community: str, challenge: str) -> list[Ballot]:
        """Every ballot of a challenge, in the order they were cast."""
        return rows.ballots_of(self._read(), community, challenge)

    def feature(self, community: str, challenge: str, ranking: list[int], now: float) -> list[Featured]:
        """Publish a challenge's featured entries (ranks 1..K) once; a repeat returns the first result."""
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"a ranking names each entry once, not {ranking}")
        with self._write() as db:
            published = db.execute("SELECT 1 FROM results WHERE community = ? AND challenge = ?",
                                   (community, challenge)).fetchone()
            if published is None:
                for found in (rows.known_entry(db, entry) for entry in ranking):
                    if (found.community, found.challenge) != (community, challenge):
                        raise CommunityRefusal("unknown_entry", f"entry {found.id} is not in {community}/{challenge}")
                db.execute("INSERT INTO results VALUES (?, ?, ?)", (community, challenge, now))
                db.executemany("INSERT INTO featured VALUES (?, ?, ?, ?, ?)",
                               [(community, challenge, entry, rank, now) for rank, entry in enumerate(ranking, 1)])
            return rows.featured_of(db, community, challenge)

    def featured(self, community: str, challenge: str) -> list[Featured]:
        """The published featured entries, by rank (empty before publishing)."""
        return rows.featured_of(self._read(), community, challenge)

    # ---- polls ----------------------------------------------------------------------------------
    def open_poll(self, poll: Poll) -> Poll:
        """Keep a new poll (a repeat with the same id returns the first, whatever else it says)."""
        if not poll.options or poll.scope not in ("event", "community") or poll.results not in get_args(PollResults):
            raise ValueError(f"poll {poll.id!r} needs options, a scope (event, community) and results (live, on_close)")
        with self._write() as db:
            if rows.find_poll(db, poll.id) is None:
                db.execute("INSERT INTO polls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (poll.id, poll.scope, poll.owner, poll.question, json.dumps(list(poll.options)),
                            poll.results, poll.opened_at, poll.closes_at, poll.closed_at))
            return rows.known_poll(db, poll.id)

    def close_poll(self, poll: str, now: float) -> Poll:
        """Close a poll (unknown_poll if there is none; a repeat keeps the first closing time)."""
        with self._write() as db:
            rows.known_poll(db, poll)
            db.execute("UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (now, poll))
            return rows.known_poll(db, poll)

    def polls(self, owner: str, open_only: bool = False) -> list[Poll]:
        """The polls of an event or community, oldest first (open: not yet closed by :meth:`close_poll`)."""
        return rows.polls_of(self._read(), owner, open_only)

    def poll(self, poll: str) -> Poll | None:
        """One poll by id."""
        return rows.find_poll(self._read(), poll)

    def answer(self, poll: str, wallet: str, option: int, now: float) -> Answer:
        """Record a wallet's one answer; refuses unknown_poll, poll_closed, bad_option and already_answered."""
        with self._write() as db:
            found = rows.known_poll(db, poll)
            if found.closed_at is not None or (found.closes_at is not None and now >= found.closes_at):
                raise CommunityRefusal("poll_closed", f"poll {poll!r} is closed")
            if not 0 <= option < len(found.options):
                raise CommunityRefusal("bad_option", f"poll {poll!r} has options 0 to {len(found.options) - 1},"
                                       f" not {option}")
            if rows.find_answer(db, poll, wallet) is not None:
                raise CommunityRefusal("already_answered", f"{wallet} has already answered poll {poll!r}")
            db.execute("INSERT INTO answers (poll, wallet, option, at) VALUES (?, ?, ?, ?)",
                       (poll, wallet, option, now))
            return rows.found(rows.find_answer(db, poll, wallet))

    def tally(self, poll: str) -> list[int]:
        """Answers per option (unknown_poll if there is no such poll)."""
        db = self._read()
        return rows.tally_of(db, poll, len(rows.known_poll(db, poll).options))

    def answers(self, poll: str) -> list[Answer]:
        """Every answer of a poll, in order (for export)."""
        return rows.answers_of(self._read(), poll)


# ---- rules inside a write transaction ---------------------------------------------------------

def _admit(db: sqlite3.Connection, community: str, wallet: str, name: str, *, cap: int, role: str,
           invite: str | None, now: float) -> Member:
    """Add a membership: not banned, not a member, the invite valid (one use taken), under the cap."""
    _check_may_join(db, community, wallet)
    if invite is not None:
        _take_invite(db, community, invite, now)
    if rows.member_count(db, community) >= cap:
        raise CommunityRefusal("full", f"{community} has its {cap} members")
    joined = Member(community, wallet, name, role, "member", now, invite)
    return rows.append_membership(db, joined, status="member", event="join", at=now)


def _check_may_join(db: sqlite3.Connection, community: str, wallet: str) -> None:
    latest = rows.latest_member(db, community, wallet)
    if latest is not None and latest.status == "banned":
        raise CommunityRefusal("banned", f"{wallet} is banned from {community}")
    if latest is not None and latest.status == "member":
        raise CommunityRefusal("already_member", f"{wallet} is already a member of {community}")


def _take_invite(db: sqlite3.Connection, community: str, code: str, now: float) -> None:
    """Check an invite and take one of its uses (a conditional update: never past ``max_uses``)."""
    found = rows.find_invite(db, community, code)
    if found is None:
        raise CommunityRefusal("unknown_invite", f"{community} has no invite {code!r}")
    if found.revoked:
        raise CommunityRefusal("invite_revoked", f"invite {code!r} was withdrawn")
    if now >= found.expires_at:
        raise CommunityRefusal("invite_expired", f"invite {code!r} expired")
    taken = db.execute("UPDATE invites SET uses = uses + 1 WHERE community = ? AND code = ? AND uses < max_uses",
                       (community, code)).rowcount
    if taken != 1:
        raise CommunityRefusal("invite_used_up", f"invite {code!r} has had its {found.max_uses} uses")


def _current_member(db: sqlite3.Connection, community: str, wallet: str) -> Member:
    latest = rows.latest_member(db, community, wallet)
    if latest is None or latest.status != "member":
        raise CommunityRefusal("not_member", f"{wallet} is not a member of {community}")
    return latest
