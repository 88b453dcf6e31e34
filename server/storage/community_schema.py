"""The community store's schema and what stands on it: the tables, the lookups, and the rules of
every operation, in SQL that both backends speak.

Each backend (:mod:`server.storage.community_sqlite`, :mod:`server.storage.community_postgres`)
holds its connections and its write transaction; :class:`SqlCommunityStore` holds the rules and
runs them through a small connection interface (:class:`Db`: ``execute`` with ``?``
placeholders, which the PostgreSQL backend adapts), so both stores check, write and refuse
alike. This module also holds the SQLite tables (the PostgreSQL backend derives its own from
them), the SQLite transaction, the row-to-record mapping and the lookups by key that the rules
and reads share. Rows are only added, never deleted; the few columns that change only move
forward (a membership row's ``latest`` flag drops to 0, an invite's ``uses`` grows and
``revoked_at`` is set once, an entry's or request's status leaves ``pending`` once, a poll's
``closed_at`` is set once). Every query of the store is served by an index below. UNIQUE
constraints are the second line of defence behind the checks the store makes inside its
transactions.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar, get_args

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
from showroom.errors import ShowroomError

DB_FILE = "communities.sqlite"
SCHEMA_VERSION = 1
"""Written to ``meta``; a file with a higher version was written by a newer Showroom and is refused."""
BUSY_TIMEOUT_S = 30.0

TABLES = (
    # Membership history: one row per join, role change, leave or ban. The latest row of a wallet
    # (latest = 1, at most one: the partial UNIQUE index) is its state; ``since`` is the seq of
    # the join that began the membership, so members list in joining order across role changes.
    """CREATE TABLE IF NOT EXISTS memberships (
        seq INTEGER PRIMARY KEY, community TEXT NOT NULL, wallet TEXT NOT NULL, name TEXT NOT NULL,
        role TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('member', 'left', 'banned')),
        joined_at REAL NOT NULL, invite TEXT, since INTEGER NOT NULL,
        event TEXT NOT NULL CHECK (event IN ('join', 'role', 'leave', 'ban')), at REAL NOT NULL, by TEXT,
        latest INTEGER NOT NULL CHECK (latest IN (0, 1)))""",
    "CREATE UNIQUE INDEX IF NOT EXISTS memberships_latest ON memberships (community, wallet) WHERE latest = 1",
    """CREATE INDEX IF NOT EXISTS memberships_current ON memberships (community, joined_at, since)
        WHERE latest = 1 AND status = 'member'""",
    """CREATE TABLE IF NOT EXISTS invites (
        community TEXT NOT NULL, code TEXT NOT NULL, issued_by TEXT NOT NULL,
        max_uses INTEGER NOT NULL CHECK (max_uses >= 1),
        uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
        expires_at REAL NOT NULL, revoked_at REAL, created_at REAL NOT NULL, PRIMARY KEY (community, code))""",
    "CREATE INDEX IF NOT EXISTS invites_newest ON invites (community, created_at)",
    # Join requests: every request is kept; at most one pending per wallet (partial UNIQUE index).
    """CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY, community TEXT NOT NULL, wallet TEXT NOT NULL, name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'refused')), at REAL NOT NULL,
        decided_by TEXT, reason TEXT, decided_at REAL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS requests_pending ON requests (community, wallet) WHERE status = 'pending'",
    "CREATE INDEX IF NOT EXISTS requests_by_wallet ON requests (community, wallet, id)",
    "CREATE INDEX IF NOT EXISTS requests_by_status ON requests (community, status, id)",
    # The engagement log: append-only, seq never reused, one row per (community, wallet, kind, ref).
    """CREATE TABLE IF NOT EXISTS engagement (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, community TEXT NOT NULL, wallet TEXT NOT NULL, kind TEXT NOT NULL,
        amount REAL NOT NULL, at REAL NOT NULL, ref TEXT NOT NULL, UNIQUE (community, wallet, kind, ref))""",
    "CREATE INDEX IF NOT EXISTS engagement_in_order ON engagement (community, seq)",
    # Hosts' phase overrides, every one kept; the latest per challenge is in force.
    """CREATE TABLE IF NOT EXISTS phase_overrides (
        id INTEGER PRIMARY KEY, community TEXT NOT NULL, challenge TEXT NOT NULL,
        phase TEXT NOT NULL CHECK (phase IN ('draft', 'submissions', 'review', 'voting', 'closed')),
        by TEXT NOT NULL, at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS phase_overrides_latest ON phase_overrides (community, challenge, id)",
    # Entries, with their image in a table of its own so that listing entries never reads a BLOB.
    """CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT, community TEXT NOT NULL, challenge TEXT NOT NULL,
        wallet TEXT NOT NULL, title TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')), reason TEXT,
        at REAL NOT NULL, sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
        width INTEGER NOT NULL CHECK (width > 0), height INTEGER NOT NULL CHECK (height > 0),
        size INTEGER NOT NULL CHECK (size > 0))""",
    "CREATE INDEX IF NOT EXISTS entries_in_order ON entries (community, challenge, id)",
    "CREATE INDEX IF NOT EXISTS entries_by_member ON entries (community, challenge, wallet)",
    """CREATE TABLE IF NOT EXISTS images (
        entry INTEGER PRIMARY KEY REFERENCES entries (id), png BLOB NOT NULL CHECK (length(png) > 0))""",
    """CREATE TABLE IF NOT EXISTS moderation (
        id INTEGER PRIMARY KEY, entry INTEGER NOT NULL REFERENCES entries (id),
        action TEXT NOT NULL CHECK (action IN ('approve', 'reject')), by TEXT NOT NULL, reason TEXT,
        at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS moderation_by_entry ON moderation (entry, id)",
    # One ballot per member per challenge; choices are a JSON array of entry ids.
    """CREATE TABLE IF NOT EXISTS ballots (
        id INTEGER PRIMARY KEY, community TEXT NOT NULL, challenge TEXT NOT NULL, wallet TEXT NOT NULL,
        choices TEXT NOT NULL, at REAL NOT NULL, UNIQUE (community, challenge, wallet))""",
    "CREATE INDEX IF NOT EXISTS ballots_in_order ON ballots (community, challenge, id)",
    # A challenge's result is published once (results), its featured entries with it.
    """CREATE TABLE IF NOT EXISTS results (
        community TEXT NOT NULL, challenge TEXT NOT NULL, published_at REAL NOT NULL,
        PRIMARY KEY (community, challenge))""",
    """CREATE TABLE IF NOT EXISTS featured (
        community TEXT NOT NULL, challenge TEXT NOT NULL, entry INTEGER NOT NULL REFERENCES entries (id),
        rank INTEGER NOT NULL CHECK (rank >= 1), at REAL NOT NULL, PRIMARY KEY (community, challenge, rank),
        UNIQUE (community, challenge, entry), FOREIGN KEY (community, challenge) REFERENCES results)""",
    # Polls (options a JSON array) and one answer per wallet per poll.
    """CREATE TABLE IF NOT EXISTS polls (
        id TEXT PRIMARY KEY, scope TEXT NOT NULL CHECK (scope IN ('event', 'community')), owner TEXT NOT NULL,
        question TEXT NOT NULL, options TEXT NOT NULL, results TEXT NOT NULL CHECK (results IN ('live', 'on_close')),
        opened_at REAL NOT NULL, closes_at REAL, closed_at REAL)""",
    "CREATE INDEX IF NOT EXISTS polls_by_owner ON polls (owner, opened_at)",
    """CREATE TABLE IF NOT EXISTS answers (
        seq INTEGER PRIMARY KEY, poll TEXT NOT NULL REFERENCES polls (id), wallet TEXT NOT NULL,
        option INTEGER NOT NULL CHECK (option >= 0), at REAL NOT NULL, UNIQUE (poll, wallet))""",
    "CREATE INDEX IF NOT EXISTS answers_by_option ON answers (poll, option)",
)
"""The tables and indexes, one statement each, in SQLite's types (``meta`` is created first, apart)."""

