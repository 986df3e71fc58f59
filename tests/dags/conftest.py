"""One migrated Airflow home (SQLite) and one `dag.test()` runner process per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dags.support import DagTestRunner, migrate


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow_home")
    migrate(home)
    return home


@pytest.fixture(scope="session")
def dag_runner(airflow_home: Path) -> Iterator[DagTestRunner]:
    runner = DagTestRunner(airflow_home, airflow_home / "dag_test_runner.log")
    try:
        yield runner
    finally:
        runner.close()
