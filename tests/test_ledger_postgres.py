"""The ledger on PostgreSQL, as the workers of one event share it: exactly-once claims across processes,
the same rules and refusals as SQLite, and ``showroom ledger audit``/``export`` against the database.

The server is a private one (``tests/private_postgres.py``); the crash test runs on it too
(``tests/test_ledger_store.py``).
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from pathlib import Path

import psycopg
import pytest
from test_ledger_store import SCARF, make_scene, scene_text, showroom

from server.storage.ledger import Ledger, LedgerRefusal
from server.storage.ledger_files import audit_dir
from showroom.errors import ShowroomError
from showroom.scene import parse_scene

WORKERS = 4
CLAIMERS_EACH = 50
STOCK = 50


def _event(text: str, name: str) -> str:
    """The scene with its event renamed: each test keeps its own ledger (schema) in the session's database."""
    return text.replace('id = "anniversary-runway"', f'id = "{name}"', 1)


def _claimer_process(data: str, text: str, database: str, worker: int, barrier, out) -> None:
    """One worker process: CLAIMERS_EACH threads, each with its own connection, claim one scarf each at once."""
    scene = parse_scene(text)
    ledgers = [Ledger(Path(data), scene, database=database) for _ in range(CLAIMERS_EACH)]
    results: list[str] = [""] * CLAIMERS_EACH
    go = threading.Event()

    def claim(i: int) -> None:
        go.wait(timeout=120)
        try:
            award = ledgers[i].award("selfie-with-teddy", f"visitor-{worker}-{i:02d}")
            results[i] = f"won {award.unit} {award.seq}"
        except LedgerRefusal as exc:
            results[i] = f"refused {exc.reason} {exc}"
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = f"error {exc!r}"

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(CLAIMERS_EACH)]
    for t in threads:
        t.start()
    barrier.wait(timeout=120)  # every process has its connections open and threads waiting: all rush at once
    go.set()
    for t in threads:
        t.join(timeout=120)
    for ledger in ledgers:
        ledger.close()
    out.put((worker, results))


def test_200_claimers_over_4_worker_processes_race_for_50_units_exactly_50_win(tmp_path, postgres_url):
    text = _event(scene_text(scarf_stock=STOCK), "race-four-workers")
    Ledger(tmp_path, parse_scene(text), database=postgres_url).close()  # key and schema before the rush
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_claimer_process, args=(str(tmp_path), text, postgres_url, w, barrier, out))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    outcomes = [r for w in range(WORKERS) for r in results[w]]
    assert not [r for r in outcomes if r.startswith("error")], [r for r in outcomes if r.startswith("error")][:3]
    won = [r for r in outcomes if r.startswith("won")]
    refused = [r for r in outcomes if r.startswith("refused")]
    assert len(won) == 50 and len(refused) == 150
    assert set(refused) == {"refused sold_out Maison Lumen anniversary scarf voucher is sold out (50 units)"}
    assert sorted(int(r.split()[1]) for r in won) == list(range(50))  # every unit once
    assert sorted(int(r.split()[2]) for r in won) == list(range(50))  # a dense log, one entry per award
    print(f"\nwinners per worker process: {[sum(r.startswith('won') for r in results[w]) for w in range(WORKERS)]}")

    check = Ledger(tmp_path, parse_scene(text), database=postgres_url)
    try:
        assert check.stock_left(SCARF) == 0 and check.size() == 50
    finally:
        check.close()
    result = showroom("ledger", "audit", "--data-dir", str(tmp_path), "--database", postgres_url,
                      "--event", "race-four-workers")
    assert result.returncode == 0, result.stderr
    assert "audit passed: 50 entries" in result.stdout


def test_the_rules_hold_on_postgresql_as_on_sqlite(tmp_path, postgres_url):
    """Idempotent awards, caps, sold out, redemption once: the same outcomes from both stores."""
    text = _event(scene_text(scarf_stock=2), "rules-both-stores")
    outcomes = []
    for database, data in ((None, tmp_path / "sqlite"), (postgres_url, tmp_path / "pg")):
        ledger = Ledger(data, parse_scene(text), database=database)
        try:
            first = ledger.award("selfie-with-teddy", "ada")
            again = ledger.award("selfie-with-teddy", "ada")
            ledger.award("selfie-with-teddy", "bob")
            with pytest.raises(LedgerRefusal) as sold:
                ledger.award("selfie-with-teddy", "cyd")
            spent = ledger.redeem(first.seq, "ada")
            with pytest.raises(LedgerRefusal) as twice:
                ledger.redeem(first.seq, "ada")
            batch = ledger.award_many([("attend-five-minutes", "ada"), ("selfie-with-teddy", "dee"),
                                       ("attend-five-minutes", "ada")])
            outcomes.append((first.seq, again.seq, again.new, sold.value.reason, spent.redeemed_seq,
                             twice.value.reason, [getattr(b, "seq", getattr(b, "reason", None)) for b in batch],
                             [a.entitlement for a in ledger.wallet("ada")], ledger.stock_left(SCARF), ledger.size(),
                             ledger.awards_made()))
            ledger.checkpoint()
        finally:
            ledger.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][:6] == (0, 0, False, "sold_out", 2, "spent")
    assert audit_dir(tmp_path / "pg", postgres_url, "rules-both-stores") == ([], 4, 1)