MEMBER = "community, wallet, name, role, status, joined_at, invite"
INVITE = "community, code, issued_by, max_uses, uses, expires_at, revoked_at IS NOT NULL, created_at"
REQUEST = "community, wallet, name, status, at, decided_by, reason"
ENGAGEMENT = "seq, community, wallet, kind, amount, at, ref"
ENTRY = "id, community, challenge, wallet, title, status, reason, at, sha256, width, height, size"
MODERATION = "entry, action, by, reason, at"
BALLOT = "community, challenge, wallet, choices, at"
FEATURED = "community, challenge, entry, rank, at"
POLL = "id, scope, owner, question, options, results, opened_at, closes_at, closed_at"
ANSWER = "poll, wallet, option, at"
"""Column lists matching the record dataclasses' fields, in order."""
CURRENT = "FROM memberships WHERE community = ? AND latest = 1 AND status = 'member'"
"""The current members of a community (served by the partial index ``memberships_current``)."""


T = TypeVar("T")


class Rows(Protocol):
    """What a statement returns: rows as tuples, and how many rows an UPDATE changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Db(Protocol):
    """A connection to a community store, as the rules and lookups use it (a ``sqlite3.Connection`` is one)."""

    def execute(self, sql: str, args: Sequence[Any] = (), /) -> Rows:
        """Run one statement (``?`` placeholders)."""
        ...


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception): one writer at a time, across processes."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def connect(path: Path, *, write: bool) -> sqlite3.Connection:
    """A connection to ``path``: the writer in WAL mode with ``synchronous=FULL``, or a query-only reader."""
    db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    try:
        if write:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
        else:
            db.execute("PRAGMA query_only=ON")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise ShowroomError(f"{path}: not a community store ({exc})") from exc
    return db


def ensure_schema(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables of a new store, or check that an existing one is of a version this code reads."""
    with transaction(db):
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        check_version(found, str(path), "use another --data-dir")
        for statement in TABLES:
            db.execute(statement)
        if found is None:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


