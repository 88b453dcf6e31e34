"""The ledger's writer thread: everything handed over is written once, durably, and acknowledged once
after its commit; refusals and failures come back to their sender, never dropped."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from test_ledger_store import SCARF, make_scene

import server.storage.ledger_writer as writer_module
from server.storage.ledger import DB_FILE, Award, Claim, Ledger, LedgerRefusal, Request, Spend
from server.storage.ledger_writer import LedgerWriter, WriteFailed, Written


class Acks:
    """What came back for each request, by the name the test gave it."""

    def __init__(self) -> None:
        self.outcomes: dict[str, list[Written]] = {}

    def to(self, name: str):
        """The ``done`` of the request called ``name``."""
        outcomes = self.outcomes.setdefault(name, [])
        return lambda request, outcome: outcomes.append(outcome)


def settle(writer: LedgerWriter, limit_s: float = 60.0) -> None:
    """Deliver acknowledgements, as the tick does, until none is outstanding (at most ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while writer.waiting:
        assert time.monotonic() < deadline, f"{writer.waiting} requests still unacknowledged"
        writer.deliver()
        time.sleep(0.01)


def awards_in_db(data: Path) -> list[tuple[int, str, str]]:
    """(seq, rule, visitor) of every award, read on a connection of the test's own."""
    db = sqlite3.connect(f"file:{data / DB_FILE}?mode=ro", uri=True)
    try:
        return sorted(db.execute("SELECT seq, rule, visitor FROM awards"))
    finally:
        db.close()


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger(tmp_path, make_scene(scarf_stock=10_000))
    yield opened
    opened.close()


def test_thousands_of_awards_handed_over_at_once_are_each_written_and_acknowledged_once(ledger, tmp_path):
    writer = LedgerWriter(ledger, max_batch=400)
    acks = Acks()
    wallets = [f"w-{k:05d}" for k in range(3000)]
    for wallet in wallets:
        writer.submit(Claim("attend-five-minutes", wallet), acks.to(wallet))
    for wallet in wallets[:100]:  # the same awards asked for again while the first are being written
        writer.submit(Claim("attend-five-minutes", wallet), acks.to(wallet + "/again"))
    settle(writer)
    writer.close()

    assert all(len(acks.outcomes[w]) == 1 for w in wallets)
    first = [acks.outcomes[w][0] for w in wallets]
    assert all(isinstance(a, Award) and a.new for a in first)
    assert [a.seq for a in first] == list(range(3000))  # in the order they were handed over
    again = [acks.outcomes[w + "/again"][0] for w in wallets[:100]]
    assert all(isinstance(a, Award) and not a.new for a in again)
    assert [a.seq for a in again] == list(range(100))
    stored = awards_in_db(tmp_path)
    assert [(seq, visitor) for seq, _, visitor in stored] == list(enumerate(wallets))
    assert ledger.size() == 3000


def test_the_loop_reads_what_an_acknowledgement_announces(ledger):
    writer = LedgerWriter(ledger)
    seen: list[int] = []

    def done(request: Request, outcome: Written) -> None:
        assert isinstance(outcome, Award)
        seen.append(len(ledger.wallet("ada")))  # the loop's own connection, at the moment it would tell ada
    writer.submit(Claim("selfie-with-teddy", "ada"), done)
    settle(writer)
    writer.close()
    assert seen == [1]
    assert ledger.stock_left(SCARF) == 9_999


def test_two_redemptions_of_one_voucher_spend_it_once_in_one_batch_or_two(ledger):
    voucher = ledger.award("selfie-with-teddy", "ada")
    same_batch = ledger.write_many([Spend(ledger.award("selfie-with-teddy", "bob").seq, "bob")] * 2)
    assert isinstance(same_batch[0], Award) and same_batch[0].redeemed_seq is not None
    assert isinstance(same_batch[1], LedgerRefusal) and same_batch[1].reason == "spent"

    writer = LedgerWriter(ledger)
    acks = Acks()
    for name in ("first", "second"):
        writer.submit(Spend(voucher.seq, "ada"), acks.to(name))
    settle(writer)
    writer.close()
    outcomes = [acks.outcomes["first"][0], acks.outcomes["second"][0]]
    assert isinstance(outcomes[0], Award) and outcomes[0].redeemed_at is not None
    assert isinstance(outcomes[1], LedgerRefusal) and outcomes[1].reason == "spent"
    assert outcomes[0].redeemed_at in str(outcomes[1])
    assert [a.redeemed_seq for a in ledger.wallet("ada")] == [outcomes[0].redeemed_seq]


def test_refusals_come_back_to_their_sender_and_the_rest_of_the_batch_is_written(tmp_path):
    ledger = Ledger(tmp_path, make_scene(scarf_stock=1))
    writer = LedgerWriter(ledger)
    acks = Acks()
    for name, rule in (("ada", "selfie-with-teddy"), ("bob", "selfie-with-teddy"), ("cy", "no-such-rule"),
                       ("dee", "selfie-with-ember")):
        writer.submit(Claim(rule, name), acks.to(name))
    settle(writer)
    writer.close()
    got = {name: outcome[0] for name, outcome in acks.outcomes.items()}
    assert isinstance(got["ada"], Award) and got["ada"].new and isinstance(got["dee"], Award)
    assert isinstance(got["bob"], LedgerRefusal) and got["bob"].reason == "sold_out"
    assert isinstance(got["cy"], LedgerRefusal) and got["cy"].reason == "unknown"
    assert [visitor for _, _, visitor in awards_in_db(tmp_path)] == ["ada", "dee"]
    ledger.close()


def test_a_request_the_ledger_cannot_write_is_reported_and_the_others_are_written(ledger, tmp_path, monkeypatch,
                                                                                  caplog):
    import server.storage.ledger as store

    real = store.encode_entry

    def failing(record, key):
        if record.visitor == "bob":
            raise ValueError("a record the signer cannot take")
        return real(record, key)
    monkeypatch.setattr(store, "encode_entry", failing)
    writer = LedgerWriter(ledger)
    acks = Acks()
    for name in ("ada", "bob", "cy"):
        writer.submit(Claim("attend-five-minutes", name), acks.to(name))
    settle(writer)
    writer.close()
    assert isinstance(acks.outcomes["bob"][0], WriteFailed)
    assert "a record the signer cannot take" in str(acks.outcomes["bob"][0])
    assert all(isinstance(acks.outcomes[n][0], Award) for n in ("ada", "cy"))
    assert [visitor for _, _, visitor in awards_in_db(tmp_path)] == ["ada", "cy"]
    assert "could not write Claim(rule='attend-five-minutes', visitor='bob')" in caplog.text


def test_a_disk_that_fails_for_a_while_delays_awards_but_loses_none(ledger, tmp_path, monkeypatch, caplog):
    failures = Counter[str]()
    real = Ledger.write_many

    def flaky(self, requests, now=None, **pacing):
        if failures["io"] < 2:
            failures["io"] += 1
            raise sqlite3.OperationalError("disk I/O error")
        return real(self, requests, now, **pacing)
    monkeypatch.setattr(Ledger, "write_many", flaky)
    monkeypatch.setattr(writer_module, "RETRY_PAUSE_S", 0.01)
    writer = LedgerWriter(ledger)
    acks = Acks()
    for k in range(50):
        writer.submit(Claim("attend-five-minutes", f"v{k}"), acks.to(f"v{k}"))
    settle(writer)
    writer.close()
    assert failures["io"] == 2 and caplog.text.count("disk I/O error") == 2
    assert all(isinstance(acks.outcomes[f"v{k}"][0], Award) for k in range(50))
    assert len(awards_in_db(tmp_path)) == 50


def test_a_disk_that_keeps_failing_reports_every_request_as_not_written(ledger, monkeypatch):
    def broken(self, requests, now=None, **pacing):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(Ledger, "write_many", broken)
    monkeypatch.setattr(writer_module, "RETRY_PAUSE_S", 0.001)
    writer = LedgerWriter(ledger)
    acks = Acks()
    for k in range(5):
        writer.submit(Claim("attend-five-minutes", f"v{k}"), acks.to(f"v{k}"))
    settle(writer)
    writer.close()
    outcomes = [acks.outcomes[f"v{k}"] for k in range(5)]
    assert all(len(o) == 1 and isinstance(o[0], WriteFailed) and "disk is full" in str(o[0]) for o in outcomes)


def test_closing_the_writer_first_writes_everything_handed_over(ledger, tmp_path):
    writer = LedgerWriter(ledger, max_batch=100)
    acks = Acks()
    for k in range(500):
        writer.submit(Claim("attend-five-minutes", f"v{k}"), acks.to(f"v{k}"))
    writer.checkpoint()
    writer.close()
    assert len(awards_in_db(tmp_path)) == 500
    assert ledger.checkpoints()[-1]["size"] == 500  # the checkpoint asked for came after the backlog
    assert writer.deliver() == 500 and all(isinstance(acks.outcomes[f"v{k}"][0], Award) for k in range(500))
    with pytest.raises(WriteFailed):
        writer.submit(Claim("attend-five-minutes", "late"), acks.to("late"))


def test_a_loop_that_never_stops_ticking_still_gets_its_awards_written(ledger, tmp_path):
    """The writer steps aside while the tick runs, but a loop busy for good does not starve the ledger."""
    writer = LedgerWriter(ledger)
    acks = Acks()
    with writer.ticking():  # one endless tick
        for k in range(20):
            writer.submit(Claim("attend-five-minutes", f"v{k}"), acks.to(f"v{k}"))
        deadline = time.monotonic() + 30
        while len(awards_in_db(tmp_path)) < 20:
            assert time.monotonic() < deadline, "the writer wrote nothing while the loop was busy"
            time.sleep(0.05)
    settle(writer)
    writer.close()
    assert all(isinstance(acks.outcomes[f"v{k}"][0], Award) for k in range(20))
