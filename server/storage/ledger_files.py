"""Read a server's ledger straight from its store, for the offline ``showroom ledger`` tools.

These open the data directory's SQLite file read-only, or the event's schema in PostgreSQL
(``database``), and need no scene: the log is self-describing. The public key is always the data
directory's key file: the store alone cannot vouch for itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from server.storage.ledger import KEY_FILE
from server.storage.ledger_db import LedgerDb, PostgresDb, SqliteDb, schema_name
from showroom.errors import ShowroomError
from showroom.ledger import (
    audit,
    export_document,
    inclusion_proof,
    load_private_key,
    public_key_hex,
    root_of_leaf_hashes,
)


def _db(data_dir: str | Path, database: str | None = None, event: str | None = None) -> LedgerDb:
    if not database:
        return SqliteDb(Path(data_dir), read_only=True)
    return PostgresDb(database, event or _only_event(database), create=False)


def _only_event(database: str) -> str:
    """The event whose ledger the database holds, when it holds exactly one."""
    import psycopg

    from server.storage.ledger_db import first_line, safe_url

    prefix = schema_name("")
    try:
        with psycopg.connect(database, connect_timeout=10) as db:
            rows = db.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
                              (prefix,)).fetchall()
    except psycopg.Error as exc:
        raise ShowroomError(f"cannot reach the ledger's database {safe_url(database)}: {first_line(exc)}") from None
    events = [str(r[0])[len(prefix):] for r in rows]
    if len(events) != 1:
        raise ShowroomError(f"{safe_url(database)} holds the ledgers of {len(events)} events "
                            f"({', '.join(events) or 'none'}): say which with --event")
    return events[0]


def public_key_of(data_dir: str | Path) -> str:
    """The event's public key (hex) from the data directory's key file."""
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        raise ShowroomError(f"{path}: no ledger key here")
    return public_key_hex(load_private_key(path))


def export_entry(data_dir: str | Path, seq: int, database: str | None = None,
                 event: str | None = None) -> dict[str, Any]:
    """Entry ``seq`` with its inclusion proof against the newest checkpoint that covers it."""
    db = _db(data_dir, database, event)
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


def audit_dir(data_dir: str | Path, database: str | None = None,
              event: str | None = None) -> tuple[list[str], int, int]:
    """Audit the event's log (the data directory's, or in ``database``) against the data directory's key:
    (problems, entries, checkpoints); no problems means clean."""
    key = public_key_of(data_dir)
    db = _db(data_dir, database, event)
    try:
        db.begin_read()  # one snapshot: a live server must not add a checkpoint between the two reads
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
