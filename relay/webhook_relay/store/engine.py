"""Engine creation with the connection settings each backend needs."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

READ_ONLY = "relay_read_only"


def create_private_file(path: Path) -> None:
    """Create the database owner-only (0600) before SQLite opens it: it holds payloads and
    route secrets, and SQLite gives its WAL and shared-memory files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    path.chmod(0o600)  # a file from an older version, made private too


def create_store_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    pg_connect_timeout_s: int = 10,
    pg_statement_timeout_ms: int = 30_000,
) -> Engine:
    """SQLite: WAL, BEGIN IMMEDIATE so claims are serialised, and `synchronous=FULL` by
    default: every commit is fsync'd before the sender gets its 200, so an acknowledged
    event survives a power loss (NORMAL survives process crashes only).
    PostgreSQL: a small pool; `FOR UPDATE SKIP LOCKED` does the rest. Connect and statement
    timeouts, so an unreachable or stuck server fails requests (503) instead of hanging them."""
    if sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ValueError(f"unsupported SQLite synchronous mode {sqlite_synchronous!r}")
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_size=8,
            max_overflow=8,
            pool_pre_ping=True,
            pool_timeout=pg_connect_timeout_s,
            connect_args={
                "connect_timeout": pg_connect_timeout_s,
                "options": f"-c statement_timeout={int(pg_statement_timeout_ms)}",
            },
        )

    if parsed.database and parsed.database != ":memory:":
        create_private_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below take over
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # Writers take the lock up front (no upgrade deadlocks); readers must not take it,
        # or a metrics scrape would stall ingest commits.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
