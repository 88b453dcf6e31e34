"""The community store in SQLite and in PostgreSQL: membership, invites, requests, engagement,
challenges and polls, every refusal, exactly-once under threads and processes, and no acknowledged
write lost to SIGKILL.

Covers ``server/storage/community_sqlite.py``, ``server/storage/community_postgres.py`` and the
rules they share (``server/storage/community_schema.py``) against the interface in
``server/storage/community_store.py``. Most tests run once per store (``[sqlite]``,
``[postgres]``): each on a place of its own (a temporary data directory, or a fresh schema of the
session's private PostgreSQL server, ``tests/private_postgres.py``), which :class:`SqlitePlace` and
:class:`PostgresPlace` also read and change behind the store's back. The tests of SQLite's file
(WAL, ``BEGIN IMMEDIATE``, a file that is no database) are SQLite's alone; PostgreSQL's own are in
``tests/test_community_postgres.py``. Times are a fixed clock (``T0`` plus seconds).
"""

from __future__ import annotations

import collections
import hashlib
import inspect
import multiprocessing
import random
import sqlite3
import struct
import threading
import time
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.storage.community_schema import DB_FILE, SCHEMA_VERSION
from server.storage.community_sqlite import SqliteCommunityStore
from server.storage.community_store import REFUSALS, CommunityRefusal, CommunityStore, Poll
from showroom.errors import ShowroomError

T0 = 1_800_000_000.0
C = "maison-lumen"
DAY = 86_400.0


# ---- helpers ---------------------------------------------------------------------------------

def png(seed: int, size: int = 2) -> bytes:
    """A small valid PNG of one colour (``size`` x ``size`` pixels, RGB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes([seed % 256, (seed >> 8) % 256, 200]) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * size))
            + chunk(b"IEND", b""))


def submit(store: CommunityStore, wallet: str, seed: int, *, challenge: str = "spring", community: str = C,
           max_per_member: int = 2, now: float = T0):
    """Submit a small PNG entry."""
    image = png(seed)
    return store.submit(community, challenge, wallet, f"look {seed}", image, sha256=hashlib.sha256(image).hexdigest(),
                        width=2, height=2, max_per_member=max_per_member, now=now)


def poll(poll_id: str = "p1", *, owner: str = C, options: tuple[str, ...] = ("red", "gold", "ink"),
         closes_at: float | None = None, opened_at: float = T0) -> Poll:
    """A community poll, open."""
    return Poll(poll_id, "community", owner, "Which colour next?", options, "live", opened_at, closes_at, None)


def join(store: CommunityStore, wallet: str, *, cap: int = 500, invite: str | None = None, community: str = C,
         now: float = T0, role: str = "member"):
    """Join under ``cap``."""
    return store.join(community, wallet, wallet.title(), cap=cap, role=role, invite=invite, now=now)


def raw(data: Path) -> sqlite3.Connection:
    """A read-only connection of our own to the store's file."""
    return sqlite3.connect(f"file:{data / DB_FILE}?mode=ro", uri=True)


def dump(data: Path) -> list[str]:
    """Every row of every table, as SQL."""
    db = raw(data)
    try:
        return list(db.iterdump())
    finally:
        db.close()


class SqlitePlace:
    """A store's place in SQLite: a data directory."""

    backend = "sqlite"
    integrity_error: type[Exception] = sqlite3.IntegrityError
    missing_table_error: type[Exception] = sqlite3.OperationalError

    def __init__(self, data: Path) -> None:
        self.data = data
        self.where = str(data / DB_FILE)
        """What a message about the store names."""

    def load(self) -> None:
        """Import what opening a store needs (a crash worker does, before it says ready)."""

    def open(self) -> CommunityStore:
        """A store (a connection of its own) on this place."""
        return SqliteCommunityStore(self.data)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Every row of a query on a read-only connection of our own."""
        db = raw(self.data)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def execute(self, sql: str) -> None:
        """Run a statement behind the store's back, committed at once."""
        db = sqlite3.connect(self.data / DB_FILE, isolation_level=None)
        try:
            db.execute(sql)
        finally:
            db.close()

    def dump(self) -> list[Any]:
        """Every row of every table."""
        return dump(self.data)

    @contextmanager
    def writer_holding_the_lock(self) -> Iterator[None]:
        """Someone else holds the store's write lock, with every membership changed but not committed."""
        writer = sqlite3.connect(self.data / DB_FILE, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE memberships SET status = 'left'")
        try:
            yield
        finally:
            writer.execute("ROLLBACK")
            writer.close()


class PostgresPlace:
    """A store's place in PostgreSQL: a schema of its own in the session's private server."""

    backend = "postgres"

    def __init__(self, url: str, schema: str) -> None:
        import psycopg

        from server.storage.ledger_db import safe_url

        self.url, self.schema = url, schema
        self.where = f"{safe_url(url)} schema {schema}"
        self.integrity_error: type[Exception] = psycopg.IntegrityError
        self.missing_table_error: type[Exception] = psycopg.errors.UndefinedTable

    def load(self) -> None:
        import server.storage.community_postgres  # noqa: F401

    def open(self) -> CommunityStore:
        from server.storage.community_postgres import PostgresCommunityStore

        return PostgresCommunityStore(self.url, schema=self.schema)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url, autocommit=True) as db:
            db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
            yield db

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self._connection() as db:
            return db.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        with self._connection() as db:
            db.execute(sql)

    def dump(self) -> list[Any]:
        """Every row of every table (sorted: a heap has no order) and where each identity sequence stands."""
        from psycopg import sql

        with self._connection() as db:
            tables = [t for (t,) in db.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s"
                                               " ORDER BY tablename", (self.schema,))]
            out: list[Any] = [(t, sorted(map(repr, db.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(t))))))
                              for t in tables]
            out += db.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = %s"
                              " ORDER BY sequencename", (self.schema,)).fetchall()
            return out

    @contextmanager
    def writer_holding_the_lock(self) -> Iterator[None]:
        from server.storage.community_postgres import lock_key

        with self._connection() as writer:
            writer.execute("BEGIN")
            writer.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(self.schema),))
            writer.execute("UPDATE memberships SET status = 'left'")
            try:
                yield
            finally:
                writer.execute("ROLLBACK")


Place = SqlitePlace | PostgresPlace
BACKENDS = ["sqlite", "postgres"]


def refused(reason: str, call: Callable[[], object]) -> CommunityRefusal:
    """Assert that ``call`` is refused with ``reason`` and a message for people."""
    with pytest.raises(CommunityRefusal) as caught:
        call()
    assert caught.value.reason == reason, caught.value
    assert str(caught.value) and isinstance(caught.value, ShowroomError)
    return caught.value


@pytest.fixture(params=BACKENDS)
def place(request, tmp_path) -> Place:
    """A fresh place for a store: a temporary data directory, or a fresh schema named after it."""
    if request.param == "postgres":
        return PostgresPlace(request.getfixturevalue("postgres_url"), f"t_{tmp_path.name}")
    return SqlitePlace(tmp_path)