def check_version(found: Any, where: str, elsewhere: str) -> None:
    """Refuse a store whose ``meta`` row ``found`` (None in a new store) names a version this code cannot read;
    ``elsewhere`` says where else to keep the store."""
    version = None if found is None else str(found[0])
    if version is not None and not version.isdigit():
        raise ShowroomError(f"{where}: unreadable community store schema version {version!r} in its meta table")
    if version is not None and int(version) > SCHEMA_VERSION:
        raise ShowroomError(f"{where}: community store schema version {version} is newer than this Showroom"
                            f" reads (up to {SCHEMA_VERSION}); upgrade Showroom or {elsewhere}")


# ---- rows to records -------------------------------------------------------------------------

def fetch_one(db: Db, make: Callable[..., T], sql: str, args: tuple[Any, ...]) -> T | None:
    """The first row of a query as a record made by ``make(*row)``, or None."""
    row = db.execute(sql, args).fetchone()
    return None if row is None else make(*row)


def fetch_all(db: Db, make: Callable[..., T], sql: str, args: tuple[Any, ...]) -> list[T]:
    """Every row of a query as records made by ``make(*row)``."""
    return [make(*row) for row in db.execute(sql, args)]


def make_invite(community: str, code: str, issued_by: str, max_uses: int, uses: int, expires_at: float,
                revoked: int, created_at: float) -> Invite:
    """An ``INVITE`` row as a record."""
    return Invite(community, code, issued_by, max_uses, uses, expires_at, bool(revoked), created_at)


def make_ballot(community: str, challenge: str, wallet: str, choices: str, at: float) -> Ballot:
    """A ``BALLOT`` row as a record (choices decoded from JSON)."""
    return Ballot(community, challenge, wallet, tuple(json.loads(choices)), at)


def make_poll(id_: str, scope: Any, owner: str, question: str, options: str, results: Any, opened_at: float,
              closes_at: float | None, closed_at: float | None) -> Poll:
    """A ``POLL`` row as a record (options decoded from JSON)."""
    return Poll(id_, scope, owner, question, tuple(json.loads(options)), results, opened_at, closes_at, closed_at)


# ---- lookups by key, on whichever connection is given ------------------------------------------

def found(record: T | None) -> T:
    """``record``, which a transaction has just written, so it is there."""
    assert record is not None, "a row written in this transaction is missing"
    return record


def latest_member(db: Db, community: str, wallet: str) -> Member | None:
    """The wallet's latest membership row."""
    return fetch_one(db, Member, f"SELECT {MEMBER} FROM memberships WHERE community = ? AND wallet = ?"
                     " AND latest = 1", (community, wallet))


def member_count(db: Db, community: str) -> int:
    """How many current members."""
    return int(db.execute(f"SELECT COUNT(*) {CURRENT}", (community,)).fetchone()[0])


def find_invite(db: Db, community: str, code: str) -> Invite | None:
    """An invite by code."""
    return fetch_one(db, make_invite, f"SELECT {INVITE} FROM invites WHERE community = ? AND code = ?",
                     (community, code))


def last_request(db: Db, community: str, wallet: str, where: str = "") -> JoinRequest | None:
    """The wallet's latest join request (``where``: more conditions, e.g. ``AND status = 'pending'``)."""
    return fetch_one(db, JoinRequest, f"SELECT {REQUEST} FROM requests WHERE community = ? AND wallet = ?"
                     f" {where} ORDER BY id DESC LIMIT 1", (community, wallet))


