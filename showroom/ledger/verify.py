"""Offline verification: one exported entry against the event's public key, and a whole-log audit.

Nothing here needs the server: a visitor checks an export with :func:`verify_export`, and an
auditor recomputes a stored log with :func:`audit`. docs/ledger.md describes the same steps for
an implementation in another language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from showroom.ledger.errors import LedgerError
from showroom.ledger.keys import parse_public_key
from showroom.ledger.merkle import (
    CompactRange,
    SubtreeCache,
    consistency_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from showroom.ledger.records import AwardRecord, Checkpoint, RedeemRecord, parse_time, verify_checkpoint, verify_entry

_EXPORT_KEYS = {"entry", "leaf_index", "inclusion_proof", "checkpoint"}


@dataclass(frozen=True)
class VerifiedExport:
    """What a valid export proves: this record is entry ``leaf_index`` of the log the checkpoint signs."""

    record: AwardRecord | RedeemRecord
    leaf_index: int
    checkpoint: Checkpoint


def export_document(entry: bytes, leaf_index: int, inclusion_proof: Sequence[bytes],
                    checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready export of one entry: the entry text, its index, its inclusion proof and a signed checkpoint."""
    return {
        "entry": entry.decode("utf-8"),
        "leaf_index": leaf_index,
        "inclusion_proof": [h.hex() for h in inclusion_proof],
        "checkpoint": dict(checkpoint),
    }


