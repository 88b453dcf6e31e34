"""Read a server's ledger straight from its data directory, for the offline ``showroom ledger`` tools.

These open the SQLite file read-only and need no scene: the log is self-describing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from server.storage.ledger import DB_FILE, KEY_FILE
from showroom.errors import ShowroomError
from showroom.ledger import (
    audit,
    export_document,
    inclusion_proof,
    load_private_key,
    public_key_hex,
    root_of_leaf_hashes,
)


def _db(data_dir: str | Path) -> sqlite3.Connection:
    path = Path(data_dir) / DB_FILE
    if not path.exists():
        raise ShowroomError(f"{path}: no ledger here (start `showroom serve --data-dir {data_dir}` first)")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def public_key_of(data_dir: str | Path) -> str:
    """The event's public key (hex) from the data directory's key file."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        raise ShowroomError(f"{path}: no ledger key here")
    return public_key_hex(load_private_key(path))


def export_entry(data_dir: str | Path, seq: int) -> dict[str, Any]:
    """Entry ``seq`` with its inclusion proof against the newest checkpoint that covers it."""
    db = _db(data_dir)
    try:
        row = db.execute("SELECT size, doc FROM checkpoints WHERE size > ? ORDER BY size DESC LIMIT 1",
                         (seq,)).fetchone()
        size = int(db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])
        if not 0 <= seq < size:
            raise ShowroomError(f"no entry {seq} in the ledger (it has {size} entries, numbered from 0)")
        if row is None:
            raise ShowroomError(f"no checkpoint covers entry {seq} yet; the server signs one every few seconds")
        checkpoint = json.loads(row[1])
        leaves = [bytes(r[0]) for r in db.execute("SELECT leaf FROM entries WHERE seq < ? ORDER BY seq", (row[0],))]
        entry = bytes(db.execute("SELECT entry FROM entries WHERE seq = ?", (seq,)).fetchone()[0])
        return export_document(entry, seq, inclusion_proof(leaves, seq), checkpoint)
    finally:
        db.close()


def audit_dir(data_dir: str | Path) -> tuple[list[str], int, int]:
    """Audit the data directory's log: (problems, entries, checkpoints); no problems means clean."""
    key = public_key_of(data_dir)
    db = _db(data_dir)
    try:
        db.execute("BEGIN")  # one snapshot: a live server must not add a checkpoint between the two reads
        rows = db.execute("SELECT seq, entry, leaf FROM entries ORDER BY seq").fetchall()
        entries = [bytes(r[1]) for r in rows]
        checkpoints = [json.loads(r[0]) for r in db.execute("SELECT doc FROM checkpoints ORDER BY size")]
    finally:
        db.close()
    problems = list(audit(entries, checkpoints, key))
    stored = [bytes(r[2]) for r in rows]
    if stored and root_of_leaf_hashes(stored) != root_of_leaf_hashes([_leaf(e) for e in entries]):
        problems.append("the stored leaf hashes do not match the stored entries")
    return problems, len(entries), len(checkpoints)


def _leaf(entry: bytes) -> bytes:
    from showroom.ledger import leaf_hash

    return leaf_hash(entry)
