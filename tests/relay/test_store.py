"""Batch forming across several routes, against both real stores: every unpaused route
with due events gets its batch, in arrival order, and nothing else is touched."""

from __future__ import annotations

import time

from tests.relay.harness import event_row
from webhook_relay.store.repository import Store

DUE, FRESH = 10.0, 0.0  # seconds since arrival, against a max wait of 5 s


def arrive(store: Store, route: str, count: int, age: float) -> None:
    received_at = time.time() - age
    store.insert_events(
        [
            event_row(route, f"{route}#{i}", object_id=f"cust-{i}", received_at=received_at)
            for i in range(count)
        ]
    )


def test_every_unpaused_route_with_due_events_gets_a_batch(store: Store) -> None:
    arrive(store, "acme-erp/shop-a/sync-customer-data", 3, DUE)
    arrive(store, "acme-erp/shop-b/sync-customer-data", 2, DUE)  # paused below
    arrive(store, "acme-erp/shop-c/sync-inventory-data", 1, DUE)
    arrive(store, "acme-erp/shop-d/sync-customer-data", 2, FRESH)  # not due, not full
    arrive(store, "acme-erp/shop-e/sync-customer-data", 4, FRESH)  # full batches of 4
    store.set_paused("acme-erp/shop-b/sync-customer-data", True, time.time())

    claimed = store.form_batches(
        owner="test", now=time.time(), max_events=4, max_wait_s=5.0, lease_s=60.0, limit=10
    )

    by_route = {b.route: [e["id"] for e in b.conf["events"]] for b in claimed}
    assert by_route == {
        "acme-erp/shop-a/sync-customer-data": [
            f"acme-erp/shop-a/sync-customer-data#{i}" for i in range(3)
        ],
        "acme-erp/shop-c/sync-inventory-data": ["acme-erp/shop-c/sync-inventory-data#0"],
        "acme-erp/shop-e/sync-customer-data": [
            f"acme-erp/shop-e/sync-customer-data#{i}" for i in range(4)
        ],
    }
    assert len(claimed) == 3
    assert store.stats(time.time())["events"]["pending"] == 2 + 2  # shop-b (paused), shop-d
