"""Run the alembic migrations shipped inside the package (on `serve`, `dispatch`, `migrate`).

Several processes may start at once, so the upgrade runs under a lock: a PostgreSQL
advisory lock, or a file lock next to the SQLite database.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
ADVISORY_LOCK_ID = 0x7265_6C61_79  # "relay"


def alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, ":memory:"):
        lock_path = Path(f"{engine.url.database}.migrate-lock")
        with lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield
        return
    yield


def upgrade_to_head(engine: Engine) -> None:
    with _migration_lock(engine), engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": ADVISORY_LOCK_ID})
        command.upgrade(alembic_config(connection), "head")
        connection.commit()