def _hashes(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise LedgerError(f"{what}: expected a list of hex hashes, got {type(value).__name__}")
    out = []
    for i, h in enumerate(value):
        if not isinstance(h, str) or len(h) != 64:
            raise LedgerError(f"{what}[{i}]: expected 64 hex digits, got {h!r:.80}")
        try:
            out.append(bytes.fromhex(h))
        except ValueError:
            raise LedgerError(f"{what}[{i}]: not hex: {h!r:.80}") from None
    return out


def _load_document(document: Mapping[str, Any] | str | bytes) -> Mapping[str, Any]:
    if isinstance(document, (str, bytes, bytearray)):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise LedgerError(f"export: not JSON ({exc})") from None
    if not isinstance(document, Mapping):
        raise LedgerError(f"export: expected a JSON object, got {type(document).__name__}")
    if set(document) != _EXPORT_KEYS:
        raise LedgerError(f"export: expected exactly the keys {sorted(_EXPORT_KEYS)}, got {sorted(document)}")
    return document


def verify_export(document: Mapping[str, Any] | str | bytes,
                  public_key: str | Ed25519PublicKey) -> VerifiedExport:
    """Verify an exported entry offline against the event's public key (hex); raise LedgerError saying what failed.

    Checks, in order: the document's shape, the checkpoint's signature, the entry's signature
    and canonical form, that entry and checkpoint belong to the same event, that the leaf index
    is the record's seq and inside the checkpoint, and the inclusion proof against its root.
    """
    doc = _load_document(document)
    public = parse_public_key(public_key)
    checkpoint = verify_checkpoint(doc["checkpoint"], public)
    if not isinstance(doc["entry"], str):
        raise LedgerError("export.entry: expected the entry's JSON text as a string")
    entry = doc["entry"].encode("utf-8")
    record = verify_entry(entry, public).record
    index = doc["leaf_index"]
    if not isinstance(index, int) or isinstance(index, bool):
        raise LedgerError(f"export.leaf_index: expected an integer, got {index!r:.40}")
    proof = _hashes(doc["inclusion_proof"], "export.inclusion_proof")
    if record.event != checkpoint.event:
        raise LedgerError(f"export: the entry is from event {record.event!r}"
                          f" but the checkpoint is for event {checkpoint.event!r}")
    if index != record.seq:
        raise LedgerError(f"export: leaf_index {index} but the record's seq is {record.seq};"
                          f" entry n of the log is always leaf n")
    if index >= checkpoint.size:
        raise LedgerError(f"export: leaf {index} is not covered by the checkpoint of size {checkpoint.size};"
                          f" export it again against a later checkpoint")
    try:
        verify_inclusion(index, checkpoint.size, leaf_hash(entry), proof, checkpoint.root_bytes)
    except LedgerError as exc:
        raise LedgerError(f"export: {exc} (the entry is not in the log that checkpoint signs,"
                          f" or the proof was altered)") from None
    return VerifiedExport(record, index, checkpoint)


def verify_checkpoint_consistency(old: Mapping[str, Any], new: Mapping[str, Any], proof: Sequence[str],
                                  public_key: str | Ed25519PublicKey) -> None:
    """Check that a later signed checkpoint extends an older one (the log was only appended to); raise if not."""
    public = parse_public_key(public_key)
    a, b = verify_checkpoint(old, public), verify_checkpoint(new, public)
    if a.event != b.event:
        raise LedgerError(f"checkpoints are for different events: {a.event!r} and {b.event!r}")
    try:
        verify_consistency(a.size, b.size, a.root_bytes, b.root_bytes, _hashes(list(proof), "consistency proof"))
    except LedgerError as exc:
        raise LedgerError(f"checkpoint of size {a.size} ({a.time}) is not a prefix of checkpoint of size"
                          f" {b.size} ({b.time}): {exc}") from None


class _Semantics:
    """What the log's records must mean together: no duplicate award, unit or redemption."""

    def __init__(self) -> None:
        self.awards: dict[int, AwardRecord] = {}
        self.redeemed: dict[int, int] = {}
        self.by_rule: dict[tuple[str, str], int] = {}
        self.by_unit: dict[tuple[str, int], int] = {}

    def check(self, record: AwardRecord | RedeemRecord) -> list[str]:
        if isinstance(record, AwardRecord):
            return self._award(record)
        return self._redeem(record)

    def _award(self, r: AwardRecord) -> list[str]:
        problems = []
        key = (r.rule, r.visitor)
        if key in self.by_rule:
            problems.append(f"awards rule {r.rule!r} to {r.visitor!r} again (first at seq {self.by_rule[key]});"
                            f" awards are once per rule and visitor")
        else:
            self.by_rule[key] = r.seq
        if r.unit is not None:
            ukey = (r.entitlement, r.unit)
            if ukey in self.by_unit:
                problems.append(f"unit {r.unit} of {r.entitlement!r} was already awarded at seq {self.by_unit[ukey]}")
            else:
                self.by_unit[ukey] = r.seq
        self.awards[r.seq] = r
        return problems

    def _redeem(self, r: RedeemRecord) -> list[str]:
        award = self.awards.get(r.award_seq)
        if award is None:
            return [f"redeems seq {r.award_seq}, which is not an earlier award in this log"]
        if (award.visitor, award.entitlement) != (r.visitor, r.entitlement):
            return [(f"redeems seq {r.award_seq} ({award.entitlement!r} of {award.visitor!r})"
                     f" as {r.entitlement!r} of {r.visitor!r}")]
        if r.award_seq in self.redeemed:
            return [f"redeems seq {r.award_seq} a second time (first redeemed at seq {self.redeemed[r.award_seq]})"]
        self.redeemed[r.award_seq] = r.seq
        at = parse_time(r.at)
        if at < parse_time(award.valid_from) or (award.valid_until and at > parse_time(award.valid_until)):
            return [f"redeemed at {r.at}, outside the award's window {award.valid_from} .. {award.valid_until}"]
        return []


def audit(entries: Sequence[bytes], checkpoints: Sequence[Mapping[str, Any]],
          public_key: str | Ed25519PublicKey) -> list[str]:
    """Recompute a whole log from its stored entries and check it against every checkpoint; list the problems.

    An empty list means the log is clean: every entry is a canonical, correctly signed record;
    seq numbers run 0..n-1 in log order; all entries and checkpoints are of one event; no award,
    unit of stock or redemption is duplicated; every checkpoint's signature holds and its root is
    the recomputed root at its size; and each checkpoint is consistent with the next (RFC 9162
    §2.1.4 proof built from the entries and verified). ``checkpoints`` are in the order they were
    signed. Raises LedgerError only for an unusable public key.
    """
    public = parse_public_key(public_key)
    problems: list[str] = []
    leaves: list[bytes] = []
    events: set[str] = set()
    semantics = _Semantics()
    for i, entry in enumerate(entries):
        leaves.append(leaf_hash(bytes(entry)))
        try:
            record = verify_entry(bytes(entry), public).record
        except LedgerError as exc:
            problems.append(f"entry {i}: {exc}")
            continue
        if record.seq != i:
            problems.append(f"entry {i}: holds seq {record.seq}; seq must run 0, 1, 2, ... in log order"
                            f" (an entry was deleted, inserted or moved)")
        if events and record.event not in events:
            problems.append(f"entry {i}: is from event {record.event!r}, the log is for {min(events)!r}")
        events.add(record.event)
        problems.extend(f"entry {i}: {p}" for p in semantics.check(record))
    problems.extend(_audit_checkpoints(leaves, checkpoints, public, events))
    return problems


def _roots_at(leaves: Sequence[bytes], sizes: set[int]) -> dict[int, bytes]:
    rng = CompactRange()
    roots = {0: rng.root()} if 0 in sizes else {}
    for leaf in leaves:
        rng.append(leaf)
        if rng.size in sizes:
            roots[rng.size] = rng.root()
    return roots


def _audit_checkpoints(leaves: Sequence[bytes], checkpoints: Sequence[Mapping[str, Any]],
                       public: Ed25519PublicKey, events: set[str]) -> list[str]:
    problems: list[str] = []
    n = len(leaves)
    valid: list[tuple[int, Checkpoint]] = []
    for j, signed in enumerate(checkpoints):
        try:
            valid.append((j, verify_checkpoint(signed, public)))
        except LedgerError as exc:
            problems.append(f"checkpoint {j}: {exc}")
    roots = _roots_at(leaves, {cp.size for _, cp in valid})
    for j, cp in valid:
        where = f"checkpoint {j} (size {cp.size}, {cp.time})"
        if events and cp.event not in events:
            problems.append(f"{where}: is for event {cp.event!r}, the log is for {min(events)!r}")
        if cp.size > n:
            problems.append(f"{where}: signs {cp.size} entries but the log holds only {n} (entries were deleted)")
        elif roots[cp.size] != cp.root_bytes:
            problems.append(f"{where}: signed root {cp.root} but the stored entries give {roots[cp.size].hex()}"
                            f" (an entry before index {cp.size} was changed, deleted, inserted or moved)")
    cache = SubtreeCache()  # proofs share the log's complete subtrees: O(log² n) each once warm
    for (j, a), (k, b) in pairwise(valid):
        pair = f"checkpoints {j} (size {a.size}) and {k} (size {b.size})"
        if b.size < a.size or parse_time(b.time) < parse_time(a.time):
            problems.append(f"{pair}: out of order; a later checkpoint must not be smaller or earlier")
            continue
        if b.size > n:
            continue
        try:
            verify_consistency(a.size, b.size, a.root_bytes, b.root_bytes, consistency_proof(leaves, a.size, b.size, cache=cache))
        except LedgerError as exc:
            problems.append(f"{pair}: not consistent, the history was rewritten: {exc}")
    return problems
