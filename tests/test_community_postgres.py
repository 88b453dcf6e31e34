"""The community store on PostgreSQL, as the workers of one event share it: exactly-once joins, ballots
and answers across processes, each write one transaction under the store's advisory lock, one lock
per store, a broken connection opened again, and clear errors that name the database without its
password.

The rules, refusals and return values are the SQLite store's: ``tests/test_community_store.py``
runs every one of its behaviour tests on both stores. The server is a private one
(``tests/private_postgres.py``); each test keeps its store in a schema of its own.
"""

from __future__ import annotations

import collections
import multiprocessing
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from test_community_store import DAY, T0, C, every_read, every_write, join, poll, refused

from server.storage.community_postgres import PostgresCommunityStore, lock_key
from server.storage.community_store import CommunityRefusal, CommunityStore
from showroom.errors import ShowroomError

WORKERS = 4
THREADS_EACH = 50
RUSHERS = WORKERS * THREADS_EACH
SEATS = 50

Work = Callable[[CommunityStore, int, int], str]
"""What thread ``i`` of worker process ``w`` does with its own store: an outcome word, or a refusal raised."""


@pytest.fixture
def schema(tmp_path) -> str:
    """A fresh schema name for the test's store (tmp_path's name is unique in the session)."""
    return f"t_{tmp_path.name}"


def _worker(url: str, schema: str, worker: int, work: Work, barrier: Any, out: Any) -> None:
    """One worker process: THREADS_EACH threads, each with a store (a connection) of its own, work at once."""
    try:
        stores = [PostgresCommunityStore(url, schema=schema) for _ in range(THREADS_EACH)]
        results = [""] * THREADS_EACH
        ready = threading.Barrier(THREADS_EACH)

        def run(i: int) -> None:
            ready.wait(timeout=60)
            try:
                results[i] = work(stores[i], worker, i)
            except CommunityRefusal as exc:
                results[i] = f"refused {exc.reason} {exc}"
            except Exception as exc:  # noqa: BLE001 - reported to the test
                results[i] = f"error {exc!r}"

        barrier.wait(timeout=60)  # every process has its connections open: the rush starts together
        threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS_EACH)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for store in stores:
            store.close()
        out.put((worker, results))
    except BaseException:  # noqa: BLE001 - reported to the test
        out.put((worker, [f"error {traceback.format_exc()}"]))


def rush(url: str, schema: str, work: Work) -> dict[tuple[int, int], str]:
    """Run ``work`` on WORKERS forked processes of THREADS_EACH threads at once; the outcome of each (worker, thread)."""
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, schema, w, work, barrier, out), daemon=True)
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = {}
    for _ in procs:
        worker, outcomes_of_worker = out.get(timeout=120)
        results[worker] = outcomes_of_worker
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    outcomes = {(w, i): r for w, rs in results.items() for i, r in enumerate(rs)}
    errors = [r for r in outcomes.values() if r.startswith("error")]
    assert not errors, errors[:3]
    assert len(outcomes) == RUSHERS
    return outcomes


@pytest.mark.parametrize("by", ["cap", "invite"])
def test_200_wallets_in_4_worker_processes_rush_50_seats_exactly_50_join(postgres_url, schema, by):
    """The member cap (or one invite's uses) holds across processes: exactly 50 of 200 join, 150 hear why not."""
    setup = PostgresCommunityStore(postgres_url, schema=schema)
    if by == "invite":
        setup.create_invite(C, "RUSH", issued_by="host", max_uses=SEATS, expires_at=T0 + DAY, now=T0)
    setup.close()
    cap, invite = (SEATS, None) if by == "cap" else (500, "RUSH")

    def work(store: CommunityStore, w: int, i: int) -> str:
        join(store, f"fan-{w}-{i:02d}", cap=cap, invite=invite, now=T0 + 1)
        return "joined"

    started = time.perf_counter()
    outcomes = rush(postgres_url, schema, work)
    elapsed = time.perf_counter() - started
    joined = sorted(f"fan-{w}-{i:02d}" for (w, i), r in outcomes.items() if r == "joined")
    refusals = collections.Counter(r for r in outcomes.values() if r != "joined")
    expected = {"cap": f"refused full {C} has its {SEATS} members",
                "invite": f"refused invite_used_up invite 'RUSH' has had its {SEATS} uses"}[by]
    assert len(joined) == SEATS and refusals == {expected: RUSHERS - SEATS}

    check = PostgresCommunityStore(postgres_url, schema=schema)
    try:
        assert check.count(C) == SEATS and sorted(m.wallet for m in check.members(C)) == joined
        if by == "invite":
            assert [(i.code, i.uses) for i in check.invites(C)] == [("RUSH", SEATS)]
            assert {m.invite for m in check.members(C)} == {"RUSH"}
    finally:
        check.close()
    with psycopg.connect(postgres_url) as db:
        assert db.execute(f'SELECT COUNT(*) FROM "{schema}".memberships').fetchone()[0] == SEATS
    print(f"\n{RUSHERS} joiners for {SEATS} seats ({by}) in {WORKERS} processes: {elapsed:.2f} s")


