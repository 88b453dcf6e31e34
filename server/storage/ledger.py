"""The event's Meta-Pass ledger: atomic stock claims, idempotent awards, redemptions.

Every award and redemption is a signed record (see :mod:`showroom.ledger`) appended to an
append-only log, in the same transaction as the stock decrement and the award row, in SQLite
(``synchronous=FULL``) or PostgreSQL (:mod:`server.storage.ledger_db`): once :meth:`Ledger.award`
(or :meth:`Ledger.write_many` for a batch) returns, what it wrote survives a crash. A batch is one
transaction holding the ledger's write lock, so concurrent claimers of the last unit (threads,
processes sharing the data directory, or workers sharing the database) get exactly one success,
and a batch of thousands costs one sync. A single award is a batch of
one: there is one code path. The server writes through
:class:`server.storage.ledger_writer.LedgerWriter` on a thread of its own and reads (wallets,
stock) on the event loop's connection.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from showroom.errors import ShowroomError
from showroom.ledger import (
    award_record,
    decode_entry,
    encode_entry,
    export_document,
    inclusion_proof,
    leaf_hash,
    load_or_create_private_key,
    public_key_hex,
    redeem_record,
    root_of_leaf_hashes,
    sign_checkpoint,
)
from server.storage.ledger_db import DB_FILE, LedgerDb, open_ledger_db
from showroom.scene.model import Scene
from showroom.scene.rewards import Entitlement, FirstJoinersRule, Voucher

KEY_FILE = "ledger-key.pem"


class LedgerRefusal(ShowroomError):
    """A claim or redemption the rules refuse; ``reason`` is a short code, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Award:
    """An award as the store holds it."""

    seq: int
    rule: str
    visitor: str
    entitlement: str
    kind: str
    unit: int | None
    at: str
    valid_from: str
    valid_until: str | None
    redeemed_at: str | None
    redeemed_seq: int | None = None
    new: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain data for a wallet message."""
        return {"seq": self.seq, "rule": self.rule, "entitlement": self.entitlement, "kind": self.kind,
                "unit": self.unit, "at": self.at, "valid_from": self.valid_from, "valid_until": self.valid_until,
                "redeemed_at": self.redeemed_at, "redeemed_seq": self.redeemed_seq}


class Claim(NamedTuple):
    """An award asked for: rule ``rule``'s entitlement for wallet ``visitor``.

    A named tuple, not a dataclass: a finale drop makes thousands at once, and tuples of strings
    are cheap to build and soon left alone by the garbage collector.
    """

    rule: str
    visitor: str


class Spend(NamedTuple):
    """A redemption asked for: the voucher awarded at ``award_seq``, by its holder ``visitor``."""

    award_seq: int
    visitor: str


Request = Claim | Spend
"""What a batch of :meth:`Ledger.write_many` holds."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    from showroom.ledger import format_time

    return format_time(t)