def find_logged(db: Db, community: str, wallet: str, kind: str, ref: str) -> Engagement | None:
    """The engagement row of a (community, wallet, kind, ref)."""
    return fetch_one(db, Engagement, f"SELECT {ENGAGEMENT} FROM engagement WHERE community = ?"
                     " AND wallet = ? AND kind = ? AND ref = ?", (community, wallet, kind, ref))


def find_entry(db: Db, entry: int) -> Entry | None:
    """An entry by id (without its image)."""
    return fetch_one(db, Entry, f"SELECT {ENTRY} FROM entries WHERE id = ?", (entry,))


def known_entry(db: Db, entry: int) -> Entry:
    """An entry by id; refuses ``unknown_entry``."""
    found = find_entry(db, entry)
    if found is None:
        raise CommunityRefusal("unknown_entry", f"no entry {entry}")
    return found


def find_ballot(db: Db, community: str, challenge: str, wallet: str) -> Ballot | None:
    """A member's ballot in a challenge."""
    return fetch_one(db, make_ballot, f"SELECT {BALLOT} FROM ballots WHERE community = ? AND challenge = ?"
                     " AND wallet = ?", (community, challenge, wallet))


def featured_of(db: Db, community: str, challenge: str) -> list[Featured]:
    """A challenge's featured entries, by rank."""
    return fetch_all(db, Featured, f"SELECT {FEATURED} FROM featured WHERE community = ? AND challenge = ?"
                     " ORDER BY rank", (community, challenge))


def find_poll(db: Db, poll: str) -> Poll | None:
    """A poll by id."""
    return fetch_one(db, make_poll, f"SELECT {POLL} FROM polls WHERE id = ?", (poll,))


def known_poll(db: Db, poll: str) -> Poll:
    """A poll by id; refuses ``unknown_poll``."""
    found = find_poll(db, poll)
    if found is None:
        raise CommunityRefusal("unknown_poll", f"no poll {poll!r}")
    return found


def find_answer(db: Db, poll: str, wallet: str) -> Answer | None:
    """A wallet's answer to a poll."""
    return fetch_one(db, Answer, f"SELECT {ANSWER} FROM answers WHERE poll = ? AND wallet = ?", (poll, wallet))


def append_membership(db: Db, base: Member, *, status: str, event: str, at: float,
                      by: str | None = None, role: str | None = None) -> Member:
    """Add a membership row after ``base`` (the wallet's latest state, or a new one) and make it the latest.

    Earlier rows stay as history; only their ``latest`` flag drops. ``since`` carries the seq of
    the join that began the membership (a join starts a new one).
    """
    seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM memberships").fetchone()[0]
    previous = db.execute("SELECT since FROM memberships WHERE community = ? AND wallet = ? AND latest = 1",
                          (base.community, base.wallet)).fetchone()
    since = seq if event == "join" or previous is None else previous[0]
    db.execute("UPDATE memberships SET latest = 0 WHERE community = ? AND wallet = ? AND latest = 1",
               (base.community, base.wallet))
    db.execute("INSERT INTO memberships VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
               (seq, base.community, base.wallet, base.name, role or base.role, status, base.joined_at,
                base.invite, since, event, at, by))
    return found(latest_member(db, base.community, base.wallet))


# ---- the read queries of the store ------------------------------------------------------------

def current_members(db: Db, community: str) -> list[Member]:
    """Current members, in the order they joined."""
    return fetch_all(db, Member, f"SELECT {MEMBER} {CURRENT} ORDER BY joined_at, since", (community,))


def invites_of(db: Db, community: str) -> list[Invite]:
    """Every invite of a community, newest first."""
    return fetch_all(db, make_invite, f"SELECT {INVITE} FROM invites WHERE community = ?"
                     " ORDER BY created_at DESC, rowid DESC", (community,))


def requests_of(db: Db, community: str, status: str | None) -> list[JoinRequest]:
    """Join requests of one status (or all), oldest first."""
    where, args = ("", (community,)) if status is None else (" AND status = ?", (community, status))
    return fetch_all(db, JoinRequest, f"SELECT {REQUEST} FROM requests WHERE community = ?{where} ORDER BY id", args)


def engagement_after(db: Db, community: str, since_seq: int) -> list[Engagement]:
    """A community's engagement log after ``since_seq``, in order."""
    return fetch_all(db, Engagement, f"SELECT {ENGAGEMENT} FROM engagement WHERE community = ? AND seq > ?"
                     " ORDER BY seq", (community, since_seq))


def phases_in_force(db: Db, community: str) -> dict[str, tuple[Any, float]]:
    """The latest phase override of each challenge, and when it was set."""
    found = db.execute("SELECT challenge, phase, at FROM phase_overrides WHERE id IN"
                       " (SELECT MAX(id) FROM phase_overrides WHERE community = ? GROUP BY challenge)", (community,))
    return {challenge: (phase, at) for challenge, phase, at in found}


