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


def lost_lease(store: Store) -> tuple:
    """A batch claimed by `slow`, whose lease expired and which `fast` then took over."""
    arrive(store, "acme-erp/shop-l/sync-customer-data", 3, DUE)
    now = time.time()
    [batch] = store.form_batches(
        owner="slow", now=now, max_events=10, max_wait_s=0.0, lease_s=1.0, limit=1
    )
    [taken] = store.claim_due_batches(owner="fast", now=now + 5, lease_s=60.0, limit=1)
    assert taken.id == batch.id
    return batch, now + 5


def test_a_closer_that_lost_its_lease_changes_nothing(store: Store) -> None:
    batch, now = lost_lease(store)
    before = (store.get_batch(batch.id), store.list_events(batch_id=batch.id))

    assert store.mark_dispatched(batch.id, "slow", now) is False
    assert store.mark_dead(batch.id, "slow", now, "late") is False
    assert store.mark_retry(batch.id, "slow", now + 60, "late") is False
    assert store.split_batch(batch, "slow", now, "late", 60.0) is None
    assert (store.get_batch(batch.id), store.list_events(batch_id=batch.id)) == before

    assert store.mark_dispatched(batch.id, "fast", now) is True  # the holder closes it
    closed = store.get_batch(batch.id)
    assert closed["status"] == "dispatched"
    assert closed["run_state"] == "queued"  # tracked until Airflow starts it
    assert {e["status"] for e in store.list_events(batch_id=batch.id)} == {"dispatched"}


def test_events_of_an_open_batch_show_as_batched_and_replay_leaves_them(store: Store) -> None:
    batch, now = lost_lease(store)
    in_batch = store.list_events(batch_id=batch.id)
    assert {e["status"] for e in in_batch} == {"batched"}
    assert store.stats(now)["events"]["batched"] == 3
    assert store.stats(now)["queue_depth"] == 3
    assert store.replay(event_ids=[e["id"] for e in in_batch]) == 0  # it is still being sent

    assert store.mark_dead(batch.id, "fast", now, "refused") is True
    assert {e["status"] for e in store.list_events(batch_id=batch.id)} == {"dead"}
    assert store.stats(now)["events"] == {
        "pending": 0,
        "batched": 0,
        "dispatched": 0,
        "dead": 3,
        "quarantined": 0,
        "pruned": 0,
    }
    assert store.replay(dead_letters=True) == 3


def test_waiting_runs_per_route_bound_new_claims(store: Store) -> None:
    """`max_waiting`: a route with K runs being sent or queued gets no new batch until
    Airflow has started one of them."""
    route = "acme-erp/shop-k/sync-customer-data"
    arrive(store, route, 5, FRESH)
    now = time.time()
    first = store.claim_route_batch(
        route, owner="d", now=now, max_events=2, lease_s=60, max_waiting=1
    )
    assert first is not None
    assert (
        store.claim_route_batch(route, owner="d", now=now, max_events=2, lease_s=60, max_waiting=1)
        is None
    )
    assert store.waiting_by_route() == {route: (1, 1)}

    store.mark_dispatched(first.id, "d", now)  # queued in Airflow: still waiting
    assert store.waiting_by_route(stuck_before=now - 60) == {route: (1, 1)}
    assert store.waiting_by_route(stuck_before=now + 1) == {route: (1, 0)}  # queued for long
    assert (
        store.claim_route_batch(route, owner="d", now=now, max_events=2, lease_s=60, max_waiting=1)
        is None
    )
    [tracked] = store.tracked_runs()
    store.set_run_states({tracked.batch_id: ("queued", "running")}, now)
    assert store.waiting_by_route() == {}
    second = store.claim_route_batch(
        route, owner="d", now=now, max_events=10, lease_s=60, max_waiting=1
    )
    assert second is not None
    assert len(second.conf["events"]) == 3  # everything that waited meanwhile

    store.set_run_states({tracked.batch_id: ("running", None)}, now)  # finished
    assert [r.batch_id for r in store.tracked_runs()] == []
    store.set_run_states({tracked.batch_id: ("queued", "running")}, now)  # stale: ignored
    assert store.get_batch(tracked.batch_id)["run_state"] is None