class Ledger:
    """One event's log, stock and awards in ``data_dir/ledger.sqlite`` (or, given a ``database`` URL, in
    PostgreSQL), signed with ``data_dir/ledger-key.pem``."""

    def __init__(self, data_dir: Path, scene: Scene, *, more_entitlements: Sequence[Entitlement] = (),
                 more_grants: Mapping[str, str] | None = None, database: str | None = None) -> None:
        """The ledger of ``scene``'s event; ``more_entitlements`` and ``more_grants`` (rule id ->
        entitlement id) add what other award sources (communities) may grant through it. With
        ``database`` (``postgresql://…``) the log lives there, shared by every worker of the event;
        the signing key is still the data directory's (workers on other machines need a copy)."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = data_dir
        self.database = database
        self._more = (tuple(more_entitlements), dict(more_grants or {}))
        self.scene = scene
        self.event = scene.event.id
        self.key = load_or_create_private_key(data_dir / KEY_FILE)
        self.public_key = public_key_hex(self.key)
        self.db: LedgerDb = open_ledger_db(data_dir, database, self.event)
        self.entitlements: dict[str, Entitlement] = {e.id: e for e in [*scene.entitlements, *more_entitlements]}
        self.grants: dict[str, str] = {r.id: r.grant for r in scene.rewards}
        """Every rule this ledger can award, by id: the entitlement it grants."""
        self.limits: dict[str, int] = {r.id: r.count for r in scene.rewards if isinstance(r, FirstJoinersRule)}
        """Rules granted to the first so many visitors of the event: counted here, under the write lock, so that
        the event's workers together never grant more."""
        for rule, grant in (more_grants or {}).items():
            if rule in self.grants or grant not in self.entitlements:
                raise ShowroomError(f"rule {rule!r}: a duplicate, or {grant!r} is no entitlement of this ledger")
            self.grants[rule] = grant
        with self._transaction():
            found = self.db.execute("SELECT value FROM meta WHERE key = 'event'").fetchone()
            if found is None:
                self.db.execute("INSERT INTO meta VALUES ('event', ?)", (self.event,))
            elif found[0] != self.event:
                raise ShowroomError(f"{self.db.where} holds the ledger of event {found[0]!r}, not {self.event!r}")
            for ent in self.entitlements.values():
                if isinstance(ent, Voucher):
                    self.db.execute("INSERT INTO stock VALUES (?, ?, 0) ON CONFLICT DO NOTHING", (ent.id, ent.stock))

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def reopen(self) -> Ledger:
        """The same ledger on a connection of its own (one connection writes while another reads)."""
        return Ledger(self.data_dir, self.scene, more_entitlements=self._more[0], more_grants=self._more[1],
                      database=self.database)

    def _transaction(self) -> _Tx:
        return _Tx(self.db)

    # ---- awards and redemptions -------------------------------------------------------
    def award(self, rule_id: str, visitor: str, now: dt.datetime | None = None) -> Award:
        """Grant rule ``rule_id``'s entitlement to ``visitor`` once; a repeat returns the first award.

        A batch of one (:meth:`award_many`). Raises :class:`LedgerRefusal` with reason ``unknown``
        for a rule this ledger does not know, ``sold_out``, ``capped`` or ``expired`` for vouchers.
        """
        return _or_raise(self.award_many([(rule_id, visitor)], now)[0])

    def award_many(self, requests: Sequence[tuple[str, str]],
                   now: dt.datetime | None = None) -> list[Award | LedgerRefusal]:
        """Grant each (rule, visitor) of ``requests`` once, in one durable transaction; one outcome per request.

        The same rules as :meth:`award`, item by item in order: a repeat (of an earlier batch or of
        an earlier item of this one) is the existing award with ``new=False``; a refusal is that
        item's :class:`LedgerRefusal` and writes nothing of it, while the rest commit. One
        ``BEGIN IMMEDIATE`` … ``COMMIT`` with ``synchronous=FULL`` means one sync for the batch,
        which is what lets a writer thread keep up with a finale drop.
        """
        return self.write_many([Claim(rule, visitor) for rule, visitor in requests], now)

    def redeem(self, award_seq: int, visitor: str, now: dt.datetime | None = None) -> Award:
        """Spend a voucher once, inside its window and the per-visitor cap; refusals say why."""
        return _or_raise(self.write_many([Spend(award_seq, visitor)], now)[0])

    def write_many(self, requests: Sequence[Request], now: dt.datetime | None = None, *,
                   pace: Callable[[], object] = lambda: None) -> list[Award | LedgerRefusal]:
        """Carry out awards and redemptions in order, in one transaction; one outcome per request.

        Refusals are returned, not raised, and leave nothing of their item written. Log seqs are
        read once per batch and handed out in order. Any other error rolls the whole batch back
        and is raised: nothing of it was written, so all of it may be tried again. ``pace`` runs
        before each item (the writer thread waits there while the event's tick runs).
        """
        now = now or _now()
        outcomes: list[Award | LedgerRefusal] = []
        with self._transaction():
            seqs = _Seqs(self._next_seq())
            for r in requests:
                pace()
                outcomes.append(self._claim(r.rule, r.visitor, now, seqs) if isinstance(r, Claim)
                                else self._spend(r.award_seq, r.visitor, now, seqs))
        return outcomes

    def _claim(self, rule_id: str, visitor: str, now: dt.datetime, seqs: _Seqs) -> Award | LedgerRefusal:
        """One award inside the batch's transaction: checks first, so a refusal has written nothing."""
        grant = self.grants.get(rule_id)
        if grant is None:
            return LedgerRefusal("unknown", f"no reward rule {rule_id!r}")
        ent = self.entitlements[grant]
        existing = self._award_row("rule = ? AND visitor = ?", (rule_id, visitor))
        if existing is not None:
            return existing
        limit = self.limits.get(rule_id)
        if limit is not None:
            (given,) = self.db.execute("SELECT COUNT(*) FROM awards WHERE rule = ?", (rule_id,)).fetchone()
            if given >= limit:
                return LedgerRefusal("sold_out", f"{ent.name} went to the first {limit} visitors")
        unit = None
        valid_from, valid_until = now, None
        if isinstance(ent, Voucher):
            taken = self._voucher_unit(ent, visitor, now)
            if isinstance(taken, LedgerRefusal):
                return taken
            unit = taken
            self.db.execute("UPDATE stock SET taken = taken + 1 WHERE entitlement = ?", (ent.id,))
            if ent.valid_for is not None:
                valid_until = now + dt.timedelta(seconds=ent.valid_for)
            else:
                valid_from = ent.valid_from or now
                valid_until = ent.valid_until
        seq = seqs.take()
        record = award_record(event=self.event, seq=seq, rule=rule_id, entitlement=ent.id,
                              entitlement_kind=ent.kind, visitor=visitor, at=now, valid_from=valid_from,
                              valid_until=valid_until, unit=unit)
        self._append(seq, encode_entry(record, self.key))
        self.db.execute(
            "INSERT INTO awards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (rule_id, visitor, seq, ent.id, ent.kind, unit, record.at, record.valid_from, record.valid_until),
        )
        return Award(seq, rule_id, visitor, ent.id, ent.kind, unit, record.at, record.valid_from,
                     record.valid_until, None, None, new=True)

    def _voucher_unit(self, ent: Voucher, visitor: str, now: dt.datetime) -> int | LedgerRefusal:
        """The unit of ``ent`` that ``visitor`` would claim now, or why not (expired, capped, sold out)."""
        if ent.valid_until is not None and now > ent.valid_until:
            return LedgerRefusal("expired", f"{ent.name} expired at {_iso(ent.valid_until)}")
        held = self.db.execute("SELECT COUNT(*) FROM awards WHERE visitor = ? AND entitlement = ?",
                               (visitor, ent.id)).fetchone()[0]
        if held >= ent.per_visitor_cap:
            return LedgerRefusal("capped", f"{visitor} already holds {held} of {ent.name} (cap {ent.per_visitor_cap})")
        total, taken = self.db.execute("SELECT total, taken FROM stock WHERE entitlement = ?", (ent.id,)).fetchone()
        if taken >= total:
            return LedgerRefusal("sold_out", f"{ent.name} is sold out ({total} units)")
        return int(taken)

    def _spend(self, award_seq: int, visitor: str, now: dt.datetime, seqs: _Seqs) -> Award | LedgerRefusal:
        """One redemption inside the batch's transaction: checks first, so a refusal has written nothing."""
        award = self._award_row("seq = ?", (award_seq,))
        if award is None or award.visitor != visitor:
            return LedgerRefusal("unknown", f"no award {award_seq} for {visitor}")
        ent = self.entitlements[award.entitlement]
        if not isinstance(ent, Voucher):
            return LedgerRefusal("not_redeemable", f"{ent.name} is a {ent.kind}, not a voucher")
        if award.redeemed_at is not None:
            return LedgerRefusal("spent", f"this voucher was already redeemed at {award.redeemed_at}")
        stamp = _iso(now)
        if stamp < award.valid_from:
            return LedgerRefusal("not_yet_valid", f"this voucher is valid from {award.valid_from}")
        if award.valid_until is not None and stamp > award.valid_until:
            return LedgerRefusal("expired", f"this voucher expired at {award.valid_until}")
        spent = self.db.execute(
            "SELECT COUNT(*) FROM awards WHERE visitor = ? AND entitlement = ? AND redeemed_seq IS NOT NULL",
            (visitor, ent.id)).fetchone()[0]
        if spent >= ent.per_visitor_cap:
            return LedgerRefusal("capped",
                                 f"{visitor} already redeemed {spent} of {ent.name} (cap {ent.per_visitor_cap})")
        seq = seqs.take()
        record = redeem_record(event=self.event, seq=seq, award_seq=award_seq, entitlement=ent.id,
                               visitor=visitor, at=now)
        self._append(seq, encode_entry(record, self.key))
        self.db.execute("UPDATE awards SET redeemed_seq = ?, redeemed_at = ? WHERE seq = ?",
                        (seq, record.at, award_seq))
        return replace(award, redeemed_at=record.at, redeemed_seq=seq)

    def wallet(self, visitor: str) -> list[Award]:
        """Everything ``visitor`` holds, oldest first."""
        rows = self.db.execute(f"SELECT {_COLUMNS} FROM awards WHERE visitor = ? ORDER BY seq", (visitor,))
        return [_award(row) for row in rows]

    def awards_made(self) -> dict[str, int]:
        """Awards written so far, per entitlement id (for the hosts' live status)."""
        rows = self.db.execute("SELECT entitlement, COUNT(*) FROM awards GROUP BY entitlement ORDER BY entitlement")
        return {str(entitlement): int(count) for entitlement, count in rows}

    def stock_left(self, entitlement: str) -> int:
        """Units of a voucher not yet claimed."""
        total, taken = self.db.execute("SELECT total, taken FROM stock WHERE entitlement = ?",
                                       (entitlement,)).fetchone()
        return int(total - taken)

    # ---- the log -------------------------------------------------------------------------
    def size(self) -> int:
        """Entries in the log."""
        return int(self.db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def entries(self) -> list[bytes]:
        """Every entry, in log order."""
        return [bytes(row[0]) for row in self.db.execute("SELECT entry FROM entries ORDER BY seq")]

    def checkpoint(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Sign (and keep) a checkpoint of the log as it is now; reuse the last one if nothing changed."""
        with self._transaction():
            leaves = [bytes(r[0]) for r in self.db.execute("SELECT leaf FROM entries ORDER BY seq")]
            last = self.db.execute("SELECT doc FROM checkpoints WHERE size = ?", (len(leaves),)).fetchone()
            if last is not None:
                return json.loads(last[0])
            doc = sign_checkpoint(self.key, event=self.event, size=len(leaves),
                                  root=root_of_leaf_hashes(leaves), time=now or _now())
            self.db.execute("INSERT INTO checkpoints VALUES (?, ?)", (len(leaves), json.dumps(doc)))
        return doc

    def checkpoints(self) -> list[dict[str, Any]]:
        """Every checkpoint signed so far, oldest first."""
        return [json.loads(r[0]) for r in self.db.execute("SELECT doc FROM checkpoints ORDER BY size")]

    def export(self, seq: int) -> dict[str, Any]:
        """The export document of entry ``seq``: entry, inclusion proof and a fresh signed checkpoint."""
        checkpoint = self.checkpoint()
        leaves = [bytes(r[0]) for r in self.db.execute("SELECT leaf FROM entries WHERE seq < ? ORDER BY seq",
                                                       (checkpoint["size"],))]
        if not 0 <= seq < len(leaves):
            raise ShowroomError(f"no entry {seq} in the ledger (it has {len(leaves)})")
        entry = self.db.execute("SELECT entry FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
        return export_document(bytes(entry), seq, inclusion_proof(leaves, seq), checkpoint)

    def _next_seq(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM entries").fetchone()[0])

    def _append(self, seq: int, entry: bytes) -> None:
        self.db.execute("INSERT INTO entries VALUES (?, ?, ?)", (seq, entry, leaf_hash(entry)))

    def _award_row(self, where: str, args: tuple) -> Award | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM awards WHERE {where}", args).fetchone()
        return None if row is None else _award(row)


_COLUMNS = "seq, rule, visitor, entitlement, kind, unit, at, valid_from, valid_until, redeemed_at, redeemed_seq"


def _award(row: tuple) -> Award:
    return Award(*row)


def _or_raise(outcome: Award | LedgerRefusal) -> Award:
    if isinstance(outcome, LedgerRefusal):
        raise outcome
    return outcome


class _Seqs:
    """Log seqs handed out in order within one batch: read from the log once, then counted."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self) -> int:
        """The next free seq."""
        seq = self.next
        self.next += 1
        return seq


class _Tx:
    """A write transaction holding the ledger's lock … ``COMMIT`` (``ROLLBACK`` on any exception): one writer
    at a time, across processes."""

    def __init__(self, db: LedgerDb) -> None:
        self.db = db

    def __enter__(self) -> LedgerDb:
        self.db.begin_write()
        return self.db

    def __exit__(self, kind: type | None, *_: object) -> None:
        self.db.end(commit=kind is None)


def decode(entry: bytes) -> Any:
    """Decode a stored entry (for tools and tests)."""
    return decode_entry(entry)
