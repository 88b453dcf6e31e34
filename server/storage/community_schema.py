"""The community store's SQLite schema and what stands on it: version check, connections, lookups.

:mod:`server.storage.community_sqlite` holds the rules; this module holds the tables, the
transaction, the row-to-record mapping and the lookups by key that the rules and reads share.
Rows are only added, never deleted; the few columns that change only move forward (a membership
row's ``latest`` flag drops to 0, an invite's ``uses`` grows and ``revoked_at`` is set once, an
entry's or request's status leaves ``pending`` once, a poll's ``closed_at`` is set once). Every
query of the store is served by an index below. UNIQUE constraints are the second line of
defence behind the checks the store makes inside its transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from server.storage.community_store import (
    Answer,
    Ballot,
    CommunityRefusal,
    Engagement,
    Entry,
    Featured,
    Invite,
    JoinRequest,
    Member,
    Moderation,
    Poll,
)
from showroom.errors import ShowroomError

DB_FILE = "communities.sqlite"
SCHEMA_VERSION = 1
"""Written to ``meta``; a file with a higher version was written by a newer Showroom and is refused."""
BUSY_TIMEOUT_S = 30.0

_TABLES = (
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
        version = None if found is None else str(found[0])
        if version is not None and not version.isdigit():
            raise ShowroomError(f"{path}: unreadable community store schema version {version!r} in its meta table")
        if version is not None and int(version) > SCHEMA_VERSION:
            raise ShowroomError(f"{path}: community store schema version {version} is newer than this Showroom"
                                f" reads (up to {SCHEMA_VERSION}); upgrade Showroom or use another --data-dir")
        for statement in _TABLES:
            db.execute(statement)
        if found is None:
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))


# ---- rows to records -------------------------------------------------------------------------

def fetch_one(db: sqlite3.Connection, make: Callable[..., T], sql: str, args: tuple[Any, ...]) -> T | None:
    """The first row of a query as a record made by ``make(*row)``, or None."""
    row = db.execute(sql, args).fetchone()
    return None if row is None else make(*row)


def fetch_all(db: sqlite3.Connection, make: Callable[..., T], sql: str, args: tuple[Any, ...]) -> list[T]:
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


def latest_member(db: sqlite3.Connection, community: str, wallet: str) -> Member | None:
    """The wallet's latest membership row."""
    return fetch_one(db, Member, f"SELECT {MEMBER} FROM memberships WHERE community = ? AND wallet = ?"
                     " AND latest = 1", (community, wallet))


def member_count(db: sqlite3.Connection, community: str) -> int:
    """How many current members."""
    return int(db.execute(f"SELECT COUNT(*) {CURRENT}", (community,)).fetchone()[0])


def find_invite(db: sqlite3.Connection, community: str, code: str) -> Invite | None:
    """An invite by code."""
    return fetch_one(db, make_invite, f"SELECT {INVITE} FROM invites WHERE community = ? AND code = ?",
                     (community, code))


def last_request(db: sqlite3.Connection, community: str, wallet: str, where: str = "") -> JoinRequest | None:
    """The wallet's latest join request (``where``: more conditions, e.g. ``AND status = 'pending'``)."""
    return fetch_one(db, JoinRequest, f"SELECT {REQUEST} FROM requests WHERE community = ? AND wallet = ?"
                     f" {where} ORDER BY id DESC LIMIT 1", (community, wallet))


def find_logged(db: sqlite3.Connection, community: str, wallet: str, kind: str, ref: str) -> Engagement | None:
    """The engagement row of a (community, wallet, kind, ref)."""
    return fetch_one(db, Engagement, f"SELECT {ENGAGEMENT} FROM engagement WHERE community = ?"
                     " AND wallet = ? AND kind = ? AND ref = ?", (community, wallet, kind, ref))


def find_entry(db: sqlite3.Connection, entry: int) -> Entry | None:
    """An entry by id (without its image)."""
    return fetch_one(db, Entry, f"SELECT {ENTRY} FROM entries WHERE id = ?", (entry,))


def known_entry(db: sqlite3.Connection, entry: int) -> Entry:
    """An entry by id; refuses ``unknown_entry``."""
    found = find_entry(db, entry)
    if found is None:
        raise CommunityRefusal("unknown_entry", f"no entry {entry}")
    return found


def find_ballot(db: sqlite3.Connection, community: str, challenge: str, wallet: str) -> Ballot | None:
    """A member's ballot in a challenge."""
    return fetch_one(db, make_ballot, f"SELECT {BALLOT} FROM ballots WHERE community = ? AND challenge = ?"
                     " AND wallet = ?", (community, challenge, wallet))


def featured_of(db: sqlite3.Connection, community: str, challenge: str) -> list[Featured]:
    """A challenge's featured entries, by rank."""
    return fetch_all(db, Featured, f"SELECT {FEATURED} FROM featured WHERE community = ? AND challenge = ?"
                     " ORDER BY rank", (community, challenge))


