"""Fixtures for the relay suite: a database per store (SQLite file or a fresh PostgreSQL
database), the stub Airflow and relay processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay.harness import Relay, StubAirflow, fresh_store_url, migrated_store
from webhook_relay.store.repository import Store


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store for one test."""
    with fresh_store_url(store_kind, tmp_path) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database, used in-process."""
    with migrated_store(database_url) as store:
        yield store


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    with fresh_store_url("postgres", tmp_path) as url:
        yield url


@pytest.fixture
def stub_airflow(tmp_path: Path) -> Iterator[StubAirflow]:
    stub = StubAirflow(tmp_path).start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def relay(tmp_path: Path, database_url: str, stub_airflow: StubAirflow) -> Iterator[Relay]:
    """`webhook-relay serve` with its in-process dispatcher, talking to the stub Airflow."""
    service = Relay(tmp_path, database_url, airflow_url=stub_airflow.url).start()
    try:
        yield service
    finally:
        service.stop()