def moderation_of(db: Db, entry: int) -> list[Moderation]:
    """Every moderation action on an entry, oldest first."""
    return fetch_all(db, Moderation, f"SELECT {MODERATION} FROM moderation WHERE entry = ? ORDER BY id", (entry,))


def entries_of(db: Db, community: str, challenge: str, status: str | None) -> list[Entry]:
    """A challenge's entries of one status (or all), in submission order; the images table is not read."""
    where, args = ("", ()) if status is None else (" AND status = ?", (status,))
    return fetch_all(db, Entry, f"SELECT {ENTRY} FROM entries WHERE community = ? AND challenge = ?{where}"
                     " ORDER BY id", (community, challenge, *args))


def image_of(db: Db, entry: int) -> bytes | None:
    """An entry's stored image."""
    found = db.execute("SELECT png FROM images WHERE entry = ?", (entry,)).fetchone()
    return None if found is None else bytes(found[0])


def ballots_of(db: Db, community: str, challenge: str) -> list[Ballot]:
    """A challenge's ballots, in the order they were cast."""
    return fetch_all(db, make_ballot, f"SELECT {BALLOT} FROM ballots WHERE community = ? AND challenge = ?"
                     " ORDER BY id", (community, challenge))


def polls_of(db: Db, owner: str, open_only: bool) -> list[Poll]:
    """The polls of an event or community (only those not closed, if asked), oldest first."""
    where = " AND closed_at IS NULL" if open_only else ""
    return fetch_all(db, make_poll, f"SELECT {POLL} FROM polls WHERE owner = ?{where} ORDER BY opened_at, rowid",
                     (owner,))


def tally_of(db: Db, poll: str, options: int) -> list[int]:
    """Answers per option of a poll with ``options`` options."""
    counts = [0] * options
    for option, n in db.execute("SELECT option, COUNT(*) FROM answers WHERE poll = ? GROUP BY option", (poll,)):
        counts[option] = n
    return counts


def answers_of(db: Db, poll: str) -> list[Answer]:
    """Every answer of a poll, in order."""
    return fetch_all(db, Answer, f"SELECT {ANSWER} FROM answers WHERE poll = ? ORDER BY seq", (poll,))


# ---- the store's rules, on whichever backend ---------------------------------------------------

