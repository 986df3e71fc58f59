"""Retention against both real stores, with backdated rows: payloads of dispatched events
go after the payload period, their keys after the deduplication window, dead and quarantined
events after their own window; queued events are never touched."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from integration_contracts import events as contract
from tests.relay.harness import Relay, event_row, unique_route, wait_for
from webhook_relay.store.models import batches, events
from webhook_relay.store.repository import RetentionPolicy, Store

DAY = 86400.0
ROUTE = "acme-erp/shop-r/sync-customer-data"
POLICY = RetentionPolicy(payload_days=7, dedup_days=30, dead_days=20, batch_size=3)


def arrive(store: Store, prefix: str, count: int, *, days_ago: float, **extra) -> None:
    received = time.time() - days_ago * DAY
    store.insert_events(
        [event_row(ROUTE, f"{prefix}_{i}", received_at=received, **extra) for i in range(count)]
    )


def dispatch_all(store: Store, *, days_ago: float) -> None:
    when = time.time() - days_ago * DAY
    for batch in store.form_batches(
        owner="t", now=time.time(), max_events=100, max_wait_s=0, lease_s=60, limit=100
    ):
        store.mark_dispatched(batch.id, "t", when)


def rows(store: Store) -> dict[str, tuple[str, str]]:
    with store.engine.connect() as conn:
        found = conn.execute(select(events.c.webhook_id, events.c.status, events.c.payload))
        return {r.webhook_id: (r.status, r.payload) for r in found}


def test_retention_prunes_then_deletes_by_status_and_age(store: Store) -> None:
    arrive(store, "old", 7, days_ago=40)  # dispatched 40 days ago: deleted outright
    dispatch_all(store, days_ago=40)
    arrive(store, "mid", 5, days_ago=10)  # dispatched 10 days ago: payload pruned, key kept
    dispatch_all(store, days_ago=10)
    arrive(store, "new", 2, days_ago=1)  # dispatched yesterday: untouched
    dispatch_all(store, days_ago=1)
    arrive(store, "queued", 2, days_ago=60)  # still pending (a paused route): untouched
    arrive(store, "q_old", 2, days_ago=25, status="quarantined", quarantine_reason="r")
    arrive(store, "q_new", 1, days_ago=5, status="quarantined", quarantine_reason="r")

    done = store.prune(time.time(), POLICY)

    left = rows(store)
    assert not any(k.startswith(("old_", "q_old_")) for k in left)
    assert {left[f"mid_{i}"] for i in range(5)} == {("pruned", "")}
    assert {left[f"new_{i}"][0] for i in range(2)} == {"dispatched"}
    assert all(left[f"new_{i}"][1] for i in range(2))
    assert {left[f"queued_{i}"][0] for i in range(2)} == {"pending"}
    assert left["q_new_0"][0] == "quarantined"
    # 14 rows pruned or deleted 3 at a time: many small transactions, all counted.
    assert done["payloads_pruned"] == 12  # old (later deleted) and mid
    assert done["events_deleted"] == 7
    assert done["dead_deleted"] == 2
    assert done["batches_deleted"] == 1  # the batch of "old"; the others still have events
    with store.engine.connect() as conn:
        assert len(conn.execute(select(batches.c.id)).all()) == 2
    assert store.prune(time.time(), POLICY) == dict.fromkeys(done, 0)  # nothing left to do


def test_a_pruned_key_still_deduplicates_a_late_redelivery(store: Store) -> None:
    arrive(store, "dup", 1, days_ago=10)
    dispatch_all(store, days_ago=10)
    store.prune(time.time(), POLICY)
    assert rows(store)["dup_0"] == ("pruned", "")
    assert store.insert_events([event_row(ROUTE, "dup_0")]).new_keys == set()


def test_quarantine_replay_releases_what_passes_after_a_fix(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that raises the contract's field limit frees events quarantined for it."""
    long_id = "x" * 300
    payload = f'{{"type": "customer.updated", "object_id": "{long_id}"}}'
    arrive(store, "long", 1, days_ago=0, status="quarantined", payload=payload)
    assert store.replay_quarantined(all_=True) == {"released": 0, "still_quarantined": 1}
    with store.engine.connect() as conn:
        reason = conn.execute(select(events.c.quarantine_reason)).scalar()
    assert "at most 256" in reason

    monkeypatch.setattr(contract, "MAX_FIELD_LENGTH", 1000)
    assert store.replay_quarantined(all_=True) == {"released": 1, "still_quarantined": 0}
    assert rows(store)["long_0"][0] == "pending"
    [batch] = store.form_batches(
        owner="t", now=time.time(), max_events=10, max_wait_s=0, lease_s=60, limit=10
    )
    assert batch.conf["events"][0]["object_id"] == long_id[:255]


def test_serve_prunes_on_its_interval_and_the_cli_prunes_on_demand(
    tmp_path, database_url: str, stub_airflow
) -> None:
    """Payloads go ~1 s after dispatch in the serving process; `webhook-relay prune` then
    deletes the keys whose (here tiny) deduplication window has passed."""
    relay = Relay(
        tmp_path,
        database_url,
        airflow_url=stub_airflow.url,
        extra_env={
            "RELAY_PRUNE_INTERVAL_SECONDS": "0.2",
            "RELAY_RETENTION_PAYLOAD_DAYS": str(1 / DAY),
            "RELAY_RETENTION_DEDUP_DAYS": "1",
        },
    ).start()
    try:
        route = unique_route()
        for i in range(3):
            assert relay.deliver(route, f"msg_p{i}").status_code == 200
        wait_for(lambda: len(relay.events(route, status="pruned")) == 3, what="pruned events")
        assert {e["payload"] for e in relay.events(route)} == {""}
        assert relay.deliver(route, "msg_p0").headers["webhook-relay-result"] == "duplicate"
        env = {**relay.env, "RELAY_RETENTION_DEDUP_DAYS": str(1 / DAY), "PATH": "/usr/bin:/bin"}
        deleted: list[int] = []

        def prune_once() -> bool:
            done = subprocess.run(
                [sys.executable, "-m", "webhook_relay.cli", "prune"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            deleted.append(json.loads(done.stdout)["events_deleted"])
            return relay.events(route) == []

        wait_for(prune_once, what="the CLI deleting keys past the deduplication window")
        assert sum(deleted) == 3
    finally:
        relay.stop()
