"""Read a server's community store and ledger straight from its data directory, for the offline
``showroom community`` tools (reports, poll listings, answer exports).

Like :mod:`server.storage.ledger_files`, nothing here writes: the SQLite files are opened
``mode=ro`` (a running server keeps writing; WAL lets both go on), and a missing directory or
file is one :class:`~showroom.errors.ShowroomError` line that says what to do.
"""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from server.storage import community_schema as rows
from server.storage.community_store import Answer, Poll
from server.storage.ledger import DB_FILE as LEDGER_FILE
from showroom.errors import ShowroomError
from showroom.ledger import format_time

CSV_COLUMNS = ("poll", "question", "option", "option_text", "wallet", "answered_at")
"""The header of a poll answer export, one row per answer."""


def data_directory(data_dir: str | Path) -> Path:
    """``data_dir`` as a path, if it is a directory."""
    path = Path(data_dir)
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "does not exist"
        raise ShowroomError(f"{path}: the data directory {what} (give the --data-dir the server was started with)")
    return path


def _read_only(path: Path, missing: str) -> sqlite3.Connection:
    if not path.is_file():
        raise ShowroomError(f"{path}: {missing}")
    try:
        return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=rows.BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise ShowroomError(f"{path}: cannot open ({exc})") from None


@contextmanager
def community_db(data_dir: str | Path) -> Iterator[sqlite3.Connection]:
    """The data directory's community store, read-only, its schema version checked."""
    folder = data_directory(data_dir)
    path = folder / rows.DB_FILE
    with closing(_read_only(path, "no community store here (a server started with --data-dir "
                                  f"{folder} and a community keeps one)")) as db:
        try:
            found = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ShowroomError(f"{path}: not a community store ({exc})") from None
        version = None if found is None else str(found[0])
        if version is None or not version.isdigit() or int(version) > rows.SCHEMA_VERSION:
            raise ShowroomError(f"{path}: community store schema version {version!r} is not one this Showroom reads"
                                f" (up to {rows.SCHEMA_VERSION})")
        yield db


@contextmanager
def ledger_db(data_dir: str | Path) -> Iterator[sqlite3.Connection]:
    """The data directory's Meta-Pass ledger, read-only."""
    folder = data_directory(data_dir)
    path = folder / LEDGER_FILE
    with closing(_read_only(path, f"no ledger here (`showroom serve SCENE --data-dir {folder}` makes one)")) as db:
        try:
            db.execute("SELECT 1 FROM awards LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise ShowroomError(f"{path}: not a ledger ({exc})") from None
        yield db


def communities_in(db: sqlite3.Connection) -> list[str]:
    """Ids of the communities that have had members in this store, sorted."""
    return [str(r[0]) for r in db.execute("SELECT DISTINCT community FROM memberships ORDER BY community")]


# ---- polls ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PollCounts:
    """A poll and its answers per option (in the order of its options)."""

    poll: Poll
    tally: tuple[int, ...]

    @property
    def answers(self) -> int:
        """Answers in all."""
        return sum(self.tally)


def poll_counts(data_dir: str | Path, owner: str) -> list[PollCounts]:
    """The polls of an event or community id, oldest first, with their counts; an owner without polls is an error."""
    with community_db(data_dir) as db:
        found = rows.polls_of(db, owner, open_only=False)
        if not found:
            owners = [str(r[0]) for r in db.execute("SELECT DISTINCT owner FROM polls ORDER BY owner")]
            raise ShowroomError(f"no polls of {owner!r} in {Path(data_dir) / rows.DB_FILE} "
                                f"(owners with polls: {', '.join(owners) or 'none'})")
        return [PollCounts(poll, tuple(rows.tally_of(db, poll.id, len(poll.options)))) for poll in found]


def poll_answers(data_dir: str | Path, polls: list[Poll]) -> list[Answer]:
    """Every answer of these polls, poll by poll, each in the order given."""
    with community_db(data_dir) as db:
        return [answer for poll in polls for answer in rows.answers_of(db, poll.id)]


def utc_text(at_s: float) -> str:
    """Unix seconds as an ISO 8601 UTC time to the millisecond: ``2026-12-12T11:30:05.123Z``."""
    return format_time(dt.datetime.fromtimestamp(at_s, dt.UTC))


def write_answers_csv(path: str | Path, polls: list[Poll], answers: list[Answer]) -> int:
    """Write one CSV row per answer (columns :data:`CSV_COLUMNS`, UTF-8); return the rows written."""
    by_id = {poll.id: poll for poll in polls}
    try:
        with open(path, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(CSV_COLUMNS)
            for answer in answers:
                poll = by_id[answer.poll]
                writer.writerow((poll.id, poll.question, answer.option, poll.options[answer.option], answer.wallet,
                                 utc_text(answer.at)))
    except OSError as exc:
        raise ShowroomError(f"{path}: cannot write the export ({exc.strerror or exc})") from None
    return len(answers)
