"""Where a ledger keeps its log: a SQLite file in the data directory, or PostgreSQL for an event whose
shards run in several worker processes or on several machines.

Both speak the same SQL (written with ``?`` placeholders, each store adapts them) through a small
connection interface, so :class:`server.storage.ledger.Ledger` has one code path. A write batch is
one transaction that holds the ledger's write lock from its first statement: SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's transaction-scoped advisory lock, taken by every writer of the
event in every process. So the stock check, the stock update, the award row and the log entry of
each claim are serialised with every other claim, and log seqs stay dense and in commit order:
exactly-once holds across processes because the database decides it, never the broker.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from showroom.errors import ShowroomError

DB_FILE = "ledger.sqlite"
_BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS awards (
    rule TEXT NOT NULL, visitor TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE, entitlement TEXT NOT NULL,
    kind TEXT NOT NULL, unit INTEGER, at TEXT NOT NULL, valid_from TEXT NOT NULL, valid_until TEXT,
    redeemed_seq INTEGER, redeemed_at TEXT, PRIMARY KEY (rule, visitor));
CREATE INDEX IF NOT EXISTS awards_by_visitor ON awards (visitor, entitlement);
CREATE TABLE IF NOT EXISTS stock (entitlement TEXT PRIMARY KEY, total INTEGER NOT NULL, taken INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Rows(Protocol):
    """What a query returns: rows as tuples."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class LedgerDb(Protocol):
    """One connection to a ledger's store."""

    where: str
    """Where the store is, for messages (a file, or a database and schema)."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        """Run one statement (``?`` placeholders)."""
        ...

    def begin_write(self) -> None:
        """Start a transaction holding the ledger's write lock."""
        ...

    def begin_read(self) -> None:
        """Start a transaction that reads one consistent snapshot."""
        ...

    def end(self, commit: bool) -> None:
        """Commit (or roll back) the transaction."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class SqliteDb:
    """The ledger in ``data_dir/ledger.sqlite`` (WAL, ``synchronous=FULL``)."""

    def __init__(self, data_dir: Path, *, read_only: bool = False) -> None:
        path = data_dir / DB_FILE
        self.where = str(path)
        if read_only:
            if not path.exists():
                raise ShowroomError(f"{path}: no ledger here (start `showroom serve --data-dir {data_dir}` first)")
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
            return
        self.db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT_S, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        return self.db.execute(sql, tuple(args))

    def begin_write(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        self.db.execute("BEGIN")

    def end(self, commit: bool) -> None:
        self.db.execute("COMMIT" if commit else "ROLLBACK")

    def close(self) -> None:
        self.db.close()


def schema_name(event: str) -> str:
    """The PostgreSQL schema holding event ``event``'s ledger (event ids are short lowercase identifiers)."""
    return f"ledger_{event}"


def _lock_key(event: str) -> int:
    """The advisory lock of event ``event``'s ledger: a signed 64-bit number from its id."""
    return int.from_bytes(hashlib.blake2b(f"showroom-ledger:{event}".encode(), digest_size=8).digest(), "big",
                          signed=True)


class PostgresDb:
    """The ledger of one event in a schema of its own in a PostgreSQL database (``postgresql://…``).

    Durable as PostgreSQL's commits are (``synchronous_commit`` on, its default). Every writer of
    the event, in any process on any machine, takes the same advisory lock in each write
    transaction (``pg_advisory_xact_lock``), released at commit or rollback.
    """

    def __init__(self, url: str, event: str, *, create: bool = True) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError:
            raise ShowroomError("a PostgreSQL ledger needs psycopg: pip install 'showroom[postgres]'") from None
        self.schema = schema_name(event)
        self.where = f"{safe_url(url)} schema {self.schema}"
        self.key = _lock_key(event)
        try:
            self.db = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise ShowroomError(f"cannot reach the ledger's database {safe_url(url)}: {first_line(exc)}") from None
        ident = sql.Identifier(self.schema)
        exists = self.db.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.schema,)).fetchone()
        if create and exists is None:
            with self.db.transaction():  # one process creates the schema; the others wait on the lock
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (self.key,))
                self.db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(ident))
                self.db.execute(sql.SQL("SET LOCAL search_path TO {}").format(ident))
                for statement in _postgres_schema():
                    self.db.execute(statement)
        elif exists is None:
            raise ShowroomError(f"{self.where}: no ledger here (no event {event!r} has written to this database)")
        self.db.execute(sql.SQL("SET search_path TO {}").format(ident))

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        return self.db.execute(postgres_sql(sql), tuple(args))  # type: ignore[arg-type]

    def begin_write(self) -> None:
        self.db.execute("BEGIN")
        self.db.execute("SELECT pg_advisory_xact_lock(%s)", (self.key,))

    def begin_read(self) -> None:
        self.db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def end(self, commit: bool) -> None:
        self.db.execute("COMMIT" if commit else "ROLLBACK")

    def close(self) -> None:
        self.db.close()


_ADAPTED: dict[str, str] = {}


def postgres_sql(sql: str) -> str:
    """A statement written with ``?`` placeholders in psycopg's ``%s`` (the stores' SQL has no ``?`` or ``%`` in its
    literals); each distinct statement is adapted once."""
    adapted = _ADAPTED.get(sql)
    if adapted is None:
        adapted = _ADAPTED[sql] = sql.replace("?", "%s")
    return adapted


def _postgres_schema() -> Iterable[str]:
    """The SQLite schema in PostgreSQL's types, one statement at a time."""
    text = SCHEMA.replace("BLOB", "BYTEA").replace("INTEGER", "BIGINT")
    return [s.strip() for s in text.split(";") if s.strip()]


def open_ledger_db(data_dir: Path, database: str | None, event: str) -> LedgerDb:
    """The store of event ``event``'s ledger: PostgreSQL when ``database`` is a URL, else SQLite in ``data_dir``."""
    if database:
        if not database.startswith(("postgresql://", "postgres://")):
            raise ShowroomError(f"database URL {safe_url(database)!r}: only postgresql:// URLs are supported")
        return PostgresDb(database, event)
    return SqliteDb(data_dir)


def safe_url(url: str) -> str:
    """A database URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or "://" not in head:
        return url
    scheme, _, user = head.partition("://")
    return f"{scheme}://{user.split(':')[0]}@{tail}"


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