@pytest.fixture
def store(place):
    """A fresh store in each backend."""
    opened = place.open()
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path):
    """A fresh SQLite store in a temporary data directory (for the tests of its file)."""
    opened = SqliteCommunityStore(tmp_path)
    yield opened
    opened.close()


def run_threads(target: Callable[[int], None], n: int, timeout_s: float = 60.0) -> None:
    """Run ``target(0..n-1)`` on ``n`` threads released together; fail if one is still running after the timeout."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def body(i: int) -> None:
        try:
            barrier.wait(timeout=timeout_s)
            target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout_s
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a thread is still running"
    assert not errors, errors[0]


# ---- membership ------------------------------------------------------------------------------

def test_the_store_has_every_method_of_the_interface_with_its_signature(store):
    wanted = [name for name in vars(CommunityStore) if not name.startswith("_")]
    assert len(wanted) > 30
    for name in wanted:
        assert inspect.signature(getattr(type(store), name)) == inspect.signature(
            getattr(CommunityStore, name)), name
    assert store.count(C) == 0 and store.members(C) == [] and store.member(C, "alice") is None


def test_join_makes_a_member_and_counts_them(store):
    alice = join(store, "alice", role="host")
    assert (alice.community, alice.wallet, alice.name) == (C, "alice", "Alice")
    assert (alice.role, alice.status) == ("host", "member")
    assert alice.joined_at == T0 and alice.invite is None
    join(store, "bob", now=T0 + 1)
    assert store.count(C) == 2 and store.member(C, "alice") == alice
    assert store.count("another-house") == 0


def test_members_are_listed_in_joining_order_across_role_changes(store):
    for i, wallet in enumerate(["carol", "alice", "bob"]):
        join(store, wallet, now=T0 + i)
    store.set_role(C, "carol", "moderator", T0 + 10)
    assert [m.wallet for m in store.members(C)] == ["carol", "alice", "bob"]
    assert store.member(C, "carol").role == "moderator"
    assert store.set_role(C, "carol", "moderator", T0 + 11) == store.member(C, "carol")  # no change, no new row


def test_leave_keeps_the_history_and_a_former_member_may_join_again(store, place):
    join(store, "alice")
    join(store, "bob", now=T0 + 1)
    left = store.leave(C, "alice", T0 + 5)
    assert left.status == "left" and left.joined_at == T0
    assert store.member(C, "alice") == left and store.count(C) == 1
    again = join(store, "alice", now=T0 + 9)
    assert again.status == "member" and again.joined_at == T0 + 9
    assert [m.wallet for m in store.members(C)] == ["bob", "alice"]  # the new membership joined last
    history = place.query("SELECT event, status, at FROM memberships WHERE wallet = 'alice' ORDER BY seq")
    assert history == [("join", "member", T0), ("leave", "left", T0 + 5), ("join", "member", T0 + 9)]


def test_a_banned_wallet_stays_banned(store, place):
    join(store, "mallory")
    banned = store.ban(C, "mallory", "alice", T0 + 1)
    assert banned.status == "banned" and store.count(C) == 0
    refused("banned", lambda: join(store, "mallory", now=T0 + 2))
    refused("banned", lambda: store.request_join(C, "mallory", "Mallory", T0 + 3))
    assert store.ban(C, "mallory", "bob", T0 + 4) == banned  # a repeat keeps the first ban
    refused("not_member", lambda: store.leave(C, "mallory", T0 + 5))
    rows = place.query("SELECT event, by FROM memberships WHERE wallet = 'mallory' ORDER BY seq")
    assert rows == [("join", None), ("ban", "alice")]


def test_banning_a_requester_refuses_the_pending_request(store):
    store.request_join(C, "spam", "Spam Bot", T0)
    banned = store.ban(C, "spam", "alice", T0 + 1)
    assert (banned.status, banned.name, banned.role) == ("banned", "Spam Bot", "")
    assert store.requests(C) == []
    [req] = store.requests(C, "refused")
    assert (req.decided_by, req.reason) == ("alice", "banned")
    refused("already_decided", lambda: store.decide_request(C, "spam", approve=True, by="alice", reason=None,
                                                            cap=500, role="member", now=T0 + 2))


EXAMPLES = count()
"""Each example of the model test below plays in a community of its own, in the test's one store."""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["join", "leave", "ban"]), st.integers(0, 5)), max_size=30))
def test_random_joins_leaves_and_bans_agree_with_a_plain_model(store, steps):
    model: dict[str, str] = {}
    community = f"house-{next(EXAMPLES)}"
    for i, (action, n) in enumerate(steps):
        wallet, now = f"w{n}", T0 + i
        state = model.get(wallet)
        try:
            if action == "join":
                join(store, wallet, cap=3, now=now, community=community)
            elif action == "leave":
                store.leave(community, wallet, now)
            else:
                store.ban(community, wallet, "host", now)
            model[wallet] = {"join": "member", "leave": "left", "ban": "banned"}[action]
        except CommunityRefusal as exc:
            expected = {"join": "banned" if state == "banned" else "already_member" if state == "member"
                        else "full", "leave": "not_member", "ban": "?"}[action]
            assert exc.reason == expected
        current = sorted(w for w, s in model.items() if s == "member")
        assert sorted(m.wallet for m in store.members(community)) == current and len(current) <= 3
        assert {w: store.member(community, w).status for w in model} == model


# ---- invites and requests --------------------------------------------------------------------

def test_join_by_invite_takes_one_use_and_records_the_code(store):
    store.create_invite(C, "SPRING", issued_by="host", max_uses=2, expires_at=T0 + DAY, now=T0)
    member = join(store, "alice", invite="SPRING", now=T0 + 1)
    assert member.invite == "SPRING"
    [invite] = store.invites(C)
    assert (invite.uses, invite.max_uses, invite.issued_by, invite.revoked) == (1, 2, "host", False)
    join(store, "bob", invite="SPRING", now=T0 + 2)
    refused("invite_used_up", lambda: join(store, "carol", invite="SPRING", now=T0 + 3))
    assert store.invites(C)[0].uses == 2


def test_an_invite_is_valid_until_its_expiry_time(store):
    store.create_invite(C, "SOON", issued_by="alice", max_uses=9, expires_at=T0 + 60, now=T0)
    join(store, "bob", invite="SOON", now=T0 + 59.9)
    refused("invite_expired", lambda: join(store, "carol", invite="SOON", now=T0 + 60))


