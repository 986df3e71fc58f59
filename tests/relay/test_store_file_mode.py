"""The relay's SQLite store holds payloads and route secrets: owner-only (0600), WAL included."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.files import file_mode
from webhook_relay.store.engine import create_store_engine

pytestmark = pytest.mark.usefixtures("permissive_umask")


def test_the_relay_database_and_its_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "relay" / "relay.db"
    engine = create_store_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        conn.execute(text("INSERT INTO t VALUES ('payload')"))
    files = [db, *db.parent.glob("relay.db-*")]
    assert len(files) >= 2, files  # the WAL exists while the engine is open
    assert {p.name: file_mode(p) for p in files} == {p.name: 0o600 for p in files}
    engine.dispose()


def test_an_existing_world_readable_relay_database_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    db.touch(mode=0o644)
    create_store_engine(f"sqlite:///{db}").dispose()
    assert file_mode(db) == 0o600
