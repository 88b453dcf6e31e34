"""The ledger store: limited stock under concurrency, crash safety, tamper evidence, redemption rules.

Covers ``server/ledger_store.py`` (the SQLite ledger a server writes), ``server/ledger_files.py``
and the ``showroom ledger pubkey|export|verify|audit`` commands run as a person would run them.
Test scenes are the anniversary example with a few lines replaced.
"""

from __future__ import annotations

import base64
import collections
import datetime as dt
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from server.storage.ledger import DB_FILE, KEY_FILE, Ledger, LedgerRefusal
from server.storage import ledger_files
from server.storage.ledger_files import audit_dir
from showroom.ledger import (
    LedgerError,
    award_record,
    consistency_proof,
    encode_entry,
    export_document,
    format_time,
    generate_private_key,
    leaf_hash,
    load_private_key,
    public_key_hex,
    root_of_leaf_hashes,
    sign_checkpoint,
    verify_checkpoint_consistency,
)
from showroom.scene import parse_scene

ROOT = Path(__file__).resolve().parent.parent
SCENE_TEXT = (ROOT / "scenes" / "anniversary-runway.toml").read_text(encoding="utf-8")
WORKER = Path(__file__).resolve().parent / "ledger_worker.py"
EVENT = "anniversary-runway"
SCARF, PERFUME = "lumen-scarf", "aurora-perfume"
T0 = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
"""A fixed clock for the rules tests: inside the perfume's window (2026-11-01 .. 2027-01-31)."""

CRASH_ROUNDS = 100
"""Writers killed by the crash test, on each store; a round costs the writer's work and the checks (~0.1 s here)."""
AUDIT_EVERY = 10
"""The crash test runs the full audit (every entry's signature, ~0.2 s by the end) after every tenth kill."""
CRASH_PAUSE_S = 0.003
"""Pause between the crash worker's operations: keeps the log (and so each full audit) small."""

EXTRA_SCARF_RULE = """
[[rewards]]
id = "cheer-for-a-scarf"
when = "reacted"
look = "finale"
grant = "lumen-scarf"
"""


# ---- helpers ---------------------------------------------------------------------------------

def scene_text(*, scarf_stock: int = 150, perfume_stock: int = 100, scarf_cap: int = 1, extra: str = "") -> str:
    """The anniversary scene with the scarf's stock and cap and the perfume's stock replaced."""
    scarf = 'stock = 150\nper_visitor_cap = 1\nvalid_for = "72h"\n'
    perfume = "stock = 100\nper_visitor_cap = 1\nvalid_from = 2026-11-01T00:00:00Z\n"
    assert SCENE_TEXT.count(scarf) == 1 and SCENE_TEXT.count(perfume) == 1
    text = SCENE_TEXT.replace(scarf, f'stock = {scarf_stock}\nper_visitor_cap = {scarf_cap}\nvalid_for = "72h"\n')
    text = text.replace(perfume, f"stock = {perfume_stock}\nper_visitor_cap = 1\nvalid_from = 2026-11-01T00:00:00Z\n")
    return text + extra


def make_scene(**changes: object):
    """A validated scene variant (see :func:`scene_text`)."""
    return parse_scene(scene_text(**changes), "<test scene>")  # type: ignore[arg-type]