def test_invite_codes_are_unique_per_community_and_listed_newest_first(store):
    store.create_invite(C, "A", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    store.create_invite(C, "B", issued_by="alice", max_uses=3, expires_at=T0 + DAY, now=T0 + 1)
    with pytest.raises(ValueError, match="already exists"):
        store.create_invite(C, "A", issued_by="host", max_uses=5, expires_at=T0 + DAY, now=T0 + 2)
    store.create_invite("other-house", "A", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    assert [i.code for i in store.invites(C)] == ["B", "A"]
    with pytest.raises(ValueError):
        store.create_invite(C, "Z", issued_by="host", max_uses=0, expires_at=T0 + DAY, now=T0)


def test_an_invite_wave_is_stored_whole_or_not_at_all(store):
    store.create_invite(C, "TAKEN", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    wave = store.create_invites(C, [("W1", "alice"), ("W2", "bob")], max_uses=3, expires_at=T0 + DAY, now=T0 + 1)
    assert [(i.code, i.issued_by, i.max_uses, i.uses) for i in wave] == [("W1", "alice", 3, 0), ("W2", "bob", 3, 0)]
    with pytest.raises(ValueError, match="already exists"):
        store.create_invites(C, [("W3", "carol"), ("TAKEN", "dave")], max_uses=3, expires_at=T0 + DAY, now=T0 + 2)
    with pytest.raises(ValueError, match="repeat"):
        store.create_invites(C, [("W4", "carol"), ("W4", "dave")], max_uses=3, expires_at=T0 + DAY, now=T0 + 2)
    assert sorted(i.code for i in store.invites(C)) == ["TAKEN", "W1", "W2"]
    join(store, "erin", invite="W2", now=T0 + 3)
    assert next(i for i in store.invites(C) if i.code == "W2").uses == 1


def test_a_revoked_invite_admits_no_one(store):
    store.create_invite(C, "GONE", issued_by="host", max_uses=5, expires_at=T0 + DAY, now=T0)
    revoked = store.revoke_invite(C, "GONE", T0 + 1)
    assert revoked.revoked and store.revoke_invite(C, "GONE", T0 + 2) == revoked
    refused("invite_revoked", lambda: join(store, "bob", invite="GONE", now=T0 + 3))
    refused("unknown_invite", lambda: store.revoke_invite(C, "NOPE", T0))


def test_a_repeated_join_request_returns_the_pending_one(store):
    first = store.request_join(C, "erin", "Erin", T0)
    assert (first.status, first.at, first.decided_by, first.reason) == ("pending", T0, None, None)
    assert store.request_join(C, "erin", "Erin again", T0 + 5) == first
    assert store.requests(C) == [first]


def test_approving_a_request_joins_under_the_cap(store):
    join(store, "alice")
    store.request_join(C, "erin", "Erin", T0 + 1)
    store.request_join(C, "finn", "Finn", T0 + 2)
    approved = store.decide_request(C, "erin", approve=True, by="alice", reason=None, cap=2, role="member",
                                    now=T0 + 3)
    assert (approved.status, approved.decided_by) == ("approved", "alice")
    assert store.member(C, "erin").name == "Erin" and store.count(C) == 2
    refused("full", lambda: store.decide_request(C, "finn", approve=True, by="alice", reason=None, cap=2,
                                                 role="member", now=T0 + 4))
    assert [r.wallet for r in store.requests(C)] == ["finn"]  # still pending: nothing was written
    again = store.decide_request(C, "erin", approve=True, by="bob", reason=None, cap=2, role="member", now=T0 + 5)
    assert again == approved  # the same decision again returns the first


def test_refusing_a_request_keeps_the_reason_and_the_wallet_may_ask_again(store):
    store.request_join(C, "gus", "Gus", T0)
    no = store.decide_request(C, "gus", approve=False, by="alice", reason="not yet", cap=500, role="member", now=T0 + 1)
    assert (no.status, no.reason, no.decided_by) == ("refused", "not yet", "alice")
    assert store.member(C, "gus") is None
    store.request_join(C, "gus", "Gus", T0 + 2)
    assert [r.status for r in store.requests(C, None)] == ["refused", "pending"]
    assert [r.status for r in store.requests(C, "refused")] == ["refused"]


def test_approving_a_requester_who_joined_by_invite_only_marks_the_request(store):
    store.create_invite(C, "X", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    store.request_join(C, "hana", "Hana", T0)
    join(store, "hana", invite="X", now=T0 + 1)
    done = store.decide_request(C, "hana", approve=True, by="alice", reason=None, cap=500, role="member", now=T0 + 2)
    assert done.status == "approved" and store.count(C) == 1


# ---- refusals ----------------------------------------------------------------------------------

def _world(store: CommunityStore) -> dict[str, int]:
    """A community with members, invites, a ban, requests, a challenge entry, a ballot and polls."""
    join(store, "alice", role="host")
    store.create_invite(C, "USED", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    store.create_invite(C, "OLD", issued_by="host", max_uses=5, expires_at=T0 - 1, now=T0 - DAY)
    store.create_invite(C, "GONE", issued_by="host", max_uses=5, expires_at=T0 + DAY, now=T0)
    store.revoke_invite(C, "GONE", T0)
    join(store, "bob", invite="USED")
    join(store, "mallory")
    store.ban(C, "mallory", "alice", T0)
    store.request_join(C, "dave", "Dave", T0)
    store.decide_request(C, "dave", approve=False, by="alice", reason="spam", cap=3, role="member", now=T0)
    entry = submit(store, "alice", 1, max_per_member=1)
    store.moderate(entry.id, "approve", "alice", None, T0)
    store.vote(C, "spring", "alice", (entry.id,), T0)
    store.open_poll(poll("p-open"))
    store.open_poll(poll("p-closed"))
    store.close_poll("p-closed", T0)
    store.open_poll(poll("p-timed", closes_at=T0 + 60))
    store.answer("p-open", "alice", 0, T0)
    return {"entry": entry.id}


REFUSAL_CASES: list[tuple[str, Callable[[CommunityStore, dict[str, int]], object]]] = [
    ("full", lambda s, w: join(s, "erin", cap=2, now=T0 + 1)),
    ("banned", lambda s, w: join(s, "mallory", now=T0 + 1)),
    ("already_member", lambda s, w: s.request_join(C, "bob", "Bob", T0 + 1)),
    ("not_member", lambda s, w: s.vote(C, "spring", "erin", (w["entry"],), T0 + 1)),
    ("unknown_invite", lambda s, w: join(s, "erin", invite="NOPE", now=T0 + 1)),
    ("invite_expired", lambda s, w: join(s, "erin", invite="OLD", now=T0 + 1)),
    ("invite_used_up", lambda s, w: join(s, "erin", invite="USED", now=T0 + 1)),
    ("invite_revoked", lambda s, w: join(s, "erin", invite="GONE", now=T0 + 1)),
    ("no_request", lambda s, w: s.decide_request(C, "erin", approve=True, by="alice", reason=None, cap=500,
                                                 role="member", now=T0 + 1)),
    ("too_many_entries", lambda s, w: submit(s, "alice", 2, max_per_member=1, now=T0 + 1)),
    ("unknown_entry", lambda s, w: s.moderate(w["entry"] + 99, "approve", "alice", None, T0 + 1)),
    ("already_decided", lambda s, w: s.moderate(w["entry"], "reject", "alice", "blurry", T0 + 1)),
    ("already_voted", lambda s, w: s.vote(C, "spring", "alice", (), T0 + 1)),
    ("already_answered", lambda s, w: s.answer("p-open", "alice", 1, T0 + 1)),
    ("unknown_poll", lambda s, w: s.answer("p-none", "bob", 0, T0 + 1)),
    ("poll_closed", lambda s, w: s.answer("p-closed", "bob", 0, T0 + 1)),
    ("bad_option", lambda s, w: s.answer("p-open", "bob", 3, T0 + 1)),
    # more ways to the same reasons
    ("banned", lambda s, w: s.request_join(C, "mallory", "Mallory", T0 + 1)),
    ("already_member", lambda s, w: join(s, "bob", now=T0 + 1)),
    ("not_member", lambda s, w: submit(s, "mallory", 3, now=T0 + 1)),
    ("not_member", lambda s, w: s.set_role(C, "erin", "moderator", T0 + 1)),
    ("already_decided", lambda s, w: s.decide_request(C, "dave", approve=True, by="alice", reason=None, cap=500,
                                                      role="member", now=T0 + 1)),
    ("unknown_entry", lambda s, w: s.feature(C, "spring", [w["entry"], w["entry"] + 99], T0 + 1)),
    ("unknown_poll", lambda s, w: s.close_poll("p-none", T0 + 1)),
    ("poll_closed", lambda s, w: s.answer("p-timed", "bob", 0, T0 + 60)),
    ("bad_option", lambda s, w: s.answer("p-open", "bob", -1, T0 + 1)),
]


def test_every_refusal_reason_is_exercised():
    assert {reason for reason, _ in REFUSAL_CASES} == set(REFUSALS)


@pytest.mark.parametrize(("reason", "action"), REFUSAL_CASES,
                         ids=[f"{reason}-{i}" for i, (reason, _) in enumerate(REFUSAL_CASES)])
def test_a_refused_write_says_why_and_changes_nothing(store, place, reason, action):
    world = _world(store)
    before = place.dump()
    refused(reason, lambda: action(store, world))
    assert place.dump() == before


# ---- engagement --------------------------------------------------------------------------------

def test_logging_the_same_happening_twice_returns_the_first_row(store):
    first = store.log(C, "alice", "selfie", 2.0, "event-7", T0)
    assert store.log(C, "alice", "selfie", 5.0, "event-7", T0 + 9) == first
    other = store.log(C, "alice", "selfie", 2.0, "event-8", T0 + 1)
    assert other.seq > first.seq
    assert store.log("other-house", "alice", "selfie", 2.0, "event-7", T0).seq not in (first.seq, other.seq)
    assert store.engagement(C) == [first, other]


def test_engagement_reads_the_log_after_a_seq(store):
    rows = [store.log(C, f"w{i}", "reaction", 1.0, f"r{i}", T0 + i) for i in range(5)]
    assert store.engagement(C) == rows
    assert store.engagement(C, rows[2].seq) == rows[3:]
    assert store.engagement(C, rows[-1].seq) == []
    assert (rows[0].kind, rows[0].amount, rows[0].at, rows[0].ref) == ("reaction", 1.0, T0, "r0")


# ---- challenges --------------------------------------------------------------------------------

def test_phase_overrides_are_kept_and_the_latest_wins(store):
    assert store.phases(C) == {}
    store.set_phase(C, "spring", "submissions", "alice", T0)
    store.set_phase(C, "spring", "voting", "alice", T0 + 5)
    store.set_phase(C, "winter", "draft", "bob", T0 + 6)
    assert store.phases(C) == {"spring": ("voting", T0 + 5), "winter": ("draft", T0 + 6)}
    with pytest.raises(ValueError, match="unknown phase"):
        store.set_phase(C, "spring", "judging", "alice", T0)  # type: ignore[arg-type]


def test_submit_stores_the_image_and_its_facts(store):
    join(store, "alice")
    image = png(7, size=4)
    entry = store.submit(C, "spring", "alice", "Lumen at dusk", image, sha256=hashlib.sha256(image).hexdigest(),
                         width=4, height=4, max_per_member=2, now=T0 + 3)
    assert (entry.community, entry.challenge, entry.wallet, entry.title) == (C, "spring", "alice", "Lumen at dusk")
    assert (entry.status, entry.reason, entry.at, entry.size) == ("pending", None, T0 + 3, len(image))
    assert (entry.width, entry.height, entry.sha256) == (4, 4, hashlib.sha256(image).hexdigest())
    assert store.image(entry.id) == image
    assert store.entries(C, "spring") == [entry] and store.entries(C, "winter") == []
    refused("unknown_entry", lambda: store.image(entry.id + 1))
    with pytest.raises(ValueError, match="sha256"):
        store.submit(C, "spring", "alice", "x", image, sha256="0" * 64, width=4, height=4, max_per_member=2, now=T0)


def test_listing_entries_never_reads_the_images(store, place):
    join(store, "alice")
    entries = [submit(store, "alice", i, max_per_member=3, now=T0 + i) for i in range(3)]
    place.execute("ALTER TABLE images RENAME TO images_elsewhere")
    assert store.entries(C, "spring") == entries
    with pytest.raises(place.missing_table_error):
        store.image(entries[0].id)


def test_entries_are_listed_in_submission_order_by_status(store):
    for wallet in ("alice", "bob"):
        join(store, wallet)
    a1, b1, a2 = submit(store, "alice", 1), submit(store, "bob", 2), submit(store, "alice", 3)
    store.moderate(b1.id, "approve", "host", None, T0 + 1)
    store.moderate(a2.id, "reject", "host", "not a look", T0 + 2)
    assert [e.id for e in store.entries(C, "spring")] == [a1.id, b1.id, a2.id]
    assert [e.id for e in store.entries(C, "spring", "approved")] == [b1.id]
    [rejected] = store.entries(C, "spring", "rejected")
    assert (rejected.id, rejected.reason) == (a2.id, "not a look")
    assert [e.id for e in store.entries(C, "spring", "pending")] == [a1.id]


def test_rejected_entries_do_not_count_towards_the_limit_per_member(store):
    join(store, "alice")
    first = submit(store, "alice", 1, max_per_member=1)
    refused("too_many_entries", lambda: submit(store, "alice", 2, max_per_member=1))
    store.moderate(first.id, "reject", "host", "off topic", T0 + 1)
    assert submit(store, "alice", 2, max_per_member=1).status == "pending"


def test_moderation_keeps_every_action_and_refuses_a_contrary_one(store):
    join(store, "alice")
    entry = submit(store, "alice", 1)
    approved = store.moderate(entry.id, "approve", "mod-1", None, T0 + 1)
    assert approved.status == "approved"
    assert store.moderate(entry.id, "approve", "mod-2", "lovely", T0 + 2) == approved
    refused("already_decided", lambda: store.moderate(entry.id, "reject", "mod-3", "no", T0 + 3))
    actions = store.moderation(entry.id)
    assert [(m.entry, m.action, m.by, m.reason, m.at) for m in actions] == [
        (entry.id, "approve", "mod-1", None, T0 + 1), (entry.id, "approve", "mod-2", "lovely", T0 + 2)]
    assert store.moderation(entry.id + 1) == []


def test_ballots_are_kept_in_the_order_cast_with_their_choices(store):
    for wallet in ("alice", "bob", "carol"):
        join(store, wallet)
    ids = [submit(store, w, i).id for i, w in enumerate(("alice", "bob", "carol"))]
    store.vote(C, "spring", "carol", (ids[1], ids[0]), T0 + 1)
    store.vote(C, "spring", "alice", (ids[2],), T0 + 2)
    ballots = store.ballots(C, "spring")
    assert [(b.wallet, b.choices, b.at) for b in ballots] == [("carol", (ids[1], ids[0]), T0 + 1),
                                                              ("alice", (ids[2],), T0 + 2)]
    assert store.ballots(C, "winter") == []
    store.vote(C, "winter", "alice", (), T0 + 3)  # one ballot per challenge, not per community
    with pytest.raises(ValueError):
        store.vote(C, "spring", "bob", (ids[0], ids[0]), T0)


def test_featuring_publishes_once_and_a_repeat_returns_the_first_result(store):
    for wallet in ("alice", "bob"):
        join(store, wallet)
    a, b = submit(store, "alice", 1), submit(store, "bob", 2)
    assert store.featured(C, "spring") == []
    first = store.feature(C, "spring", [b.id, a.id], T0 + 9)
    assert [(f.entry, f.rank, f.at) for f in first] == [(b.id, 1, T0 + 9), (a.id, 2, T0 + 9)]
    assert store.feature(C, "spring", [a.id], T0 + 10) == first
    assert store.featured(C, "spring") == first


def test_featuring_refuses_an_entry_of_another_challenge(store):
    join(store, "alice")
    other = submit(store, "alice", 1, challenge="winter")
    refused("unknown_entry", lambda: store.feature(C, "spring", [other.id], T0))
    assert store.featured(C, "spring") == []


# ---- polls -------------------------------------------------------------------------------------

def test_opening_a_poll_twice_returns_the_first(store):
    first = store.open_poll(poll("p1"))
    assert first == poll("p1")
    assert store.open_poll(poll("p1", options=("yes", "no"), opened_at=T0 + 5)) == first
    assert store.poll("p1") == first and store.poll("p2") is None
    with pytest.raises(ValueError):
        store.open_poll(poll("p3", options=()))
    with pytest.raises(ValueError):
        store.open_poll(Poll("p4", "party", C, "?", ("a", "b"), "live", T0, None, None))  # type: ignore[arg-type]


def test_closing_a_poll_keeps_the_first_closing_time(store):
    store.open_poll(poll("p1"))
    closed = store.close_poll("p1", T0 + 10)
    assert closed.closed_at == T0 + 10
    assert store.close_poll("p1", T0 + 20).closed_at == T0 + 10


def test_polls_are_listed_oldest_first_and_open_ones_alone_if_asked(store):
    store.open_poll(poll("b", opened_at=T0 + 1))
    store.open_poll(poll("a", opened_at=T0 + 2))
    store.open_poll(poll("c", opened_at=T0 + 3))
    store.open_poll(Poll("e1", "event", "gala-2026", "Encore?", ("yes", "no"), "on_close", T0, T0 + 60, None))
    store.close_poll("a", T0 + 4)
    assert [p.id for p in store.polls(C)] == ["b", "a", "c"]
    assert [p.id for p in store.polls(C, open_only=True)] == ["b", "c"]
    [event_poll] = store.polls("gala-2026")
    assert (event_poll.scope, event_poll.results, event_poll.closes_at) == ("event", "on_close", T0 + 60)


def test_answers_are_counted_per_option_and_exported_in_order(store):
    store.open_poll(poll("p1"))
    assert store.tally("p1") == [0, 0, 0]
    for i, (wallet, option) in enumerate([("a", 1), ("b", 1), ("c", 2), ("d", 1)]):
        answer = store.answer("p1", wallet, option, T0 + i)
        assert (answer.poll, answer.wallet, answer.option, answer.at) == ("p1", wallet, option, T0 + i)
    assert store.tally("p1") == [0, 3, 1]
    assert [(a.wallet, a.option) for a in store.answers("p1")] == [("a", 1), ("b", 1), ("c", 2), ("d", 1)]
    refused("unknown_poll", lambda: store.tally("p-none"))
    assert store.answers("p-none") == []


def test_a_poll_closes_by_itself_at_its_closing_time(store):
    store.open_poll(poll("p1", closes_at=T0 + 30))
    store.answer("p1", "a", 0, T0 + 29.5)
    refused("poll_closed", lambda: store.answer("p1", "b", 0, T0 + 30))


# ---- the file: schema, version, reopening ------------------------------------------------------

def test_the_file_is_wal_with_a_schema_version(sqlite_store, tmp_path):
    db = raw(tmp_path)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    finally:
        db.close()


def every_write(store: CommunityStore) -> list[Callable[[], object]]:
    """One call of each write method, in an order that makes each succeed (entry 1 is the first entry)."""
    return [
        lambda: join(store, "alice"), lambda: store.set_role(C, "alice", "host", T0),
        lambda: store.create_invite(C, "A", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0),
        lambda: join(store, "bob", invite="A"), lambda: store.revoke_invite(C, "A", T0),
        lambda: store.create_invites(C, [("W1", "alice")], max_uses=2, expires_at=T0 + DAY, now=T0),
        lambda: store.request_join(C, "erin", "Erin", T0),
        lambda: store.decide_request(C, "erin", approve=True, by="alice", reason=None, cap=9, role="m", now=T0),
        lambda: store.log(C, "alice", "selfie", 1.0, "e1", T0), lambda: store.set_phase(C, "s", "voting", "a", T0),
        lambda: submit(store, "alice", 1, challenge="s"), lambda: store.moderate(1, "approve", "a", None, T0),
        lambda: store.vote(C, "s", "bob", (1,), T0), lambda: store.feature(C, "s", [1], T0),
        lambda: store.open_poll(poll("p1")), lambda: store.answer("p1", "bob", 0, T0),
        lambda: store.close_poll("p1", T0), lambda: store.leave(C, "bob", T0), lambda: store.ban(C, "bob", "a", T0),
    ]


def every_read(store: CommunityStore) -> tuple[object, ...]:
    """Each read method's answer, after :func:`every_write`."""
    return (store.members(C), store.member(C, "alice"), store.count(C), store.invites(C), store.requests(C, None),
            store.engagement(C), store.phases(C), store.entries(C, "s"), store.image(1), store.moderation(1),
            store.ballots(C, "s"), store.featured(C, "s"), store.polls(C), store.poll("p1"), store.tally("p1"),
            store.answers("p1"))


def test_every_write_is_one_immediate_transaction_on_the_writer_and_reads_stay_off_it(sqlite_store):
    store = sqlite_store
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)  # the writer connection (white box, on purpose)
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    statements.clear()
    for write in every_write(store):
        statements.clear()
        write()
        assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "COMMIT", statements
        assert sum(s.startswith(("BEGIN", "COMMIT", "ROLLBACK")) for s in statements) == 2, statements
    statements.clear()
    refused("poll_closed", lambda: store.answer("p1", "carol", 0, T0))
    assert statements[0] == "BEGIN IMMEDIATE" and statements[-1] == "ROLLBACK"
    statements.clear()
    assert all(r is not None for r in every_read(store)) and statements == []


def test_reopening_resumes_phases_open_polls_invite_uses_and_members(place):
    first = place.open()
    first.create_invite(C, "SPRING", issued_by="host", max_uses=10, expires_at=T0 + DAY, now=T0)
    for i in range(3):
        join(first, f"w{i}", invite="SPRING", now=T0 + i)
    first.set_phase(C, "spring", "voting", "alice", T0 + 5)
    first.open_poll(poll("p-open"))
    first.open_poll(poll("p-done"))
    first.close_poll("p-done", T0 + 6)
    first.answer("p-open", "w0", 2, T0 + 7)
    first.request_join(C, "erin", "Erin", T0 + 8)
    logged = first.log(C, "w0", "entry", 1.0, "spring", T0 + 9)
    first.close()

    again = place.open()
    try:
        assert again.phases(C) == {"spring": ("voting", T0 + 5)}
        assert [p.id for p in again.polls(C, open_only=True)] == ["p-open"]
        assert again.tally("p-open") == [0, 0, 1]
        assert again.invites(C)[0].uses == 3
        assert [m.wallet for m in again.members(C)] == ["w0", "w1", "w2"]
        assert [r.wallet for r in again.requests(C)] == ["erin"]
        join(again, "w3", invite="SPRING", now=T0 + 10)
        assert again.invites(C)[0].uses == 4
        assert again.log(C, "w0", "entry", 1.0, "spring", T0 + 11) == logged
        assert again.log(C, "w1", "entry", 1.0, "spring", T0 + 11).seq > logged.seq
        refused("already_answered", lambda: again.answer("p-open", "w0", 1, T0 + 12))
    finally:
        again.close()


def test_a_store_of_a_newer_schema_version_is_refused_in_one_clear_line(place):
    place.open().close()
    place.execute(f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}' WHERE key = 'schema_version'")
    before = place.dump()
    with pytest.raises(ShowroomError) as caught:
        place.open()
    message = str(caught.value)
    assert place.where in message and f"version {SCHEMA_VERSION + 1}" in message
    assert "newer" in message and "\n" not in message
    assert place.dump() == before


def test_a_file_that_is_not_a_database_is_refused_in_one_clear_line(tmp_path):
    (tmp_path / DB_FILE).write_bytes(b"these are not the rows you are looking for" * 100)
    with pytest.raises(ShowroomError, match="not a community store"):
        SqliteCommunityStore(tmp_path)


SCHEMA_BACKSTOPS = {
    "second ballot": "INSERT INTO ballots (community, challenge, wallet, choices, at)"
                     " SELECT community, challenge, wallet, '[]', at FROM ballots",
    "second answer": "INSERT INTO answers (poll, wallet, option, at) SELECT poll, wallet, 0, at FROM answers",
    "second current membership": "INSERT INTO memberships SELECT seq + 100, community, wallet, name, role, status,"
                                 " joined_at, invite, since, event, at, by, 1 FROM memberships WHERE latest = 1",
    "invite used past its uses": "UPDATE invites SET uses = max_uses + 1",
    "second pending request": "INSERT INTO requests (community, wallet, name, status, at)"
                              " SELECT community, wallet, name, status, at FROM requests WHERE status = 'pending'",
    "same engagement twice": "INSERT INTO engagement (community, wallet, kind, amount, at, ref)"
                             " SELECT community, wallet, kind, amount, at, ref FROM engagement",
    "same entry featured twice": "INSERT INTO featured SELECT community, challenge, entry, rank + 1, at FROM featured",
    "unknown status": "UPDATE memberships SET status = 'vip'",
}


@pytest.mark.parametrize("change", SCHEMA_BACKSTOPS.values(), ids=SCHEMA_BACKSTOPS.keys())
def test_the_schema_refuses_duplicates_even_behind_the_stores_back(store, place, change):
    join(store, "alice")
    store.create_invite(C, "A", issued_by="host", max_uses=1, expires_at=T0 + DAY, now=T0)
    store.request_join(C, "erin", "Erin", T0)
    entry = submit(store, "alice", 1)
    store.vote(C, "spring", "alice", (entry.id,), T0)
    store.open_poll(poll("p1"))
    store.answer("p1", "alice", 0, T0)
    store.log(C, "alice", "entry", 1.0, "spring", T0)
    store.feature(C, "spring", [entry.id], T0)
    with pytest.raises(place.integrity_error):
        place.execute(change)


# ---- reads beside the writer ---------------------------------------------------------------------

def test_reads_from_another_thread_never_wait_for_a_writer(store, place):
    join(store, "alice")
    seen: list[Any] = []

    def read(_: int) -> None:
        seen.append((store.count(C), [m.wallet for m in store.members(C)], store.member(C, "alice").status))

    with place.writer_holding_the_lock():  # someone holds the write lock, with a change not yet committed
        run_threads(read, 1, timeout_s=10)  # a read that waited would wait for the 30 s busy (lock) timeout
    assert seen == [(1, ["alice"], "member")]


def test_a_reader_thread_sees_the_count_grow_while_the_writer_joins(store):
    stop = threading.Event()
    counts: list[int] = []

    def reader() -> None:
        while not stop.is_set() and len(counts) < 100_000:
            counts.append(store.count(C))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(120):
            join(store, f"w{i:03d}", cap=120, now=T0 + i)
        for _ in range(20):
            refused("full", lambda: join(store, "late", cap=120))
    finally:
        stop.set()
        thread.join(timeout=30)
    assert counts and counts == sorted(counts) and max(counts) <= 120
    assert store.count(C) == 120


# ---- exactly-once under concurrency --------------------------------------------------------------

RACE_JOINERS, RACE_CAP, RACE_INVITES, RACE_USES = 600, 500, 6, 100


def _race_setup(place: Place) -> None:
    store = place.open()
    for k in range(RACE_INVITES):
        store.create_invite(C, f"INV{k}", issued_by="host", max_uses=RACE_USES, expires_at=T0 + DAY, now=T0)
    store.close()


def _race_join(store: CommunityStore, i: int) -> str:
    try:
        join(store, f"joiner-{i:03d}", cap=RACE_CAP, invite=f"INV{i % RACE_INVITES}", now=T0 + 1)
        return "ok"
    except CommunityRefusal as exc:
        return exc.reason


def _assert_race_outcome(place: Place, outcomes: dict[int, str]) -> None:
    assert len(outcomes) == RACE_JOINERS
    assert collections.Counter(outcomes.values()) == {"ok": RACE_CAP, "full": RACE_JOINERS - RACE_CAP}
    store = place.open()
    try:
        assert store.count(C) == RACE_CAP
        assert {m.wallet for m in store.members(C)} == {f"joiner-{i:03d}" for i, o in outcomes.items() if o == "ok"}
        uses = {i.code: i.uses for i in store.invites(C)}
        assert sum(uses.values()) == RACE_CAP and max(uses.values()) <= RACE_USES
        for code, n in uses.items():  # each invite was used by exactly its admitted joiners
            assert n == sum(1 for i, o in outcomes.items() if o == "ok" and f"INV{i % RACE_INVITES}" == code)
    finally:
        store.close()
    assert place.query("SELECT COUNT(*) FROM memberships") == [(RACE_CAP,)]
    if place.backend == "sqlite":
        assert place.query("PRAGMA integrity_check") == [("ok",)]


@pytest.mark.parametrize("stores", ["one store per thread", "one store shared"])
def test_600_racing_joiners_leave_exactly_500_members(place, stores):
    _race_setup(place)
    threads = 8
    opened = [place.open() for _ in range(threads if stores == "one store per thread" else 1)]
    outcomes: dict[int, str] = {}
    started = time.perf_counter()

    def joiners(t: int) -> None:
        for i in range(t, RACE_JOINERS, threads):
            outcomes[i] = _race_join(opened[t % len(opened)], i)

    try:
        run_threads(joiners, threads)
    finally:
        for s in opened:
            s.close()
    print(f"\n600 joiners on 8 threads ({stores}, {place.backend}): {time.perf_counter() - started:.2f} s")
    _assert_race_outcome(place, outcomes)


def _race_join_in_child(place: Place, part: int, parts: int, barrier: Any, results: Any) -> None:
    """One of the racing processes: its own store, then its share of the joiners; outcomes go back by queue."""
    try:
        store = place.open()
        barrier.wait(timeout=60)
        results.put({i: _race_join(store, i) for i in range(part, RACE_JOINERS, parts)})
        store.close()
    except BaseException:  # noqa: BLE001 - reported to the test through the queue
        results.put(traceback.format_exc())


def test_600_racing_joiners_in_4_processes_leave_exactly_500_members(place):
    _race_setup(place)
    ctx = multiprocessing.get_context("fork")  # the test process has imported everything already
    parts = 4
    barrier, results = ctx.Barrier(parts), ctx.Queue()
    started = time.perf_counter()
    children = [ctx.Process(target=_race_join_in_child, args=(place, p, parts, barrier, results), daemon=True)
                for p in range(parts)]
    for child in children:
        child.start()
    outcomes: dict[int, str] = {}
    for _ in range(parts):
        part = results.get(timeout=90)
        assert isinstance(part, dict), part
        outcomes.update(part)
    for child in children:
        child.join(timeout=30)
        assert child.exitcode == 0
    print(f"\n600 joiners in 4 processes ({place.backend}): {time.perf_counter() - started:.2f} s"
          " (with the processes' start)")
    _assert_race_outcome(place, outcomes)


def test_50_wallets_racing_two_ballots_each_cast_exactly_one_each(place):
    setup = place.open()
    wallets = [f"voter-{i:02d}" for i in range(50)]
    for w in wallets:
        join(setup, w)
    setup.close()
    threads = 8
    opened = [place.open() for _ in range(threads)]
    ballots = [(w, (k, 100 + i)) for k in (1, 2) for i, w in enumerate(wallets)]  # two ballots per wallet
    random.Random(13).shuffle(ballots)
    outcomes: list[tuple[str, str]] = []

    def vote(t: int) -> None:
        for wallet, choices in ballots[t::threads]:
            try:
                opened[t].vote(C, "spring", wallet, choices, T0)
                outcomes.append((wallet, "ok"))
            except CommunityRefusal as exc:
                outcomes.append((wallet, exc.reason))

    try:
        run_threads(vote, threads)
        cast = opened[0].ballots(C, "spring")
    finally:
        for s in opened:
            s.close()
    assert collections.Counter(o for _, o in outcomes) == {"ok": 50, "already_voted": 50}
    assert sorted(b.wallet for b in cast) == wallets
    assert {w for w, o in outcomes if o == "ok"} == set(wallets)


def test_racing_answers_count_once_per_wallet(place):
    setup = place.open()
    setup.open_poll(poll("p1"))
    setup.close()
    threads = 6
    opened = [place.open() for _ in range(threads)]
    attempts = [(f"fan-{i:02d}", (i + t) % 3) for i in range(40) for t in range(3)]
    random.Random(7).shuffle(attempts)
    outcomes: list[str] = []

    def answer(t: int) -> None:
        for wallet, option in attempts[t::threads]:
            try:
                opened[t].answer("p1", wallet, option, T0)
                outcomes.append("ok")
            except CommunityRefusal as exc:
                outcomes.append(exc.reason)

    try:
        run_threads(answer, threads)
        assert sum(opened[0].tally("p1")) == 40 and len(opened[0].answers("p1")) == 40
    finally:
        for s in opened:
            s.close()
    assert collections.Counter(outcomes) == {"ok": 40, "already_answered": 80}


# ---- crash safety ------------------------------------------------------------------------------

CRASH_KILLS = 50
"""Writer processes SIGKILLed by the crash test; a round is a fork and up to 80 ms of the store's work."""
CRASH_JOINERS, CRASH_CAP = 30, 24
"""Wallets per community in the crash stream, and the cap they press against."""
OPS_PER_WALLET = ("join", "submit", "log", "vote", "answer")
OPS_PER_COMMUNITY = 1 + CRASH_JOINERS * len(OPS_PER_WALLET)
CRASH_OPS_PER_LIFE = 2_000
"""A bound on one worker's stream (it is killed long before)."""


def crash_op(i: int) -> tuple[str, str, int]:
    """Operation ``i`` of the crash stream: (kind, community, wallet number); each community opens its poll first."""
    block, j = divmod(i, OPS_PER_COMMUNITY)
    if j == 0:
        return "open_poll", f"house-{block}", -1
    k, step = divmod(j - 1, len(OPS_PER_WALLET))
    return OPS_PER_WALLET[step], f"house-{block}", k


def _crash_apply(store: CommunityStore, i: int) -> tuple[str, Any]:
    """Run operation ``i``; return ("ok", what it wrote) or ("refused", reason)."""
    kind, community, k = crash_op(i)
    wallet, now = f"w{k}", T0 + i
    try:
        if kind == "open_poll":
            return "ok", store.open_poll(poll(f"{community}-poll", owner=community)).id
        if kind == "join":
            return "ok", join(store, wallet, cap=CRASH_CAP, community=community, now=now).wallet
        if kind == "submit":
            return "ok", submit(store, wallet, i, community=community, max_per_member=1, now=now).id
        if kind == "log":
            return "ok", store.log(community, wallet, "entry", 1.0, "spring", now).seq
        if kind == "vote":
            return "ok", store.vote(community, "spring", wallet, (k, k + 1), now).choices
        return "ok", store.answer(f"{community}-poll", wallet, k % 3, now).option
    except CommunityRefusal as exc:
        return "refused", exc.reason


def _crash_worker(place: Place, conn: Any) -> None:
    """Say ready, wait for the first operation's index, open the store, then acknowledge each operation it runs."""
    try:
        place.load()
        conn.send("ready")
        start = conn.recv()
        store = place.open()
        for i in range(start, start + CRASH_OPS_PER_LIFE):
            conn.send((i, *_crash_apply(store, i)))
        store.close()
    except BaseException:  # noqa: BLE001 - the test fails on it
        conn.send(("error", traceback.format_exc()))


def _expected(i: int, replay: bool) -> set[tuple[str, Any]]:
    """What operation ``i`` may answer: its first-run outcome, or (``replay``) the refusal of a write made before."""
    kind, _, k = crash_op(i)
    member = k < CRASH_CAP
    first = {"open_poll": ("ok", None), "join": ("ok", None) if member else ("refused", "full"),
             "submit": ("ok", None) if member else ("refused", "not_member"), "log": ("ok", None),
             "vote": ("ok", None) if member else ("refused", "not_member"), "answer": ("ok", None)}[kind]
    again = {"join": ("refused", "already_member"), "submit": ("refused", "too_many_entries"),
             "vote": ("refused", "already_voted"), "answer": ("refused", "already_answered")}.get(kind, first)
    return {first, again} if replay else {first}


class CrashLog:
    """Everything the workers acknowledged, across all their lives."""

    def __init__(self) -> None:
        self.acked: dict[int, tuple[str, Any]] = {}
        self.in_flight: set[int] = set()
        """Operations a worker may have committed but was killed before acknowledging."""
        self.next = 0

    def take(self, message: Any, round_start: int) -> None:
        """Record one acknowledgement, checking it is the next operation and a possible outcome."""
        assert message[0] != "error", message[1]
        i, status, value = message
        assert i == self.next and i not in self.acked, f"operation {i} acknowledged out of order or twice"
        replay = i == round_start and i in self.in_flight
        assert (status, None if status == "ok" else value) in _expected(i, replay), (i, crash_op(i), status, value)
        self.acked[i] = (status, value)
        self.next = i + 1


def _drain(conn: Any, log: CrashLog, round_start: int, until: float) -> bool:
    """Take acknowledgements until ``until`` (monotonic); False once the worker's end is closed."""
    while (left := until - time.monotonic()) > 0:
        try:
            if not conn.poll(left):
                return True
            message = conn.recv()
        except (EOFError, ConnectionResetError):  # reset: killed before it read the start index
            return False
        log.take(message, round_start)
    return True


def _spawn_worker(ctx: Any, place: Place) -> tuple[Any, Any]:
    ours, theirs = ctx.Pipe()
    worker = ctx.Process(target=_crash_worker, args=(place, theirs), daemon=True)
    worker.start()
    theirs.close()
    return worker, ours


def _assert_crash_store(place: Place, log: CrashLog) -> dict[str, int]:
    """Every acknowledged write is in the store exactly once; nothing else but in-flight operations; cap holds."""
    if place.backend == "sqlite":
        assert place.query("PRAGMA integrity_check") == [("ok",)]
    present: dict[tuple[str, str, int], int] = collections.Counter()
    for kind, sql in [("join", "SELECT community, wallet FROM memberships"),
                      ("submit", "SELECT community, wallet FROM entries"),
                      ("log", "SELECT community, wallet FROM engagement"),
                      ("vote", "SELECT community, wallet FROM ballots"),
                      ("answer", "SELECT p.owner, a.wallet FROM answers a JOIN polls p ON p.id = a.poll")]:
        for community, wallet in place.query(sql):
            present[(kind, community, int(wallet[1:]))] += 1
    for (community,) in place.query("SELECT owner FROM polls"):
        present[("open_poll", community, -1)] += 1
    members = dict(place.query("SELECT community, COUNT(*) FROM memberships WHERE latest = 1 AND status = 'member'"
                               " GROUP BY community"))
    images = {eid: hashlib.sha256(image).hexdigest() == sha for eid, image, sha in
              place.query("SELECT e.id, i.png, e.sha256 FROM entries e JOIN images i ON i.entry = e.id")}
    entry_ids = {eid for (eid,) in place.query("SELECT id FROM entries")}
    log_seqs = {(c, int(w[1:])): seq for c, w, seq in place.query("SELECT community, wallet, seq FROM engagement")}
    assert max(present.values(), default=1) == 1, [k for k, n in present.items() if n > 1][:5]
    written = {crash_op(i) for i, (status, _) in log.acked.items() if status == "ok"}
    assert written <= set(present), f"acknowledged writes missing: {sorted(written - set(present))[:5]}"
    extra = set(present) - written
    assert extra <= {crash_op(i) for i in log.in_flight}, f"writes nobody made: {sorted(extra)[:5]}"
    assert max(members.values(), default=0) <= CRASH_CAP
    assert all(images.values()) and set(images) == entry_ids
    assert {v for i, (s, v) in log.acked.items() if s == "ok" and crash_op(i)[0] == "submit"} <= entry_ids
    for i, (_, seq) in log.acked.items():  # a repeated log call acknowledged the row of the first
        kind, community, k = crash_op(i)
        assert kind != "log" or log_seqs[(community, k)] == seq
    return {"writes": len(present), "unacknowledged": len(extra), "communities": len(members)}


def test_sigkilled_writer_never_loses_or_duplicates_an_acknowledged_write(place):
    """Kill a worker that joins, submits, logs, votes and answers, at random moments, 50 times; then audit.

    Each new worker resumes the stream after the last acknowledged operation, so the one that was
    in flight at the kill is run again: it must find its own earlier write (already_member,
    too_many_entries, already_voted, already_answered, the same log row) and never write twice.
    Each worker is forked from the test process, which imported everything already; the next one is
    forked while the current one runs.
    """
    rng = random.Random(2026_13)
    if place.backend == "postgres":  # its tables are 0.1 s of DDL, longer than most workers live (a kill while
        place.open().close()         # creating them leaves nothing: PostgreSQL's DDL is transactional)
    ctx = multiprocessing.get_context("fork")  # a worker is the store's work, not a Python start
    log = CrashLog()
    silent = 0
    started = time.perf_counter()
    worker, conn = _spawn_worker(ctx, place)
    for round_no in range(CRASH_KILLS):
        assert conn.poll(60) and conn.recv() == "ready"
        round_start = log.next
        conn.send(round_start)
        upcoming = _spawn_worker(ctx, place) if round_no + 1 < CRASH_KILLS else None
        delay_s = rng.uniform(0.0, 0.003) if rng.random() < 0.2 else rng.uniform(0.003, 0.08)  # some while opening
        _drain(conn, log, round_start, time.monotonic() + delay_s)
        worker.kill()  # SIGKILL
        worker.join(timeout=30)
        assert worker.exitcode == -9, f"round {round_no}: the worker ended by itself ({worker.exitcode})"
        assert not _drain(conn, log, round_start, time.monotonic() + 30), "the killed worker's pipe stayed open"
        conn.close()
        silent += log.next == round_start
        log.in_flight.add(log.next)
        if upcoming is not None:
            worker, conn = upcoming
        assert time.perf_counter() - started < 120, "the crash test overran its time"
    elapsed = time.perf_counter() - started
    facts = _assert_crash_store(place, log)

    assert silent < CRASH_KILLS // 2, f"{silent} of {CRASH_KILLS} workers were killed before their first operation"
    assert log.next > 5 * CRASH_KILLS, f"only {log.next} operations acknowledged in {CRASH_KILLS} lives"
    assert facts["communities"] >= 2 and len(log.acked) == log.next
    print(f"\ncrash test ({place.backend}): {CRASH_KILLS} kills in {elapsed:.1f} s, {log.next} operations acknowledged,"
          f" {facts['writes']} writes stored, {facts['unacknowledged']} committed but killed before their"
          f" acknowledgement, {silent} workers killed before their first operation")
