"""The sync flows' run-time work against the real simulators (no Airflow scheduler needed).

Connections come from `AIRFLOW_CONN_*` variables, as in a task; records travel Acme → Progix
over real sockets and only counts come back.
"""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from acme_erp_integration.mapping import MappingError
from acme_erp_integration.sync import SyncOptions, UpsertToProgix, sync_events, sync_records
from tests.support.simulators import AcmeSimulator, ProgixSimulator

CUSTOMER_EVENTS = ("customer.created", "customer.updated")


@pytest.fixture
def conns(set_connection, acme_simulator: AcmeSimulator, progix_simulator: ProgixSimulator):
    acme = set_connection(
        "acme_erp__shop-1", host=acme_simulator.url, password=acme_simulator.api_key
    )
    progix = set_connection(
        "progix__shop-1",
        conn_type="http",
        host=progix_simulator.url,
        password=progix_simulator.api_key,
    )
    return {"acme_conn_id": acme, "progix_conn_id": progix}


def events(type_: str, ids: list[str]) -> list[dict]:
    return [
        {"id": f"e{n}", "type": type_, "object_id": i, "occurred_at": "x"}
        for n, i in enumerate(ids)
    ]


def test_events_become_current_records_in_progix(conns, acme_simulator, progix_simulator) -> None:
    ann = acme_simulator.create_customer(name="Ann")
    ann = acme_simulator.update_customer(ann["id"], email="ann@example.com")
    batch = events("customer.updated", [ann["id"], ann["id"], "cus_gone"]) + events(
        "inventory.updated", ["SKU-1"]
    )

    counts = sync_events("customers", batch, event_types=CUSTOMER_EVENTS, **conns)

    assert counts == {
        "events": 4,
        "objects": 2,
        "quarantined": 1,
        "fetched": 1,
        "missing": 1,
        "batches": 1,
        "created": 1,
        "updated": 0,
        "stale": 0,
        "filtered": 0,
        "invalid": 0,
    }
    stored = progix_simulator.get("customers", ann["id"])
    assert (stored["email"], stored["version"]) == ("ann@example.com", ann["version"])

    again = sync_events("customers", batch, event_types=CUSTOMER_EVENTS, **conns)
    assert (again["created"], again["updated"], again["stale"]) == (0, 0, 1)


def test_a_batch_without_known_objects_touches_nothing(conns, progix_simulator) -> None:
    counts = sync_events(
        "customers", events("inventory.updated", ["SKU-1"]), event_types=CUSTOMER_EVENTS, **conns
    )
    assert (counts["objects"], counts["quarantined"], counts["fetched"], counts["created"]) == (
        0,
        1,
        0,
        0,
    )
    assert progix_simulator.list_all("customers") == []


def test_full_sync_pages_everything_and_filters_warehouses(
    conns, acme_simulator, progix_simulator
) -> None:
    for n in range(25):
        acme_simulator.create_item(
            f"SKU-{n}", name=f"Item {n}", warehouse="north" if n % 5 else "south"
        )
    counts = sync_records("inventory", options=SyncOptions(warehouses=("north",)), **conns)
    assert (counts["fetched"], counts["created"], counts["filtered"]) == (25, 20, 5)
    assert len(progix_simulator.list_all("inventory")) == 20


def test_the_page_size_setting_decides_records_per_acme_request(conns, acme_simulator) -> None:
    for n in range(25):
        acme_simulator.create_item(f"SKU-{n}", name=f"Item {n}", warehouse="north")
    options = SyncOptions.of({"sync_page_size": 10}, "inventory")
    counts = sync_records("inventory", options=options, **conns)
    assert (counts["fetched"], counts["batches"], counts["created"]) == (25, 3, 25)


def test_the_invalid_records_setting_fails_or_skips_a_record_progix_cannot_take(
    conns, progix_simulator
) -> None:
    # Acme always sends a name, so the unusable record is built here (a real peer cannot).
    good = {"id": "cus_good", "name": "Good", "version": 1}
    nameless = {"id": "cus_nameless", "name": "", "version": 1}
    strict = SyncOptions.of({"invalid_records": "fail"}, "customers")
    with pytest.raises(MappingError, match="'cus_nameless' has no 'name'"):
        strict.upsert("customers", conns["progix_conn_id"])([good, nameless])
    assert progix_simulator.list_all("customers") == []  # nothing of that batch was sent

    lenient = SyncOptions.of({"invalid_records": "skip"}, "customers")
    counts = lenient.upsert("customers", conns["progix_conn_id"])([good, nameless])
    assert (counts["created"], counts["invalid"]) == (1, 1)
    assert [c["external_id"] for c in progix_simulator.list_all("customers")] == ["cus_good"]


def test_a_malformed_event_is_quarantined_and_the_rest_still_sync(
    conns, acme_simulator, progix_simulator
) -> None:
    ann = acme_simulator.create_customer(name="Ann")
    batch = [
        {"id": "evt_ping", "type": "customer.updated"},
        *events("customer.updated", [ann["id"]]),
    ]

    recorded: list = []

    counts = sync_events(
        "customers", batch, event_types=CUSTOMER_EVENTS, set_aside=recorded.extend, **conns
    )

    assert (counts["events"], counts["quarantined"], counts["created"]) == (2, 1, 1)
    assert progix_simulator.get("customers", ann["id"])["name"] == "Ann"
    assert [q.record() for q in recorded] == [
        {
            "index": 0,
            "id": "evt_ping",
            "type": "customer.updated",
            "object_id": None,
            "reason": "object_id must be a non-empty string, got None",
        }
    ]


def test_a_conf_that_is_not_a_list_fails_without_retry(conns) -> None:
    with pytest.raises(AirflowFailException, match=r"conf.events must be a list"):
        sync_events("customers", {"type": "customer.updated"}, event_types=CUSTOMER_EVENTS, **conns)


def test_a_rejected_api_key_fails_without_retry_and_without_the_key(
    set_connection, acme_simulator, conns
) -> None:
    set_connection("acme_erp__shop-1", host=acme_simulator.url, password="sk_wrong_TOPSECRET")
    with pytest.raises(AirflowFailException, match="HTTP 401") as caught:
        sync_events(
            "customers", events("customer.updated", ["cus_1"]), event_types=CUSTOMER_EVENTS, **conns
        )
    assert "sk_wrong_TOPSECRET" not in str(caught.value)


def test_on_batch_callback_is_lazy_and_shows_no_secrets() -> None:
    upsert = UpsertToProgix("inventory", progix_conn_id="progix__shop-1", warehouses=["north"])
    assert upsert(
        [{"sku": "S", "name": "n", "warehouse": "south", "quantity": 1, "version": 1}]
    ) == {
        "created": 0,
        "updated": 0,
        "stale": 0,
        "filtered": 1,
        "invalid": 0,
    }  # nothing to upsert: no connection was even looked up
    assert repr(upsert) == "UpsertToProgix('inventory', progix_conn_id='progix__shop-1')"