def test_duplicate_ballots_and_answers_from_4_processes_count_once_per_wallet(postgres_url, schema):
    """Every wallet votes and answers from 20 threads in 4 processes at once: one ballot, one answer each."""
    wallets = [f"voter-{k}" for k in range(10)]
    setup = PostgresCommunityStore(postgres_url, schema=schema)
    for wallet in wallets:
        join(setup, wallet)
    setup.open_poll(poll("p1"))
    setup.close()

    def work(store: CommunityStore, w: int, i: int) -> str:
        wallet = wallets[i % len(wallets)]
        said = []
        for act in (lambda: store.vote(C, "spring", wallet, (w, 100 + i), T0),
                    lambda: store.answer("p1", wallet, (w + i) % 3, T0)):
            try:
                act()
                said.append("ok")
            except CommunityRefusal as exc:
                said.append(exc.reason)
        return " ".join(said)

    started = time.perf_counter()
    outcomes = rush(postgres_url, schema, work)
    elapsed = time.perf_counter() - started
    votes = collections.Counter(r.split()[0] for r in outcomes.values())
    answers = collections.Counter(r.split()[1] for r in outcomes.values())
    assert votes == {"ok": len(wallets), "already_voted": RUSHERS - len(wallets)}
    assert answers == {"ok": len(wallets), "already_answered": RUSHERS - len(wallets)}

    check = PostgresCommunityStore(postgres_url, schema=schema)
    try:
        ballots = {b.wallet: b.choices for b in check.ballots(C, "spring")}
        assert len(check.ballots(C, "spring")) == len(wallets)
        assert ballots == {wallets[i % len(wallets)]: (w, 100 + i) for (w, i), r in outcomes.items()
                           if r.split()[0] == "ok"}  # the stored ballot is the one acknowledged
        stored = {a.wallet: a.option for a in check.answers("p1")}
        assert len(check.answers("p1")) == len(wallets) and sum(check.tally("p1")) == len(wallets)
        assert stored == {wallets[i % len(wallets)]: (w + i) % 3 for (w, i), r in outcomes.items()
                          if r.split()[1] == "ok"}
    finally:
        check.close()
    print(f"\n{RUSHERS} ballots and {RUSHERS} answers for {len(wallets)} wallets in {WORKERS} processes:"
          f" {elapsed:.2f} s")


class Recorder:
    """The store's writer connection, recording every statement sent on it."""

    def __init__(self, db: Any) -> None:
        self.db, self.conn = db, db.conn
        self.statements: list[str] = []

    def execute(self, sql: Any, args: Any = (), /) -> Any:
        self.statements.append(sql)
        return self.db.execute(sql, args)


def test_every_write_is_one_transaction_under_the_advisory_lock_and_reads_stay_off_the_writer(postgres_url, schema):
    store = PostgresCommunityStore(postgres_url, schema=schema)
    try:
        writer = store._db.conn  # white box, on purpose
        assert writer.execute("SHOW synchronous_commit").fetchone()[0] == "on"  # durable when a write returns
        assert writer.execute("SHOW lock_timeout").fetchone()[0] == "30s"
        store._db = recorder = Recorder(store._db)  # type: ignore[assignment]
        lock = ["BEGIN ISOLATION LEVEL READ COMMITTED", "SELECT pg_advisory_xact_lock(?)"]
        for write in every_write(store):
            recorder.statements.clear()
            write()
            assert recorder.statements[:2] == lock and recorder.statements[-1] == "COMMIT", recorder.statements
            assert sum(s.startswith(("BEGIN", "COMMIT", "ROLLBACK")) for s in recorder.statements) == 2
        recorder.statements.clear()
        refused("poll_closed", lambda: store.answer("p1", "carol", 0, T0))
        assert recorder.statements[:2] == lock and recorder.statements[-1] == "ROLLBACK"
        assert writer.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        recorder.statements.clear()
        assert all(r is not None for r in every_read(store)) and recorder.statements == []
        assert store._read().conn.execute("SHOW default_transaction_read_only").fetchone()[0] == "on"
    finally:
        store.close()


def test_the_tables_are_in_the_stores_schema_in_postgresql_types(postgres_url, schema):
    PostgresCommunityStore(postgres_url, schema=schema).close()
    with psycopg.connect(postgres_url) as db:
        types = {(t, c): d for t, c, d in db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
            (schema,))}
        version = db.execute(f'SELECT value FROM "{schema}".meta').fetchall()
    assert {t for t, _ in types} == {"meta", "memberships", "invites", "requests", "engagement", "phase_overrides",
                                     "entries", "images", "moderation", "ballots", "results", "featured", "polls",
                                     "answers"}
    assert types[("images", "png")] == "bytea"
    assert types[("memberships", "at")] == types[("polls", "closes_at")] == "double precision"  # not 4-byte REAL
    assert types[("entries", "id")] == types[("invites", "rowid")] == "bigint"
    assert version == [("1",)]