def test_a_changed_entry_in_postgresql_fails_the_audit_and_exports_verify(tmp_path, postgres_url):
    text = _event(scene_text(), "tamper-on-postgres")
    ledger = Ledger(tmp_path, parse_scene(text), database=postgres_url)
    try:
        for visitor in ("ada", "bob", "cyd"):
            ledger.award("selfie-with-teddy", visitor)
        ledger.checkpoint()
    finally:
        ledger.close()
    out = tmp_path / "entry.json"
    exported = showroom("ledger", "export", "1", "--data-dir", str(tmp_path), "--database", postgres_url,
                        "--event", "tamper-on-postgres", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    key = showroom("ledger", "pubkey", "--data-dir", str(tmp_path)).stdout.strip()
    verified = showroom("ledger", "verify", str(out), "--key", key)
    assert verified.returncode == 0 and "valid: entry 1" in verified.stdout, verified.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["checkpoint"]["size"] == 3

    with psycopg.connect(postgres_url, autocommit=True) as db:  # someone with database access edits a visitor
        entry = bytes(db.execute('SELECT entry FROM "ledger_tamper-on-postgres".entries WHERE seq = 1').fetchone()[0])
        forged = entry.replace(b'"bob"', b'"eve"')
        assert forged != entry
        db.execute('UPDATE "ledger_tamper-on-postgres".entries SET entry = %s WHERE seq = 1', (forged,))
    result = showroom("ledger", "audit", "--data-dir", str(tmp_path), "--database", postgres_url,
                      "--event", "tamper-on-postgres")
    assert result.returncode == 1 and "audit FAILED" in result.stderr
    assert "entry 1" in result.stderr, result.stderr


def test_a_database_that_cannot_be_reached_or_holds_several_events_is_named_in_one_line(tmp_path, postgres_url):
    with pytest.raises(ShowroomError, match=r"cannot reach the ledger's database postgresql://nobody@127\.0\.0\.1:1/x"):
        Ledger(tmp_path, make_scene(), database="postgresql://nobody:secret@127.0.0.1:1/x")
    with pytest.raises(ShowroomError, match="only postgresql:// URLs are supported"):
        Ledger(tmp_path, make_scene(), database="mysql://root@127.0.0.1/x")
    for name in ("several-one", "several-two"):
        Ledger(tmp_path, parse_scene(_event(scene_text(), name)), database=postgres_url).close()
    result = showroom("ledger", "audit", "--data-dir", str(tmp_path), "--database", postgres_url)
    assert result.returncode == 1
    assert "say which with --event" in result.stderr and "several-one" in result.stderr
    missing = showroom("ledger", "audit", "--data-dir", str(tmp_path), "--database", postgres_url,
                       "--event", "never-served")
    assert missing.returncode == 1 and "no event 'never-served' has written to this database" in missing.stderr


def test_two_servers_on_one_database_share_wallets_and_audit_clean(tmp_path, postgres_url):
    """A visitor awarded on one server (a worker) holds the award when it comes back through another one sharing
    the database; neither awards it twice, and the audit of the shared log passes."""
    import asyncio

    from test_rewards import TOKEN, awarded
    from test_rewards import scene_text as rewards_scene
    from wsclient import Client

    from server.net.app import start_server

    text = _event(rewards_scene(), "two-servers-one-database")
    scene = parse_scene(text, "rewards.toml")

    async def main() -> tuple[int, list[str], int]:
        first = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path,
                                   database=postgres_url)
        second = await start_server(scene, scene_text=text, port=0, host_token=TOKEN, data_dir=tmp_path,
                                    database=postgres_url)
        try:
            fan = await Client.connect(first.url)
            welcome = await fan.join("fan")
            badge = await awarded(fan, "first-hundred")
            await fan.close()
            back = await Client.connect(second.url)
            await back.join("fan", wallet=welcome["wallet"])
            await back.send({"type": "wallet"})
            wallet = await back.next_message(lambda m: m["type"] == "wallet")
            await asyncio.sleep(0.5)  # the second server's own first-hundred trigger would show here
            return badge["seq"], [i["entitlement"] for i in wallet["items"]], second.event.ledger.size()
        finally:
            await first.stop()
            await second.stop()

    seq, held, size = asyncio.run(asyncio.wait_for(main(), 60))
    assert held.count("first-hundred") == 1
    assert audit_dir(tmp_path, postgres_url, "two-servers-one-database")[0] == []
    assert size >= 1 and seq < size
