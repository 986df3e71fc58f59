"""The shared simulator fixtures give each test an empty, fault-free simulator."""

from __future__ import annotations

from tests.support.simulators import AcmeSimulator, ProgixSimulator


def test_acme_fixture_starts_empty_and_creates_records(acme_simulator: AcmeSimulator) -> None:
    assert acme_simulator.list_all("/v1/customers") == []
    created = acme_simulator.create_customer(name="Ada")
    assert acme_simulator.list_all("/v1/customers") == [created]


def test_acme_fixture_is_reset_between_tests(acme_simulator: AcmeSimulator) -> None:
    assert acme_simulator.list_all("/v1/customers") == []
    assert acme_simulator.stats()["events"] == 0


def test_progix_fixture_starts_empty(progix_simulator: ProgixSimulator) -> None:
    assert progix_simulator.list_all("customers") == []
    results = progix_simulator.batch_upsert(
        "customers", [{"external_id": "c1", "version": 1, "name": "Ada"}]
    )
    assert results == [{"external_id": "c1", "status": "created", "version": 1}]
