"""The community store in SQLite: ``data_dir/communities.sqlite``, WAL, ``synchronous=FULL``.

Each write is one ``BEGIN IMMEDIATE`` transaction that checks its rule inside (the member cap, an
invite's uses and time, a ban, entries per member, one ballot or answer per wallet), so writers in
threads or processes sharing the data directory take turns on SQLite's write lock; the schema's
UNIQUE constraints (:mod:`server.storage.community_schema`) stand behind the checks. A write is
durable when its method returns. The rules themselves are
:class:`server.storage.community_schema.SqlCommunityStore`'s, shared with the PostgreSQL store
(:mod:`server.storage.community_postgres`).

Connections: write methods (those taking ``now``, and ``open_poll``) use the writer connection,
under a lock so threads may share a store, and read the record they return inside their
transaction. Read methods use a query-only connection of the calling thread: they see the last
commit and never wait for a writer (WAL).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.storage import community_schema as rows


class SqliteCommunityStore(rows.SqlCommunityStore):
    """Every community of a server in ``data_dir/communities.sqlite`` (a :class:`CommunityStore`)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / rows.DB_FILE
        self._db = rows.connect(self.path, write=True)
        try:
            rows.ensure_schema(self._db, self.path)
        except BaseException:
            self._db.close()
            raise
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []

    def close(self) -> None:
        """Close the writer and every thread's reader."""
        with self._lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock, rows.transaction(self._db) as db:
            yield db

    def _read(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = rows.connect(self.path, write=False)
            self._readers.append(db)  # list.append is atomic: no lock, so a reader never waits for a writer
        return db
