"""ProgixHook against the real Progix simulator: versions, stale writes, chunking, faults."""

from __future__ import annotations

import logging

import pytest

from acme_erp_integration.errors import ProgixApiError
from acme_erp_integration.progix import ProgixHook, UpsertSummary
from acme_provider.hooks.retry import RetryPolicy
from tests.support.connections import SetConnection
from tests.support.simulators import ProgixSimulator


def customers(count: int, version: int) -> list[dict]:
    return [
        {"external_id": f"c{i}", "version": version, "name": f"v{version}"} for i in range(count)
    ]


def test_versions_decide_created_updated_and_stale(
    progix_conn: str, progix_simulator: ProgixSimulator
) -> None:
    hook = ProgixHook(progix_conn)
    assert hook.batch_upsert("customers", customers(3, 1)) == UpsertSummary(created=3)
    assert hook.batch_upsert("customers", customers(3, 1)) == UpsertSummary(stale=3)
    newer = customers(1, 2)
    assert hook.batch_upsert("customers", [*newer, *customers(3, 1)[1:]]) == UpsertSummary(
        updated=1, stale=2
    )
    assert progix_simulator.get("customers", "c0")["version"] == 2
    assert progix_simulator.get("customers", "c1")["version"] == 1


def test_more_than_500_items_are_chunked(
    progix_conn: str, progix_simulator: ProgixSimulator
) -> None:
    items = customers(1100, 1)
    assert ProgixHook(progix_conn).batch_upsert("customers", items) == UpsertSummary(created=1100)
    assert len(progix_simulator.list_all("customers")) == 1100


def test_upserts_survive_rate_limits_and_server_errors(
    progix_conn: str, progix_simulator: ProgixSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    hook = ProgixHook(
        progix_conn,
        max_items_per_request=5,
        retry_policy=RetryPolicy(max_attempts=10, base_delay=0.05, max_delay=1.0),
    )
    caplog.set_level(logging.DEBUG)
    progix_simulator.set_faults(rate_limit_per_second=1, rate_limit_burst=1, error_rate=0.3)
    summary = hook.batch_upsert("customers", customers(20, 1))
    progix_simulator.clear_faults()
    assert summary == UpsertSummary(created=20)  # rejected requests were never applied
    assert len(progix_simulator.list_all("customers")) == 20
    assert "Progix POST /v1/customers:batchUpsert failed (HTTP 429)" in caplog.text
    assert progix_simulator.api_key not in caplog.text


def test_wrong_key_is_a_typed_error(
    set_connection: SetConnection, progix_simulator: ProgixSimulator
) -> None:
    conn_id = set_connection(
        "progix_wrong", conn_type="http", host=progix_simulator.url, password="sk_wrong_key_1234"
    )
    with pytest.raises(ProgixApiError) as caught:
        ProgixHook(conn_id).batch_upsert("customers", customers(1, 1))
    assert caught.value.status_code == 401
    assert not caught.value.is_retryable
    assert ProgixHook(conn_id).test_connection()[0] is False