class SqlCommunityStore(ABC):
    """A :class:`~server.storage.community_store.CommunityStore` over SQL: every rule and read, once for both backends.

    A backend gives :meth:`_write` (one transaction holding the store's write lock, across
    processes, committed durably when the block ends and rolled back when it raises) and
    :meth:`_read` (a connection that sees the last commit and never waits for a writer). Write
    methods (those taking ``now``, and ``open_poll``) check their rule and read the record they
    return inside their transaction.
    """

    @abstractmethod
    def _write(self) -> AbstractContextManager[Db]:
        """One write transaction holding the store's write lock."""

    @abstractmethod
    def _read(self) -> Db:
        """The calling thread's read connection."""

    @abstractmethod
    def close(self) -> None:
        """Close the store."""

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
            return append_membership(db, current, status="left", event="leave", at=now)

    def ban(self, community: str, wallet: str, by: str, now: float) -> Member:
        """Ban ``wallet`` for good (a member, a former member or a requester); a repeat returns the ban.

        A pending join request is refused with the reason ``banned``. A wallet with no membership
        gets a ban row named as its last request (or its wallet), with an empty role, joined ``now``.
        """
        with self._write() as db:
            latest = latest_member(db, community, wallet)
            if latest is not None and latest.status == "banned":
                return latest
            db.execute("UPDATE requests SET status = 'refused', decided_by = ?, reason = 'banned', decided_at = ?"
                       " WHERE community = ? AND wallet = ? AND status = 'pending'", (by, now, community, wallet))
            if latest is None:
                asked = last_request(db, community, wallet)
                latest = Member(community, wallet, wallet if asked is None else asked.name, "", "banned", now, None)
            return append_membership(db, latest, status="banned", event="ban", at=now, by=by)

    def member(self, community: str, wallet: str) -> Member | None:
        """The wallet's membership (the latest, whatever its status), or None."""
        return latest_member(self._read(), community, wallet)

    def members(self, community: str) -> list[Member]:
        """Current members, in the order they joined."""
        return current_members(self._read(), community)

    def count(self, community: str) -> int:
        """How many current members."""
        return member_count(self._read(), community)

    def set_role(self, community: str, wallet: str, role: str, now: float) -> Member:
        """Give a member another role (the change is kept in the history)."""
        with self._write() as db:
            current = _current_member(db, community, wallet)
            if current.role == role:
                return current
            return append_membership(db, current, status="member", event="role", at=now, role=role)

    # ---- invites and requests ----------------------------------------------------------------
    def create_invite(self, community: str, code: str, *, issued_by: str, max_uses: int, expires_at: float,
                      now: float) -> Invite:
        """A new invite code; a code the community already has is a ValueError (draw another)."""
        if max_uses < 1:
            raise ValueError(f"an invite needs at least one use, not {max_uses}")
        with self._write() as db:
            if find_invite(db, community, code) is not None:
                raise ValueError(f"invite code {code!r} already exists in {community}")
            db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
                       (community, code, issued_by, max_uses, expires_at, now))
            return found(find_invite(db, community, code))

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
                if find_invite(db, community, code) is not None:
                    raise ValueError(f"invite code {code!r} already exists in {community}")
                db.execute("INSERT INTO invites VALUES (?, ?, ?, ?, 0, ?, NULL, ?)",
                           (community, code, by, max_uses, expires_at, now))
            return [found(find_invite(db, community, code)) for code in codes]

    def revoke_invite(self, community: str, code: str, now: float) -> Invite:
        """Withdraw an invite (unknown_invite if there is none; a repeat keeps the first revocation)."""
        with self._write() as db:
            if find_invite(db, community, code) is None:
                raise CommunityRefusal("unknown_invite", f"{community} has no invite {code!r}")
            db.execute("UPDATE invites SET revoked_at = ? WHERE community = ? AND code = ? AND revoked_at IS NULL",
                       (now, community, code))
            return found(find_invite(db, community, code))

    def invites(self, community: str) -> list[Invite]:
        """Every invite of the community, newest first."""
        return invites_of(self._read(), community)

    def request_join(self, community: str, wallet: str, name: str, now: float) -> JoinRequest:
        """Ask to join (a repeat returns the pending request); refuses banned and already_member."""
        with self._write() as db:
            _check_may_join(db, community, wallet)
            pending = last_request(db, community, wallet, "AND status = 'pending'")
            if pending is not None:
                return pending
            db.execute("INSERT INTO requests (community, wallet, name, status, at) VALUES (?, ?, ?, 'pending', ?)",
                       (community, wallet, name, now))
            return found(last_request(db, community, wallet))

    def decide_request(self, community: str, wallet: str, *, approve: bool, by: str, reason: str | None,
                       cap: int, role: str, now: float) -> JoinRequest:
        """Approve (the wallet joins under ``cap`` in the same transaction) or refuse the pending request.

        Repeating the decision already taken returns the decided request; the contrary decision is
        refused ``already_decided``. Approving a wallet that has joined by invite meanwhile only
        marks the request approved.
        """
        with self._write() as db:
            last = last_request(db, community, wallet)
            if last is None:
                raise CommunityRefusal("no_request", f"{wallet} has not asked to join {community}")
            if last.status != "pending":
                if (last.status == "approved") == approve:
                    return last
                raise CommunityRefusal("already_decided", f"the request of {wallet} was already {last.status}")
            membership = latest_member(db, community, wallet)
            if approve and (membership is None or membership.status != "member"):
                _admit(db, community, wallet, last.name, cap=cap, role=role, invite=None, now=now)
            db.execute("UPDATE requests SET status = ?, decided_by = ?, reason = ?, decided_at = ?"
                       " WHERE community = ? AND wallet = ? AND status = 'pending'",
                       ("approved" if approve else "refused", by, reason, now, community, wallet))
            return found(last_request(db, community, wallet))

    def requests(self, community: str, status: RequestStatus | None = "pending") -> list[JoinRequest]:
        """Join requests (of one status, or all), oldest first."""
        return requests_of(self._read(), community, status)

    # ---- engagement --------------------------------------------------------------------------
    def log(self, community: str, wallet: str, kind: str, amount: float, ref: str, now: float) -> Engagement:
        """Append to the engagement log once per (community, wallet, kind, ref); a repeat returns the first row."""
        with self._write() as db:
            first = find_logged(db, community, wallet, kind, ref)
            if first is not None:
                return first
            db.execute("INSERT INTO engagement (community, wallet, kind, amount, at, ref) VALUES (?, ?, ?, ?, ?, ?)",
                       (community, wallet, kind, amount, now, ref))
            return found(find_logged(db, community, wallet, kind, ref))

    def engagement(self, community: str, since_seq: int = -1) -> list[Engagement]:
        """The log after ``since_seq``, in order."""
        return engagement_after(self._read(), community, since_seq)

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
        return phases_in_force(self._read(), community)

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
            [(entry,)] = db.execute(
                "INSERT INTO entries (community, challenge, wallet, title, status, at, sha256, width, height, size)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING id",
                (community, challenge, wallet, title, now, sha256, width, height, len(image))).fetchall()
            db.execute("INSERT INTO images VALUES (?, ?)", (entry, image))
            return known_entry(db, entry)

    def moderate(self, entry: int, action: Literal["approve", "reject"], by: str, reason: str | None,
                 now: float) -> Entry:
        """Approve or reject an entry once; the same decision again is kept too, the contrary one refused."""
        decided = {"approve": "approved", "reject": "rejected"}[action]
        with self._write() as db:
            was = known_entry(db, entry)
            if was.status not in ("pending", decided):
                raise CommunityRefusal("already_decided", f"entry {entry} was already {was.status}")
            db.execute("INSERT INTO moderation (entry, action, by, reason, at) VALUES (?, ?, ?, ?, ?)",
                       (entry, action, by, reason, now))
            if was.status == "pending":
                db.execute("UPDATE entries SET status = ?, reason = ? WHERE id = ?",
                           (decided, reason if action == "reject" else None, entry))
            return known_entry(db, entry)

    def moderation(self, entry: int) -> list[Moderation]:
        """Every action on an entry, oldest first."""
        return moderation_of(self._read(), entry)

    def entries(self, community: str, challenge: str, status: EntryStatus | None = None) -> list[Entry]:
        """Entries of a challenge (of one status, or all), in submission order; their images stay unread."""
        return entries_of(self._read(), community, challenge, status)

    def image(self, entry: int) -> bytes:
        """The stored image of an entry (the re-encoded JPEG); unknown_entry if there is none."""
        data = image_of(self._read(), entry)
        if data is None:
            raise CommunityRefusal("unknown_entry", f"no entry {entry}")
        return data

    def vote(self, community: str, challenge: str, wallet: str, choices: tuple[int, ...], now: float) -> Ballot:
        """Record a member's one ballot in a challenge; refuses not_member and already_voted."""
        if len(set(choices)) != len(choices):
            raise ValueError(f"a ballot names each entry once, not {list(choices)}")
        with self._write() as db:
            _current_member(db, community, wallet)
            if find_ballot(db, community, challenge, wallet) is not None:
                raise CommunityRefusal("already_voted", f"{wallet} has already voted in {challenge}")
            db.execute("INSERT INTO ballots (community, challenge, wallet, choices, at) VALUES (?, ?, ?, ?, ?)",
                       (community, challenge, wallet, json.dumps([int(c) for c in choices]), now))
            return found(find_ballot(db, community, challenge, wallet))

    def ballots(self, community: str, challenge: str) -> list[Ballot]:
        """Every ballot of a challenge, in the order they were cast."""
        return ballots_of(self._read(), community, challenge)

    def feature(self, community: str, challenge: str, ranking: list[int], now: float) -> list[Featured]:
        """Publish a challenge's featured entries (ranks 1..K) once; a repeat returns the first result."""
        if len(set(ranking)) != len(ranking):
            raise ValueError(f"a ranking names each entry once, not {ranking}")
        with self._write() as db:
            published = db.execute("SELECT 1 FROM results WHERE community = ? AND challenge = ?",
                                   (community, challenge)).fetchone()
            if published is None:
                for ranked in (known_entry(db, entry) for entry in ranking):
                    if (ranked.community, ranked.challenge) != (community, challenge):
                        raise CommunityRefusal("unknown_entry", f"entry {ranked.id} is not in {community}/{challenge}")
                db.execute("INSERT INTO results VALUES (?, ?, ?)", (community, challenge, now))
                for rank, entry in enumerate(ranking, 1):
                    db.execute("INSERT INTO featured VALUES (?, ?, ?, ?, ?)", (community, challenge, entry, rank, now))
            return featured_of(db, community, challenge)

    def featured(self, community: str, challenge: str) -> list[Featured]:
        """The published featured entries, by rank (empty before publishing)."""
        return featured_of(self._read(), community, challenge)

    # ---- polls ----------------------------------------------------------------------------------
    def open_poll(self, poll: Poll) -> Poll:
        """Keep a new poll (a repeat with the same id returns the first, whatever else it says)."""
        if not poll.options or poll.scope not in ("event", "community") or poll.results not in get_args(PollResults):
            raise ValueError(f"poll {poll.id!r} needs options, a scope (event, community) and results (live, on_close)")
        with self._write() as db:
            if find_poll(db, poll.id) is None:
                db.execute("INSERT INTO polls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (poll.id, poll.scope, poll.owner, poll.question, json.dumps(list(poll.options)),
                            poll.results, poll.opened_at, poll.closes_at, poll.closed_at))
            return known_poll(db, poll.id)

    def close_poll(self, poll: str, now: float) -> Poll:
        """Close a poll (unknown_poll if there is none; a repeat keeps the first closing time)."""
        with self._write() as db:
            known_poll(db, poll)
            db.execute("UPDATE polls SET closed_at = ? WHERE id = ? AND closed_at IS NULL", (now, poll))
            return known_poll(db, poll)

    def polls(self, owner: str, open_only: bool = False) -> list[Poll]:
        """The polls of an event or community, oldest first (open: not yet closed by :meth:`close_poll`)."""
        return polls_of(self._read(), owner, open_only)

    def poll(self, poll: str) -> Poll | None:
        """One poll by id."""
        return find_poll(self._read(), poll)

    def answer(self, poll: str, wallet: str, option: int, now: float) -> Answer:
        """Record a wallet's one answer; refuses unknown_poll, poll_closed, bad_option and already_answered."""
        with self._write() as db:
            asked = known_poll(db, poll)
            if asked.closed_at is not None or (asked.closes_at is not None and now >= asked.closes_at):
                raise CommunityRefusal("poll_closed", f"poll {poll!r} is closed")
            if not 0 <= option < len(asked.options):
                raise CommunityRefusal("bad_option", f"poll {poll!r} has options 0 to {len(asked.options) - 1},"
                                       f" not {option}")
            if find_answer(db, poll, wallet) is not None:
                raise CommunityRefusal("already_answered", f"{wallet} has already answered poll {poll!r}")
            db.execute("INSERT INTO answers (poll, wallet, option, at) VALUES (?, ?, ?, ?)",
                       (poll, wallet, option, now))
            return found(find_answer(db, poll, wallet))

    def tally(self, poll: str) -> list[int]:
        """Answers per option (unknown_poll if there is no such poll)."""
        db = self._read()
        return tally_of(db, poll, len(known_poll(db, poll).options))

    def answers(self, poll: str) -> list[Answer]:
        """Every answer of a poll, in order (for export)."""
        return answers_of(self._read(), poll)


