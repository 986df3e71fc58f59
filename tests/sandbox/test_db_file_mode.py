"""The simulators' SQLite files hold API keys and webhook secrets: owner-only (0600)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from sandbox.acme.models import AcmeBase
from sandbox.common.db import Database
from tests.support.files import file_mode

pytestmark = pytest.mark.usefixtures("permissive_umask")


def test_the_simulators_database_is_private(tmp_path: Path) -> None:
    path = tmp_path / "acme" / "acme.db"
    database = Database(path, AcmeBase)
    with database.write() as session:
        session.execute(text("SELECT 1"))
    files = [path, *path.parent.glob("acme.db-*")]
    assert {p.name: file_mode(p) for p in files} == {p.name: 0o600 for p in files}
    database.engine.dispose()