def find_poll(db: sqlite3.Connection, poll: str) -> Poll | None:
    """A poll by id."""
    return fetch_one(db, make_poll, f"SELECT {POLL} FROM polls WHERE id = ?", (poll,))


def known_poll(db: sqlite3.Connection, poll: str) -> Poll:
    """A poll by id; refuses ``unknown_poll``."""
    found = find_poll(db, poll)
    if found is None:
        raise CommunityRefusal("unknown_poll", f"no poll {poll!r}")
    return found


def find_answer(db: sqlite3.Connection, poll: str, wallet: str) -> Answer | None:
    """A wallet's answer to a poll."""
    return fetch_one(db, Answer, f"SELECT {ANSWER} FROM answers WHERE poll = ? AND wallet = ?", (poll, wallet))


def append_membership(db: sqlite3.Connection, base: Member, *, status: str, event: str, at: float,
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

def current_members(db: sqlite3.Connection, community: str) -> list[Member]:
    """Current members, in the order they joined."""
    return fetch_all(db, Member, f"SELECT {MEMBER} {CURRENT} ORDER BY joined_at, since", (community,))


def invites_of(db: sqlite3.Connection, community: str) -> list[Invite]:
    """Every invite of a community, newest first."""
    return fetch_all(db, make_invite, f"SELECT {INVITE} FROM invites WHERE community = ?"
                     " ORDER BY created_at DESC, rowid DESC", (community,))


def requests_of(db: sqlite3.Connection, community: str, status: str | None) -> list[JoinRequest]:
    """Join requests of one status (or all), oldest first."""
    where, args = ("", (community,)) if status is None else (" AND status = ?", (community, status))
    return fetch_all(db, JoinRequest, f"SELECT {REQUEST} FROM requests WHERE community = ?{where} ORDER BY id", args)


def engagement_after(db: sqlite3.Connection, community: str, since_seq: int) -> list[Engagement]:
    """A community's engagement log after ``since_seq``, in order."""
    return fetch_all(db, Engagement, f"SELECT {ENGAGEMENT} FROM engagement WHERE community = ? AND seq > ?"
                     " ORDER BY seq", (community, since_seq))


def phases_in_force(db: sqlite3.Connection, community: str) -> dict[str, tuple[Any, float]]:
    """The latest phase override of each challenge, and when it was set."""
    found = db.execute("SELECT challenge, phase, at FROM phase_overrides WHERE id IN"
                       " (SELECT MAX(id) FROM phase_overrides WHERE community = ? GROUP BY challenge)", (community,))
    return {challenge: (phase, at) for challenge, phase, at in found}


def moderation_of(db: sqlite3.Connection, entry: int) -> list[Moderation]:
    """Every moderation action on an entry, oldest first."""
    return fetch_all(db, Moderation, f"SELECT {MODERATION} FROM moderation WHERE entry = ? ORDER BY id", (entry,))


def entries_of(db: sqlite3.Connection, community: str, challenge: str, status: str | None) -> list[Entry]:
    """A challenge's entries of one status (or all), in submission order; the images table is not read."""
    where, args = ("", ()) if status is None else (" AND status = ?", (status,))
    return fetch_all(db, Entry, f"SELECT {ENTRY} FROM entries WHERE community = ? AND challenge = ?{where}"
                     " ORDER BY id", (community, challenge, *args))


def image_of(db: sqlite3.Connection, entry: int) -> bytes | None:
    """An entry's stored image."""
    found = db.execute("SELECT png FROM images WHERE entry = ?", (entry,)).fetchone()
    return None if found is None else bytes(found[0])


def ballots_of(db: sqlite3.Connection, community: str, challenge: str) -> list[Ballot]:
    """A challenge's ballots, in the order they were cast."""
    return fetch_all(db, make_ballot, f"SELECT {BALLOT} FROM ballots WHERE community = ? AND challenge = ?"
                     " ORDER BY id", (community, challenge))


def polls_of(db: sqlite3.Connection, owner: str, open_only: bool) -> list[Poll]:
    """The polls of an event or community (only those not closed, if asked), oldest first."""
    where = " AND closed_at IS NULL" if open_only else ""
    return fetch_all(db, make_poll, f"SELECT {POLL} FROM polls WHERE owner = ?{where} ORDER BY opened_at, rowid",
                     (owner,))


def tally_of(db: sqlite3.Connection, poll: str, options: int) -> list[int]:
    """Answers per option of a poll with ``options`` options."""
    counts = [0] * options
    for option, n in db.execute("SELECT option, COUNT(*) FROM answers WHERE poll = ? GROUP BY option", (poll,)):
        counts[option] = n
    return counts


def answers_of(db: sqlite3.Connection, poll: str) -> list[Answer]:
    """Every answer of a poll, in order."""
    return fetch_all(db, Answer, f"SELECT {ANSWER} FROM answers WHERE poll = ? ORDER BY seq", (poll,))