def test_each_store_has_its_own_lock_and_a_writer_waits_for_the_holder(postgres_url, schema):
    """Hold one store's advisory lock: its writers wait until it is released; another store's do not."""
    first = PostgresCommunityStore(postgres_url, schema=schema)
    other = PostgresCommunityStore(postgres_url, schema=f"{schema}_other")
    done: list[str] = []
    try:
        with psycopg.connect(postgres_url, autocommit=True) as holder:
            holder.execute("BEGIN")
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(schema),))
            waiting = threading.Thread(target=lambda: done.append(join(first, "alice").wallet))
            waiting.start()
            join(other, "bob")  # not held up
            time.sleep(0.3)
            assert done == [] and waiting.is_alive()
            holder.execute("COMMIT")
            waiting.join(timeout=10)
        assert done == ["alice"] and first.count(C) == 1 and other.count(C) == 1
        assert first.member(C, "bob") is None and other.member(C, "alice") is None
    finally:
        first.close()
        other.close()


def test_a_broken_connection_fails_one_call_and_is_opened_again(postgres_url, schema):
    store = PostgresCommunityStore(postgres_url, schema=schema)
    try:
        join(store, "alice")
        assert store.count(C) == 1  # this thread's reader is open
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # the database restarts, say
            for pid in (store._db.conn.info.backend_pid, store._read().conn.info.backend_pid):
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        with pytest.raises(psycopg.OperationalError):
            join(store, "bob")
        with pytest.raises(psycopg.OperationalError):
            store.count(C)
        join(store, "bob")
        assert store.count(C) == 2
    finally:
        store.close()


def test_a_database_that_cannot_be_reached_or_a_bad_name_is_one_clear_line(postgres_url):
    with pytest.raises(ShowroomError) as caught:
        PostgresCommunityStore("postgresql://nobody:secret@127.0.0.1:1/x")
    message = str(caught.value)
    assert message.startswith("cannot reach the community store's database postgresql://nobody@127.0.0.1:1/x:")
    assert "secret" not in message and "\n" not in message
    with pytest.raises(ShowroomError, match="only postgresql:// URLs are supported"):
        PostgresCommunityStore("mysql://root:secret@127.0.0.1/x")
    for bad in ("", "x" * 64):
        with pytest.raises(ShowroomError, match="a name of 1 to 63 bytes"):
            PostgresCommunityStore(postgres_url, schema=bad)


def test_a_schema_name_is_quoted_and_stores_in_two_schemas_are_apart(postgres_url, schema):
    odd = f'{schema} "Odd"; DROP'
    stores = [PostgresCommunityStore(postgres_url, schema=name) for name in (schema, odd)]
    try:
        join(stores[0], "alice")
        join(stores[1], "bob", cap=1)
        refused("full", lambda: join(stores[1], "carol", cap=1))
        assert [m.wallet for m in stores[0].members(C)] == ["alice"]
        assert [m.wallet for m in stores[1].members(C)] == ["bob"]
        assert stores[1].where.endswith(f"schema {odd}")
    finally:
        for store in stores:
            store.close()


def test_a_server_given_a_database_keeps_its_members_in_postgresql(tmp_path, postgres_url):
    """``serve --database``: members admitted by one server are members for a server started later on the same
    database (another worker, or the same one after a restart), with no data directory in common."""
    import asyncio

    from test_community_server import CIRCLE, COMMUNITIES, TOKEN, first_answer, host, invite, join_message
    from test_community_server import scene_text as circle_scene

    from server.net.app import start_server
    from showroom.scene import parse_scene

    text = circle_scene(members_only=True)
    scene = parse_scene(text, "show.toml")
    wallet = "friend-wallet-0123456789"

    async def main() -> tuple[str, str, str, int]:
        first = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path / "one",
                                   database=postgres_url, communities=COMMUNITIES)
        try:
            code = await invite(await host(first), uses=1)
            joined = (await first_answer(first.url, join_message("friend", invite=code, wallet=wallet)))["type"]
        finally:
            await first.stop()
        second = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path / "two",
                                    database=postgres_url, communities=COMMUNITIES)
        try:
            back = (await first_answer(second.url, join_message("friend", wallet=wallet)))["type"]
            stranger = (await first_answer(second.url, join_message("stranger", wallet="stranger-wallet-0123")))
            return joined, back, stranger["code"], second.event.communities.store.count(CIRCLE)
        finally:
            await second.stop()

    assert asyncio.run(asyncio.wait_for(main(), 60)) == ("welcome", "welcome", "members_only", 1)
