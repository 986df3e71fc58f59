"""SQLite storage for one simulator process: WAL mode, and one writer at a time.

The simulator is the only process that opens its database file. Serialising writes with an
in-process lock (instead of relying on SQLite's busy handling) keeps two things simple:
change sequence numbers are handed out in commit order, and no request ever sees
`database is locked`. Readers never take the lock; WAL lets them read while a write runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every simulator table (each simulator has its own metadata)."""


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no time zone, so everything stored is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(moment: datetime) -> datetime:
    """A caller's timestamp (aware or naive-as-UTC) in the stored convention."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """A stored timestamp as RFC 3339 with an explicit `Z`."""
    return moment.isoformat(timespec="microseconds") + "Z"


class Database:
    """An engine, a session factory and the single-writer lock for one SQLite file."""

    def __init__(self, path: Path, metadata_owner: type[DeclarativeBase]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Owner-only (0600) before SQLite opens it: it holds API keys and webhook secrets, and
        # SQLite gives its WAL and shared-memory files the database's mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
        self.path = path
        self.engine: Engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata_owner.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.RLock()
        self._last_stamp = datetime.min

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries only."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction under the writer lock: all of it commits or none of it does."""
        with self._write_lock, self._sessions() as session, session.begin():
            yield session

    def stamp(self) -> datetime:
        """A write time that never goes backwards, even if the wall clock does (call inside
        `write()`): `updated_since` filters on it while change feeds order by sequence, and the
        two must agree."""
        self._last_stamp = max(utcnow(), self._last_stamp + timedelta(microseconds=1))
        return self._last_stamp

    def next_sequence(self, session: Session, column: InstrumentedAttribute[int]) -> int:
        """The next change sequence number for `column`'s table (call inside `write()`)."""
        current = session.scalar(select(func.max(column)))
        return (current or 0) + 1

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