# ---- rules inside a write transaction ---------------------------------------------------------

def _admit(db: Db, community: str, wallet: str, name: str, *, cap: int, role: str, invite: str | None,
           now: float) -> Member:
    """Add a membership: not banned, not a member, the invite valid (one use taken), under the cap."""
    _check_may_join(db, community, wallet)
    if invite is not None:
        _take_invite(db, community, invite, now)
    if member_count(db, community) >= cap:
        raise CommunityRefusal("full", f"{community} has its {cap} members")
    joined = Member(community, wallet, name, role, "member", now, invite)
    return append_membership(db, joined, status="member", event="join", at=now)


def _check_may_join(db: Db, community: str, wallet: str) -> None:
    latest = latest_member(db, community, wallet)
    if latest is not None and latest.status == "banned":
        raise CommunityRefusal("banned", f"{wallet} is banned from {community}")
    if latest is not None and latest.status == "member":
        raise CommunityRefusal("already_member", f"{wallet} is already a member of {community}")


def _take_invite(db: Db, community: str, code: str, now: float) -> None:
    """Check an invite and take one of its uses (a conditional update: never past ``max_uses``)."""
    invite = find_invite(db, community, code)
    if invite is None:
        raise CommunityRefusal("unknown_invite", f"{community} has no invite {code!r}")
    if invite.revoked:
        raise CommunityRefusal("invite_revoked", f"invite {code!r} was withdrawn")
    if now >= invite.expires_at:
        raise CommunityRefusal("invite_expired", f"invite {code!r} expired")
    taken = db.execute("UPDATE invites SET uses = uses + 1 WHERE community = ? AND code = ? AND uses < max_uses",
                       (community, code)).rowcount
    if taken != 1:
        raise CommunityRefusal("invite_used_up", f"invite {code!r} has had its {invite.max_uses} uses")


def _current_member(db: Db, community: str, wallet: str) -> Member:
    latest = latest_member(db, community, wallet)
    if latest is None or latest.status != "member":
        raise CommunityRefusal("not_member", f"{wallet} is not a member of {community}")
    return latest