def showroom(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m showroom ARGS`` as a person would, capturing its output."""
    return subprocess.run([sys.executable, "-m", "showroom", *args], capture_output=True, text=True, check=False,
                          cwd=ROOT, timeout=120)


def assert_audit_fails(data: Path, *expected: str) -> str:
    """``showroom ledger audit`` exits 1 and names each expected problem; return its stderr."""
    result = showroom("ledger", "audit", "--data-dir", str(data))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "audit FAILED" in result.stderr
    for fragment in expected:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    return result.stderr


def stored_entries(data: Path, database: str | None = None, event: str | None = None) -> list[bytes]:
    """The entries column of the store, in seq order, read straight from SQLite (or PostgreSQL)."""
    db = ledger_files._db(data, database, event)
    try:
        return [bytes(r[0]) for r in db.execute("SELECT entry FROM entries ORDER BY seq")]
    finally:
        db.close()


def tamper(data: Path, sql: str, *args: object) -> None:
    """Change the stored ledger behind the server's back, as someone with the file would."""
    db = sqlite3.connect(data / DB_FILE)
    try:
        with db:
            db.execute(sql, args)
    finally:
        db.close()


def reseal(data: Path) -> dict:
    """What a host rewriting history would do next: sign a fresh checkpoint over the tampered entries."""
    entries = stored_entries(data)
    leaves = [leaf_hash(e) for e in entries]
    return sign_checkpoint(load_private_key(data / KEY_FILE), event=EVENT, size=len(leaves),
                           root=root_of_leaf_hashes(leaves), time=T0 + dt.timedelta(days=1))


def assert_not_a_prefix(old: dict, data: Path) -> None:
    """A client holding checkpoint ``old`` rejects the consistency proof to a re-signed checkpoint of ``data``."""
    new = reseal(data)
    leaves = [leaf_hash(e) for e in stored_entries(data)]
    proof = [h.hex() for h in consistency_proof(leaves, old["size"], new["size"])]
    public = public_key_hex(load_private_key(data / KEY_FILE))
    with pytest.raises(LedgerError, match="is not a prefix of checkpoint"):
        verify_checkpoint_consistency(old, new, proof, public)


def one_line_refusal(result: subprocess.CompletedProcess[str]) -> str:
    """Assert a command failed with exit 1 and exactly one line on stderr; return that line."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stdout == ""
    return lines[0]


# ---- limited stock under concurrency ----------------------------------------------------------

def test_200_concurrent_claimers_of_50_units_get_exactly_50_vouchers_and_150_sold_out(tmp_path):
    scene = make_scene(scarf_stock=50)
    ledgers = [Ledger(tmp_path, scene) for _ in range(200)]  # 200 separate SQLite connections
    barrier = threading.Barrier(200)
    results: list[object] = [None] * 200

    def claim(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ledgers[i].award("selfie-with-teddy", f"visitor-{i:03d}")
        except Exception as exc:  # noqa: BLE001 - every outcome is checked below
            results[i] = exc

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    won = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, LedgerRefusal)]
    assert len(won) == 50 and len(refused) == 150, [r for r in results if isinstance(r, Exception)
                                                    and not isinstance(r, LedgerRefusal)][:3]
    assert {r.reason for r in refused} == {"sold_out"}
    assert {str(r) for r in refused} == {"Maison Lumen anniversary scarf voucher is sold out (50 units)"}
    assert sorted(a.unit for a in won) == list(range(50))
    assert len({a.visitor for a in won}) == 50 and len({a.seq for a in won}) == 50
    assert all(a.new for a in won)
    check = ledgers[0]
    assert check.stock_left(SCARF) == 0
    assert check.size() == 50
    for i, r in enumerate(results):
        assert [a.seq for a in check.wallet(f"visitor-{i:03d}")] == ([] if isinstance(r, Exception) else [r.seq])
    for ledger in ledgers:
        ledger.close()

    result = showroom("ledger", "audit", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "audit passed: 50 entries" in result.stdout


def _claim_in_child(data: str, text: str, i: int, barrier) -> None:
    """One forked claimer: its own Ledger (own connection), then the claim; the exit code says how it went."""
    try:
        ledger = Ledger(Path(data), parse_scene(text))
        barrier.wait(timeout=120)
        try:
            ledger.award("selfie-with-teddy", f"visitor-{i:03d}")
            code = 0
        except LedgerRefusal as exc:
            code = 3 if exc.reason == "sold_out" and "is sold out (50 units)" in str(exc) else 4
    except BaseException:  # noqa: BLE001 - reported through the exit code
        import traceback

        traceback.print_exc()
        code = 5
    os._exit(code)


def test_200_concurrent_claimer_processes_of_50_units_get_exactly_50_vouchers(tmp_path):
    text = scene_text(scarf_stock=50)
    Ledger(tmp_path, parse_scene(text)).close()  # key and schema exist before the rush
    ctx = multiprocessing.get_context("fork")  # the test process has imported everything already
    barrier = ctx.Barrier(200)
    children = [ctx.Process(target=_claim_in_child, args=(str(tmp_path), text, i, barrier)) for i in range(200)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=120)
    codes = collections.Counter(child.exitcode for child in children)
    assert codes == {0: 50, 3: 150}, codes

    ledger = Ledger(tmp_path, parse_scene(text))
    try:
        assert ledger.stock_left(SCARF) == 0
        units = sorted(a.unit for i in range(200) for a in ledger.wallet(f"visitor-{i:03d}"))
        assert units == list(range(50))
    finally:
        ledger.close()
    result = showroom("ledger", "audit", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr


# ---- crash safety ----------------------------------------------------------------------------

class Acknowledged:
    """Everything the crash worker told its clients, across all its lives."""

    def __init__(self) -> None:
        self.awards: dict[tuple[str, str], int] = {}
        self.by_seq: dict[int, tuple[str, str]] = {}
        self.redeemed: dict[int, tuple[str, str]] = {}
        self.checkpoints: dict[int, str] = {}
        self.last: tuple[str, str] | None = None

    def read(self, out: str) -> int:
        """Record the worker's complete output lines (a line cut by the kill acknowledges nothing)."""
        lines = out.split("\n")[:-1]
        for line in lines:
            kind, *fields = line.split(" ")
            if kind in ("award", "again"):
                seq, rule, visitor = int(fields[0]), fields[1], fields[2]
                assert self.awards.setdefault((rule, visitor), seq) == seq, f"{line}: acknowledged twice"
                assert self.by_seq.setdefault(seq, (rule, visitor)) == (rule, visitor), f"{line}: seq reused"
                self.last = (rule, visitor)
            elif kind == "redeem":
                assert int(fields[0]) not in self.redeemed, f"{line}: redeemed twice"
                self.redeemed[int(fields[0])] = (fields[1], fields[2])
            elif kind == "checkpoint":
                self.checkpoints[int(fields[0])] = fields[1]
            else:
                raise AssertionError(f"unexpected worker line {line!r}")
        return len(lines)


def assert_store_holds(data: Path, acked: Acknowledged, database: str | None = None, event: str | None = None,
                       *, audit: bool = True) -> None:
    """The audit passes (when ``audit``: it checks every entry's signature, the costly part), and every
    acknowledged award, redemption and checkpoint is in the store exactly once."""
    if audit:
        problems, _, _ = audit_dir(data, database, event)
        assert problems == [], problems[:5]
    db = ledger_files._db(data, database, event)
    try:
        records = [json.loads(bytes(e))["record"] for (e,) in db.execute("SELECT entry FROM entries ORDER BY seq")]
        table = {(r, v): (seq, ent, rseq, rat) for r, v, seq, ent, rseq, rat in db.execute(
            "SELECT rule, visitor, seq, entitlement, redeemed_seq, redeemed_at FROM awards")}
        taken = dict(db.execute("SELECT entitlement, taken FROM stock").fetchall())
        checkpoints = {size: json.loads(doc)["root"] for size, doc in db.execute("SELECT size, doc FROM checkpoints")}
    finally:
        db.close()
    assert [r["seq"] for r in records] == list(range(len(records)))
    awards = [r for r in records if r["kind"] == "award"]
    redeems = [r for r in records if r["kind"] == "redeem"]
    per_key = collections.Counter((r["rule"], r["visitor"]) for r in awards)
    assert max(per_key.values(), default=1) == 1, [k for k, n in per_key.items() if n > 1][:3]
    assert max(collections.Counter(r["award_seq"] for r in redeems).values(), default=1) == 1
    log_awards = {(r["rule"], r["visitor"]): r["seq"] for r in awards}
    log_redeems = {r["award_seq"]: r for r in redeems}

    for key, seq in acked.awards.items():
        assert log_awards.get(key) == seq, f"acknowledged award {key} (seq {seq}) is not in the log"
        assert (records[seq]["rule"], records[seq]["visitor"]) == key
    for award_seq, (visitor, at) in acked.redeemed.items():
        r = log_redeems.get(award_seq)
        assert r is not None and (r["visitor"], r["at"]) == (visitor, at), f"redemption of {award_seq} lost"
    for size_, root in acked.checkpoints.items():
        assert checkpoints.get(size_) == root, f"acknowledged checkpoint of size {size_} lost"

    # the tables the server answers from agree with the log, row for row
    assert {k: v[0] for k, v in table.items()} == log_awards
    assert {v[0]: (v[2], v[3]) for v in table.values() if v[2] is not None} == {
        s: (r["seq"], r["at"]) for s, r in log_redeems.items()}
    for ent in (SCARF, PERFUME):
        assert taken[ent] == sum(1 for r in awards if r["entitlement"] == ent)
        assert sorted(r["unit"] for r in awards if r["entitlement"] == ent) == list(range(taken[ent]))


class Zygote:
    """The crash worker (``tests/ledger_worker.py``): imports once, forks a writer a round."""

    def __init__(self, data: Path, scene_file: Path, database: str | None, errors: Path) -> None:
        self.fifo_dir = errors.parent
        self.errors = errors.open("w")
        self.proc = subprocess.Popen([sys.executable, str(WORKER), str(data), str(scene_file), str(CRASH_PAUSE_S)],
                                     cwd=ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.errors, env={**os.environ, "LEDGER_DATABASE": database or ""})
        assert self.answer() == "ready", self.proc.communicate()

    def answer(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.answer()

    def kill_round(self, round_no: int, again: tuple[str, str] | None, pause: float) -> tuple[str, str]:
        """Fork a writer, let it work ``pause`` s, SIGKILL it; (what it printed, how it died)."""
        fifo = self.fifo_dir / f"round-{round_no}.fifo"
        os.mkfifo(fifo)
        pid = int(self.ask(f"fork {fifo} r{round_no} {' '.join(again or ())}".strip()).split()[1])
        with open(fifo, encoding="utf-8") as out:  # opens once the writer has opened its end
            time.sleep(pause)
            os.kill(pid, 9)  # SIGKILL
            printed = out.read()  # to the end: the writer's end closed with it
        fifo.unlink()
        return printed, self.ask(f"wait {pid}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.errors.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request) -> str | None:
    """The ledger's store: None for SQLite in the data directory, else the private PostgreSQL's URL."""
    return request.getfixturevalue("postgres_url") if request.param == "postgres" else None


def test_sigkilled_writer_never_loses_or_duplicates_an_acknowledged_award(tmp_path, store):
    """Kill an awarding (one at a time and in batches), redeeming, checkpointing worker at random moments;
    audit and count after each kill, on SQLite and on PostgreSQL.

    Each writer is forked from a worker that paid its imports once, so a round is the writer's
    own work and the audit of the store it left.
    """
    rng = random.Random(4_2026)
    scene_file = tmp_path / "scene.toml"
    event = "crash-test" if store else None  # its own ledger among the session database's others
    text = scene_text(scarf_stock=1_000_000, perfume_stock=1_000_000)
    if event:
        text = text.replace(f'id = "{EVENT}"', f'id = "{event}"', 1)
    scene_file.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    Ledger(data, parse_scene(text), database=store).close()
    acked = Acknowledged()
    silent_rounds = 0
    started = time.perf_counter()
    again: tuple[str, str] | None = None  # the award the next writer repeats first
    zygote = Zygote(data, scene_file, store, tmp_path / "worker-errors.txt")
    try:
        for round_no in range(CRASH_ROUNDS):
            out, death = zygote.kill_round(round_no, again, rng.uniform(0.010, 0.090))
            assert death == "died 9", f"round {round_no}: the writer {death}:\n{(tmp_path / 'worker-errors.txt').read_text()}"
            if again is not None and "\n" in out:
                assert out.startswith(f"again {acked.awards[again]} "), out.split("\n")[0]
            if acked.read(out) == 0:
                silent_rounds += 1
            again = acked.last
            # every round: every acknowledged write is there once and the tables agree with the log; every
            # tenth round and the last, the full audit too (signatures and checkpoints of the whole log: the
            # entries stay, so the last one covers every entry ever written)
            assert_store_holds(data, acked, store, event, audit=round_no % AUDIT_EVERY == AUDIT_EVERY - 1)
    finally:
        zygote.close()
    elapsed = time.perf_counter() - started
    entries = len(stored_entries(data, store, event))
    unacknowledged = entries - len(acked.awards) - len(acked.redeemed)

    batched = sum(1 for _, visitor in acked.awards if visitor.count("-") == 2)  # PREFIX-I-J: from award_many

    assert silent_rounds < CRASH_ROUNDS // 4, f"{silent_rounds} rounds were killed before any award"
    # the kills met every kind of write often (the counts depend on how far each writer got: wide margins)
    assert len(acked.redeemed) > CRASH_ROUNDS // 4 and len(acked.checkpoints) > CRASH_ROUNDS // 4
    assert batched > CRASH_ROUNDS
    print(f"\ncrash test on {store or 'sqlite'}: {CRASH_ROUNDS} kills in {elapsed:.1f} s ({elapsed / CRASH_ROUNDS * 1000:.0f} ms a round),"
          f" {len(acked.awards)} awards ({batched} of them in batches), {len(acked.redeemed)} redemptions and"
          f" {len(acked.checkpoints)}"
          f" checkpoints acknowledged; {entries} entries, of which {unacknowledged} were committed but killed"
          f" before their acknowledgement; {silent_rounds} silent rounds")


# ---- tampering -------------------------------------------------------------------------------

def _build_small_ledger(data: Path) -> None:
    """Twelve entries (awards and redemptions) with checkpoints at sizes 4, 8 and 12, on a fixed clock."""
    ledger = Ledger(data, make_scene())
    minute = dt.timedelta(minutes=1)
    steps = [
        ("award", "selfie-with-teddy", "alice"), ("award", "selfie-with-ember", "alice"),
        ("award", "attend-five-minutes", "alice"), ("redeem", 0, "alice"), ("checkpoint",),
        ("award", "selfie-with-teddy", "bob"), ("award", "attend-five-minutes", "bob"), ("redeem", 4, "bob"),
        ("award", "selfie-with-teddy", "carol"), ("checkpoint",),
        ("award", "selfie-with-ember", "bob"), ("award", "selfie-with-teddy", "dave"), ("redeem", 9, "dave"),
        ("award", "attend-five-minutes", "carol"), ("checkpoint",),
    ]
    try:
        for i, step in enumerate(steps):
            now = T0 + i * minute
            if step[0] == "award":
                ledger.award(step[1], step[2], now=now)
            elif step[0] == "redeem":
                ledger.redeem(step[1], step[2], now=now)
            else:
                ledger.checkpoint(now=now)
        assert ledger.size() == 12 and [c["size"] for c in ledger.checkpoints()] == [4, 8, 12]
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A small, clean ledger directory; tests tamper with copies of it."""
    data = tmp_path_factory.mktemp("pristine")
    _build_small_ledger(data)
    return data


@pytest.fixture
def ledger_copy(pristine, tmp_path) -> Path:
    """A fresh copy of the pristine ledger directory."""
    return Path(shutil.copytree(pristine, tmp_path / "data"))


def _checkpoint_at(data: Path, size: int) -> dict:
    db = sqlite3.connect(f"file:{data / DB_FILE}?mode=ro", uri=True)
    try:
        return json.loads(db.execute("SELECT doc FROM checkpoints WHERE size = ?", (size,)).fetchone()[0])
    finally:
        db.close()


def test_untouched_ledger_passes_audit_and_old_checkpoints_prove_consistent(pristine):
    result = showroom("ledger", "audit", "--data-dir", str(pristine))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "audit passed: 12 entries, 3 checkpoints, every signature and proof holds"
    leaves = [leaf_hash(e) for e in stored_entries(pristine)]
    public = public_key_hex(load_private_key(pristine / KEY_FILE))
    for old in (4, 8):
        proof = [h.hex() for h in consistency_proof(leaves, old, 12)]
        verify_checkpoint_consistency(_checkpoint_at(pristine, old), _checkpoint_at(pristine, 12), proof, public)


def test_changing_any_single_byte_of_a_stored_entry_is_caught_by_audit(ledger_copy):
    """Every byte of an award entry and of a redemption entry, each changed in turn."""
    original = stored_entries(ledger_copy)
    db = sqlite3.connect(ledger_copy / DB_FILE, isolation_level=None)
    try:
        for seq in (5, 6):  # an award (bob's metapass) and a redemption (bob's scarf)
            entry = original[seq]
            for pos in range(len(entry)):
                changed = entry[:pos] + bytes([entry[pos] ^ 0x01]) + entry[pos + 1:]
                db.execute("UPDATE entries SET entry = ? WHERE seq = ?", (changed, seq))
                problems, _, _ = audit_dir(ledger_copy)
                assert any(p.startswith(f"entry {seq}: ") for p in problems), (seq, pos, problems)
                assert any("checkpoint 1 (size 8" in p for p in problems), (seq, pos, problems)
            db.execute("UPDATE entries SET entry = ? WHERE seq = ?", (entry, seq))
    finally:
        db.close()
    assert audit_dir(ledger_copy)[0] == []


@pytest.mark.parametrize(("seq", "where"), [(0, "first byte"), (5, "inside the record"), (11, "last byte"),
                                            (3, "inside the signature")])
def test_changed_byte_is_caught_by_ledger_audit_and_by_a_consistency_proof(ledger_copy, seq, where):
    entry = stored_entries(ledger_copy)[seq]
    pos = {"first byte": 0, "last byte": len(entry) - 1, "inside the record": entry.index(b'"visitor"') + 12,
           "inside the signature": entry.index(b'"sig":"') + 20}[where]
    changed = entry[:pos] + (b"Q" if entry[pos:pos + 1] != b"Q" else b"R") + entry[pos + 1:]
    old = _checkpoint_at(ledger_copy, 8)
    tamper(ledger_copy, "UPDATE entries SET entry = ? WHERE seq = ?", changed, seq)
    covering = "checkpoint 1 (size 8" if seq < 8 else "checkpoint 2 (size 12"
    assert_audit_fails(ledger_copy, f"entry {seq}: ", covering, "signed root")
    if seq < 8:
        assert_not_a_prefix(old, ledger_copy)


def test_changed_leaf_hash_column_is_caught_by_audit(ledger_copy):
    tamper(ledger_copy, "UPDATE entries SET leaf = ? WHERE seq = 2", bytes(32))
    assert_audit_fails(ledger_copy, "the stored leaf hashes do not match the stored entries")


@pytest.mark.parametrize("seq", [6, 11])
def test_deleted_record_is_caught_by_ledger_audit_and_by_a_consistency_proof(ledger_copy, seq):
    old = _checkpoint_at(ledger_copy, 8)
    tamper(ledger_copy, "DELETE FROM entries WHERE seq = ?", seq)
    if seq == 6:
        assert_audit_fails(ledger_copy, "entry 6: holds seq 7", "an entry was deleted, inserted or moved",
                           "checkpoint 1 (size 8")
        assert_not_a_prefix(old, ledger_copy)
    else:
        assert_audit_fails(ledger_copy, "signs 12 entries but the log holds only 11 (entries were deleted)")


def test_reordered_records_are_caught_by_ledger_audit_and_by_a_consistency_proof(ledger_copy):
    old = _checkpoint_at(ledger_copy, 4)
    entries = stored_entries(ledger_copy)
    db = sqlite3.connect(ledger_copy / DB_FILE)
    try:
        with db:
            for seq, other in ((1, 2), (2, 1)):
                db.execute("UPDATE entries SET entry = ?, leaf = ? WHERE seq = ?",
                           (entries[other], leaf_hash(entries[other]), seq))
    finally:
        db.close()
    assert_audit_fails(ledger_copy, "entry 1: holds seq 2", "entry 2: holds seq 1", "checkpoint 0 (size 4")
    assert_not_a_prefix(old, ledger_copy)


def test_rewritten_history_signed_with_the_same_key_is_caught_by_an_old_checkpoint(ledger_copy, tmp_path):
    """The host re-signs a different log (bob never got his scarf) but an old checkpoint survives."""
    old = _checkpoint_at(ledger_copy, 8)
    for name in os.listdir(ledger_copy):
        if name.startswith(DB_FILE):
            (ledger_copy / name).unlink()
    forged = Ledger(ledger_copy, make_scene())  # same key file, an empty log
    try:
        for i, (rule, visitor) in enumerate([("selfie-with-teddy", "alice"), ("selfie-with-ember", "alice"),
                                             ("attend-five-minutes", "alice"), ("selfie-with-teddy", "mallory"),
                                             ("attend-five-minutes", "bob"), ("selfie-with-teddy", "carol"),
                                             ("selfie-with-ember", "bob"), ("selfie-with-teddy", "dave"),
                                             ("attend-five-minutes", "carol"), ("selfie-with-teddy", "erin")]):
            forged.award(rule, visitor, now=T0 + dt.timedelta(minutes=i))
        forged.checkpoint(now=T0 + dt.timedelta(hours=1))
    finally:
        forged.close()
    assert audit_dir(ledger_copy)[0] == []  # on its own, the rewritten log is a valid log

    tamper(ledger_copy, "INSERT INTO checkpoints VALUES (?, ?)", old["size"], json.dumps(old))
    assert_audit_fails(ledger_copy, "checkpoint 0 (size 8", "signed root", "not consistent, the history was rewritten")
    assert_not_a_prefix(old, ledger_copy)


def test_audit_of_a_live_ledger_reads_entries_and_checkpoints_from_one_snapshot(ledger_copy, monkeypatch):
    """A server appending and signing a checkpoint mid-audit must not look like deleted entries."""
    from server.storage import ledger_files

    open_db = ledger_files._db

    class ServerWritesMidAudit:
        def __init__(self, db: ledger_files.LedgerDb) -> None:
            self.db = db

        def execute(self, sql: str, *args: object):
            if "FROM checkpoints" in sql:  # between the two reads, the live server writes
                live = Ledger(ledger_copy, make_scene())
                live.award("selfie-with-teddy", "late-visitor", now=T0 + dt.timedelta(hours=1))
                live.checkpoint(now=T0 + dt.timedelta(hours=1))
                live.close()
            return self.db.execute(sql, *args)

        def begin_read(self) -> None:
            self.db.begin_read()

        def close(self) -> None:
            self.db.close()

    monkeypatch.setattr(ledger_files, "_db", lambda *where: ServerWritesMidAudit(open_db(*where)))
    assert audit_dir(ledger_copy) == ([], 12, 3)
    monkeypatch.undo()
    assert audit_dir(ledger_copy) == ([], 13, 4)


# ---- exports -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(pristine, tmp_path_factory) -> tuple[dict, str]:
    """Entry 5 exported with ``showroom ledger export``, and the key from ``showroom ledger pubkey``."""
    out = tmp_path_factory.mktemp("export") / "entry-5.json"
    result = showroom("ledger", "export", "5", "--data-dir", str(pristine), "--out", str(out))
    assert result.returncode == 0, result.stderr
    pubkey = showroom("ledger", "pubkey", "--data-dir", str(pristine))
    assert pubkey.returncode == 0, pubkey.stderr
    return json.loads(out.read_text(encoding="utf-8")), pubkey.stdout.strip()


def test_genuine_export_passes_ledger_verify(exported, tmp_path):
    doc, key = exported
    path = tmp_path / "voucher.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = showroom("ledger", "verify", str(path), "--key", key)
    assert result.returncode == 0, result.stderr
    assert f"{path}: valid: entry 5 (award of metapass-gold to bob)" in result.stdout
    assert "of size 12" in result.stdout


def _flip_char(text: str, index: int, alphabet: str) -> str:
    return text[:index] + (alphabet[0] if text[index] != alphabet[0] else alphabet[1]) + text[index + 1:]


def _forged_export() -> tuple[dict, str]:
    """A self-consistent export made with someone else's key."""
    key = generate_private_key()
    record = award_record(event=EVENT, seq=0, rule="selfie-with-teddy", entitlement=SCARF, entitlement_kind="voucher",
                          visitor="mallory", at=T0, valid_from=T0, valid_until=T0 + dt.timedelta(hours=72), unit=0)
    entry = encode_entry(record, key)
    checkpoint = sign_checkpoint(key, event=EVENT, size=1, root=leaf_hash(entry), time=T0)
    return export_document(entry, 0, [], checkpoint), public_key_hex(key)


def _altered(doc: dict, how: str) -> dict:
    doc = json.loads(json.dumps(doc))
    if how == "entry text changed":
        doc["entry"] = doc["entry"].replace('"visitor":"bob"', '"visitor":"eve"')
    elif how == "proof hash changed":
        doc["inclusion_proof"][1] = _flip_char(doc["inclusion_proof"][1], 7, "0123456789abcdef")
    elif how == "leaf index changed":
        doc["leaf_index"] = 6
    elif how == "checkpoint root changed":
        doc["checkpoint"]["root"] = _flip_char(doc["checkpoint"]["root"], 0, "0123456789abcdef")
    elif how == "checkpoint size changed":
        doc["checkpoint"]["size"] = 13
    elif how == "checkpoint signature changed":
        doc["checkpoint"]["sig"] = _flip_char(doc["checkpoint"]["sig"], 30, "AB")
    elif how == "entry signature changed":
        sig = json.loads(doc["entry"])["sig"]
        doc["entry"] = doc["entry"].replace(sig, _flip_char(sig, 30, "AB"))
    elif how == "forged with another key":
        doc = _forged_export()[0]
    return doc


@pytest.mark.parametrize(("how", "says"), [
    ("entry text changed", "entry seq 5: the signature does not match"),
    ("entry signature changed", "entry seq 5: the signature does not match"),
    ("proof hash changed", "the entry is not in the log that checkpoint signs, or the proof was altered"),
    ("leaf index changed", "leaf_index 6 but the record's seq is 5"),
    ("checkpoint root changed", "checkpoint of size 12: the signature does not match"),
    ("checkpoint size changed", "checkpoint of size 13: the signature does not match"),
    ("checkpoint signature changed", "checkpoint of size 12: the signature does not match"),
    ("forged with another key", "the signature does not match (forged, altered, or signed by another key)"),
    ("verified with the wrong key", "the signature does not match (forged, altered, or signed by another key)"),
])
def test_altered_or_forged_export_is_rejected_by_ledger_verify_in_one_line(exported, tmp_path, how, says):
    doc, key = exported
    if how == "verified with the wrong key":
        key = public_key_hex(generate_private_key())
    path = tmp_path / "voucher.json"
    path.write_text(json.dumps(_altered(doc, how)), encoding="utf-8")
    line = one_line_refusal(showroom("ledger", "verify", str(path), "--key", key))
    assert says in line, line


def test_forged_export_is_valid_only_under_the_forgers_key(tmp_path):
    """Control for the forgery case: the forged document is well made, only the key gives it away."""
    doc, forger_key = _forged_export()
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert showroom("ledger", "verify", str(path), "--key", forger_key).returncode == 0


# ---- awards and redemptions: the rules -----------------------------------------------------------

@pytest.fixture
def ledger(tmp_path):
    """A ledger on the anniversary scene as shipped, in a fresh data directory."""
    opened = Ledger(tmp_path, make_scene())
    yield opened
    opened.close()


def test_award_is_idempotent_per_rule_and_visitor(tmp_path):
    first = Ledger(tmp_path, make_scene())
    a = first.award("selfie-with-teddy", "alice", now=T0)
    again = first.award("selfie-with-teddy", "alice", now=T0 + dt.timedelta(hours=1))
    assert a.new and not again.new
    assert (again.seq, again.unit, again.at) == (a.seq, a.unit, a.at)
    assert first.stock_left(SCARF) == 149 and first.size() == 1
    first.close()

    reopened = Ledger(tmp_path, make_scene())  # a restarted server, or another process
    try:
        repeat = reopened.award("selfie-with-teddy", "alice")
        assert repeat.seq == a.seq and not repeat.new
        assert reopened.stock_left(SCARF) == 149 and reopened.size() == 1
        other_rule = reopened.award("selfie-with-ember", "alice", now=T0)
        assert other_rule.new and other_rule.seq == 1 and reopened.stock_left(PERFUME) == 99
    finally:
        reopened.close()


def test_last_voucher_unit_goes_to_exactly_one_visitor(tmp_path):
    ledger = Ledger(tmp_path, make_scene(scarf_stock=1))
    try:
        assert ledger.award("selfie-with-teddy", "alice").unit == 0
        with pytest.raises(LedgerRefusal, match="sold out") as refused:
            ledger.award("selfie-with-teddy", "bob")
        assert refused.value.reason == "sold_out"
        assert ledger.stock_left(SCARF) == 0 and ledger.wallet("bob") == [] and ledger.size() == 1
    finally:
        ledger.close()


def test_a_batch_of_new_repeat_sold_out_and_capped_awards_commits_exactly_its_new_ones(tmp_path):
    """One transaction: each item as award() would decide it, in order; refusals write nothing of theirs."""
    ledger = Ledger(tmp_path, make_scene(scarf_stock=2, extra=EXTRA_SCARF_RULE))
    earlier = ledger.award("attend-five-minutes", "alice", now=T0)
    batch = [("selfie-with-teddy", "alice"),      # new: scarf unit 0
             ("attend-five-minutes", "alice"),    # a repeat of an earlier batch
             ("selfie-with-teddy", "alice"),      # a repeat of this batch's first item
             ("cheer-for-a-scarf", "alice"),      # another scarf rule: over alice's cap of 1
             ("selfie-with-teddy", "bob"),        # new: scarf unit 1, the last
             ("selfie-with-teddy", "carol"),      # sold out
             ("no-such-rule", "carol"),           # unknown
             ("selfie-with-ember", "carol")]      # new: a perfume
    outcomes = ledger.award_many(batch, now=T0 + dt.timedelta(minutes=1))
    try:
        kinds = [o.reason if isinstance(o, LedgerRefusal) else ("new" if o.new else "repeat") for o in outcomes]
        assert kinds == ["new", "repeat", "repeat", "capped", "new", "sold_out", "unknown", "new"]
        assert outcomes[1].seq == earlier.seq and outcomes[2].seq == outcomes[0].seq
        assert [o.seq for o in outcomes if not isinstance(o, LedgerRefusal) and o.new] == [1, 2, 3]
        assert (outcomes[0].unit, outcomes[4].unit) == (0, 1)
    finally:
        ledger.close()
    db = sqlite3.connect(f"file:{tmp_path / DB_FILE}?mode=ro", uri=True)  # what another reader sees
    try:
        rows = sorted(db.execute("SELECT seq, rule, visitor, unit FROM awards"))
        taken = dict(db.execute("SELECT entitlement, taken FROM stock"))
    finally:
        db.close()
    assert rows == [(0, "attend-five-minutes", "alice", None), (1, "selfie-with-teddy", "alice", 0),
                    (2, "selfie-with-teddy", "bob", 1), (3, "selfie-with-ember", "carol", 0)]
    assert (taken[SCARF], taken[PERFUME]) == (2, 1)
    assert len(stored_entries(tmp_path)) == 4
    assert showroom("ledger", "audit", "--data-dir", str(tmp_path)).returncode == 0


def test_a_batch_that_fails_midway_writes_nothing_of_it(tmp_path, monkeypatch):
    ledger = Ledger(tmp_path, make_scene())
    try:
        import server.storage.ledger as store

        real = store.encode_entry

        def failing(record, key):
            if record.visitor == "bob":
                raise OSError("the signing key's file went away")
            return real(record, key)
        monkeypatch.setattr(store, "encode_entry", failing)
        with pytest.raises(OSError):
            ledger.award_many([("selfie-with-teddy", "alice"), ("selfie-with-teddy", "bob")])
        assert ledger.size() == 0 and ledger.stock_left(SCARF) == 150 and ledger.wallet("alice") == []
    finally:
        ledger.close()


def test_redemption_before_the_vouchers_window_opens_is_refused(ledger):
    early = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    award = ledger.award("selfie-with-ember", "alice", now=early)  # perfume: 2026-11-01 .. 2027-01-31
    assert award.valid_from == "2026-11-01T00:00:00.000Z"
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(award.seq, "alice", now=early + dt.timedelta(days=2))
    assert refused.value.reason == "not_yet_valid"
    assert str(refused.value) == "this voucher is valid from 2026-11-01T00:00:00.000Z"
    assert ledger.redeem(award.seq, "alice", now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)).redeemed_at


def test_redemption_after_the_vouchers_window_closes_is_refused(ledger):
    perfume = ledger.award("selfie-with-ember", "alice", now=T0)
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(perfume.seq, "alice", now=dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
    assert (refused.value.reason, str(refused.value)) == ("expired", "this voucher expired at 2027-01-31T23:59:59.000Z")

    scarf = ledger.award("selfie-with-teddy", "alice", now=T0)  # valid for 72 h from the award
    assert scarf.valid_until == format_time(T0 + dt.timedelta(hours=72))
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(scarf.seq, "alice", now=T0 + dt.timedelta(hours=72, seconds=1))
    assert (refused.value.reason, str(refused.value)) == ("expired", f"this voucher expired at {scarf.valid_until}")
    assert ledger.redeem(scarf.seq, "alice", now=T0 + dt.timedelta(hours=71)).redeemed_at is not None
    assert ledger.size() == 3  # two awards and one redemption: refusals write nothing


@pytest.mark.parametrize("window", ["valid_from and valid_until", "valid_until only"])
def test_award_of_a_voucher_whose_window_has_closed_is_refused_and_takes_no_stock(tmp_path, window):
    text = scene_text()
    if window == "valid_until only":
        text = text.replace("valid_from = 2026-11-01T00:00:00Z\n", "")
    ledger = Ledger(tmp_path, parse_scene(text))
    try:
        with pytest.raises(LedgerRefusal) as refused:
            ledger.award("selfie-with-ember", "alice", now=dt.datetime(2027, 2, 1, tzinfo=dt.UTC))
        assert refused.value.reason == "expired"
        assert str(refused.value) == "Aurora Atelier 'Five' voucher expired at 2027-01-31T23:59:59.000Z"
        assert ledger.stock_left(PERFUME) == 100 and ledger.size() == 0
        assert ledger.award("selfie-with-ember", "alice", now=T0).new  # still open on the last day
    finally:
        ledger.close()


def test_second_redemption_is_refused_with_the_time_of_the_first(ledger):
    award = ledger.award("selfie-with-teddy", "alice", now=T0)
    first = ledger.redeem(award.seq, "alice", now=T0 + dt.timedelta(hours=2))
    assert first.redeemed_at == "2026-11-20T20:00:00.000Z"
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(award.seq, "alice", now=T0 + dt.timedelta(hours=3))
    assert refused.value.reason == "spent"
    assert str(refused.value) == "this voucher was already redeemed at 2026-11-20T20:00:00.000Z"
    assert ledger.size() == 2
    assert ledger.wallet("alice")[0].redeemed_at == "2026-11-20T20:00:00.000Z"


def test_award_over_the_per_visitor_cap_is_refused(tmp_path):
    ledger = Ledger(tmp_path, make_scene(scarf_cap=1, extra=EXTRA_SCARF_RULE))
    try:
        ledger.award("selfie-with-teddy", "alice", now=T0)
        with pytest.raises(LedgerRefusal) as refused:
            ledger.award("cheer-for-a-scarf", "alice", now=T0)
        assert refused.value.reason == "capped"
        assert str(refused.value) == "alice already holds 1 of Maison Lumen anniversary scarf voucher (cap 1)"
        assert ledger.stock_left(SCARF) == 149 and ledger.size() == 1
        assert ledger.award("cheer-for-a-scarf", "bob", now=T0).new  # the cap is per visitor
    finally:
        ledger.close()


def test_redemption_over_the_per_visitor_cap_is_refused(tmp_path):
    """Two scarves held under a cap of 2; the host then lowers the cap to 1: only one may be spent."""
    generous = Ledger(tmp_path, make_scene(scarf_cap=2, extra=EXTRA_SCARF_RULE))
    one = generous.award("selfie-with-teddy", "alice", now=T0)
    two = generous.award("cheer-for-a-scarf", "alice", now=T0)
    generous.close()
    strict = Ledger(tmp_path, make_scene(scarf_cap=1, extra=EXTRA_SCARF_RULE))
    try:
        strict.redeem(one.seq, "alice", now=T0 + dt.timedelta(hours=1))
        with pytest.raises(LedgerRefusal) as refused:
            strict.redeem(two.seq, "alice", now=T0 + dt.timedelta(hours=1))
        assert refused.value.reason == "capped"
        assert str(refused.value) == "alice already redeemed 1 of Maison Lumen anniversary scarf voucher (cap 1)"
        assert strict.size() == 3
    finally:
        strict.close()


def test_only_the_holder_can_redeem_and_only_vouchers_are_redeemable(ledger):
    scarf = ledger.award("selfie-with-teddy", "alice", now=T0)
    metapass = ledger.award("attend-five-minutes", "alice", now=T0)
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(scarf.seq, "bob", now=T0)
    assert (refused.value.reason, str(refused.value)) == ("unknown", f"no award {scarf.seq} for bob")
    with pytest.raises(LedgerRefusal) as refused:
        ledger.redeem(metapass.seq, "alice", now=T0)
    assert (refused.value.reason, str(refused.value)) == ("not_redeemable",
                                                          "Meta-Pass Gold is a metapass, not a voucher")
    with pytest.raises(LedgerRefusal) as refused:
        ledger.award("selfie-with-nobody", "alice")
    assert refused.value.reason == "unknown"
    assert ledger.size() == 2


def test_export_of_a_stored_award_verifies_offline(ledger):
    award = ledger.award("selfie-with-teddy", "alice", now=T0)
    doc = ledger.export(award.seq)
    from showroom.ledger import verify_export

    verified = verify_export(json.dumps(doc), ledger.public_key)
    assert (verified.record.visitor, verified.record.unit, verified.leaf_index) == ("alice", 0, award.seq)
    assert base64.b64decode(doc["checkpoint"]["sig"])  # a signed checkpoint travels with it


def test_the_first_joiners_badge_stops_at_its_count_even_from_several_ledger_connections(tmp_path):
    """Workers of one event each count their own joiners; the ledger counts the badge's holders under its write
    lock, so two connections (two workers) together grant it to the first 100 only."""
    from showroom.scene import load_event

    scene = load_event(ROOT / "scenes" / "anniversary-runway.toml")
    first, second = Ledger(tmp_path, scene), Ledger(tmp_path, scene)
    try:
        granted = refused = 0
        for i in range(150):
            ledger = first if i % 2 else second
            try:
                ledger.award("first-hundred", f"visitor-{i:04d}-wallet")
                granted += 1
            except LedgerRefusal as exc:
                assert exc.reason == "sold_out" and "first 100 visitors" in str(exc), exc
                refused += 1
        assert (granted, refused) == (100, 50)
        assert first.award("first-hundred", "visitor-0001-wallet").new is False  # a holder asking again keeps it
    finally:
        first.close()
        second.close()
