"""The SQLite ingest writer's transaction: one multi-row INSERT per group, on its own connection."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from webhook_relay.store.statements import ACTIVE, Inserted

_INGEST_COLUMNS = (
    "route",
    "webhook_id",
    "event_type",
    "object_id",
    "occurred_at",
    "payload",
    "received_at",
    "status",
    "quarantine_reason",
)


@functools.lru_cache(maxsize=64)
def _sqlite_insert_sql(row_count: int) -> str:
    """Only column names and placeholders are interpolated, never values."""
    values = ",".join(["(" + ",".join("?" * len(_INGEST_COLUMNS)) + ")"] * row_count)
    columns = ", ".join(_INGEST_COLUMNS)
    return (
        f"INSERT INTO relay_events ({columns}) VALUES {values}"  # noqa: S608
        " ON CONFLICT (route, webhook_id) DO NOTHING RETURNING route, webhook_id"
    )


@functools.lru_cache(maxsize=64)
def _sqlite_states_sql(route_count: int) -> str:
    """`statements.route_states` for the raw connection: only placeholders are interpolated."""
    marks = ",".join("?" * route_count)
    return f"SELECT route, state FROM relay_routes WHERE route IN ({marks})"  # noqa: S608


class SqliteIngest:
    """One group's write transaction on SQLite, in three steps on a dedicated connection.

    `begin` (wait for the write lock) and `commit` (fsync) block, so the ingest writer runs
    them in a helper thread; `insert` is pure CPU and runs on the event loop. Running the
    whole transaction in a thread was slower: every row's `sqlite3_step` handed the GIL
    back and forth with the event loop (webhook_relay.writer has the measurements).
    """

    def __init__(self, engine: Engine, write_lock: threading.Lock) -> None:
        if sqlite3.sqlite_version_info < (3, 35):  # RETURNING; 32,766 bound values (3.32)
            raise RuntimeError(
                f"the relay needs SQLite 3.35 or newer, not {sqlite3.sqlite_version}"
            )
        self._pooled = engine.raw_connection()  # carries the engine's WAL/fsync pragmas
        self._conn: sqlite3.Connection = self._pooled.driver_connection
        self._lock = write_lock

    def begin(self) -> None:
        self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise

    def insert(self, rows: Sequence[dict[str, Any]]) -> Inserted:
        """One statement for the whole group, without the rows of routes retired by now:
        this transaction holds the write lock, so no retire can come between the two."""
        names = sorted({row["route"] for row in rows})
        states = self._conn.execute(_sqlite_states_sql(len(names)), names)
        retired = frozenset(route for route, state in states if state != ACTIVE)
        kept = [row for row in rows if row["route"] not in retired]
        if not kept:
            return Inserted(set(), retired)
        params = [row.get(column) for row in kept for column in _INGEST_COLUMNS]
        new_keys = set(self._conn.execute(_sqlite_insert_sql(len(kept)), params).fetchall())
        return Inserted(new_keys, retired)

    def commit(self) -> None:
        try:
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback_quietly()
            raise
        finally:
            self._lock.release()

    def rollback(self) -> None:
        try:
            self._rollback_quietly()
        finally:
            self._lock.release()

    def close(self) -> None:
        self._pooled.close()

    def _rollback_quietly(self) -> None:
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
