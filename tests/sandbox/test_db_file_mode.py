"""The simulators' SQLite files hold API keys and webhook secrets: owner-only (0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox.acme.models import AcmeBase
from sandbox.common.db import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """The usual 022 umask would make new files 0644: what the code must not rely on."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_simulators_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "acme" / "acme.db"
    database = Database(path, AcmeBase)
    with database.write() as session:
        session.execute(text("SELECT 1"))
    files = [path, *path.parent.glob("acme.db-*")]
    assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
    database.engine.dispose()
