"""Fault knobs: per-key rate limits (429 + Retry-After), injected 5xx, validation of settings."""

from __future__ import annotations

import httpx

from tests.support.simulators import AcmeSimulator, ProgixSimulator


def test_rate_limit_answers_429_with_retry_after_per_key(acme_simulator: AcmeSimulator) -> None:
    acme_simulator.set_faults(rate_limit_per_second=0.2, rate_limit_burst=2)
    with acme_simulator.client() as client:
        statuses = [client.get("/v1/customers").status_code for _ in range(3)]
        limited = client.post("/v1/customers", json={"name": "not written"})
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    with acme_simulator.client(acme_simulator.other_api_key) as other:
        assert other.get("/v1/customers").status_code == 200  # its own bucket
    acme_simulator.clear_faults()
    assert acme_simulator.list_all("/v1/customers") == []


def test_unknown_keys_get_401_not_429(acme_simulator: AcmeSimulator) -> None:
    acme_simulator.set_faults(rate_limit_per_second=0.01, rate_limit_burst=1, error_rate=1.0)
    response = httpx.get(
        f"{acme_simulator.url}/v1/customers", headers={"authorization": "Bearer sk_unknown_1"}
    )
    assert response.status_code == 401


def test_injected_server_errors_write_nothing(acme_simulator: AcmeSimulator) -> None:
    acme_simulator.set_faults(error_rate=1.0, error_statuses=[502])
    with acme_simulator.client() as client:
        response = client.post("/v1/customers", json={"name": "not written"})
    assert response.status_code == 502
    assert httpx.get(f"{acme_simulator.url}/healthz").status_code == 200  # admin never faulted
    acme_simulator.clear_faults()
    assert acme_simulator.list_all("/v1/customers") == []
    assert acme_simulator.stats()["events"] == 0


def test_progix_has_the_same_knobs(progix_simulator: ProgixSimulator) -> None:
    settings = progix_simulator.set_faults(error_rate=1.0, latency_ms=5)
    assert (settings["error_rate"], settings["latency_ms"]) == (1.0, 5)
    with progix_simulator.client() as client:
        response = client.post(
            "/v1/customers:batchUpsert",
            json={"items": [{"external_id": "c1", "version": 1, "name": "A"}]},
        )
    assert response.status_code in (500, 502, 503)
    progix_simulator.clear_faults()
    assert progix_simulator.list_all("customers") == []


def test_fault_settings_are_validated_and_readable(acme_simulator: AcmeSimulator) -> None:
    bad = httpx.put(f"{acme_simulator.url}/_sandbox/faults", json={"error_rate": 2})
    unknown = httpx.put(f"{acme_simulator.url}/_sandbox/faults", json={"chaos": True})
    not_5xx = httpx.put(f"{acme_simulator.url}/_sandbox/faults", json={"error_statuses": [404]})
    assert [r.status_code for r in (bad, unknown, not_5xx)] == [422, 422, 422]
    acme_simulator.set_faults(duplicate_rate=0.5, reorder_window=4)
    current = httpx.get(f"{acme_simulator.url}/_sandbox/faults").json()
    assert (current["duplicate_rate"], current["reorder_window"], current["error_rate"]) == (
        0.5,
        4,
        0.0,
    )
