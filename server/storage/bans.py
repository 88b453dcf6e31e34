"""What the server keeps across restarts, in SQLite (WAL) in its data directory."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Store:
    """The server's SQLite database."""

    db: sqlite3.Connection

    @classmethod
    def open(cls, data_dir: Path) -> Store:
        """Open (creating if needed) ``data_dir/server.sqlite`` in WAL mode."""
        data_dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(data_dir / "server.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS bans (event TEXT NOT NULL, name TEXT NOT NULL, at REAL NOT NULL,"
                   " PRIMARY KEY (event, name))")
        return cls(db)

    def bans(self, event: str) -> set[str]:
        """Names banned from an event (case-folded)."""
        return {row[0] for row in self.db.execute("SELECT name FROM bans WHERE event = ?", (event,))}

    def ban(self, event: str, name: str) -> None:
        """Remember a ban."""
        self.db.execute("INSERT OR IGNORE INTO bans VALUES (?, ?, ?)", (event, name.casefold(), time.time()))
