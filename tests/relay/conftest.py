"""Fixtures for the relay suite: a database per store (SQLite file or a fresh PostgreSQL
database), the stub Airflow and relay processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay.harness import Relay, StubAirflow

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def _create_postgres_database() -> str:
    import psycopg2

    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    conn = psycopg2.connect(POSTGRES_ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return name


def _drop_postgres_database(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(POSTGRES_ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(store_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store for one test."""
    if store_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'relay.db'}"
        return
    name = _create_postgres_database()
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        _drop_postgres_database(name)


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    name = _create_postgres_database()
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        _drop_postgres_database(name)


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
