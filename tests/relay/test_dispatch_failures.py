"""Airflow answers that are not a plain success, through real processes on both stores:
transient refusals are retried for a bounded time, a refused conf is bisected so only the
refused events are dead-lettered, and several dispatchers on PostgreSQL keep K per route."""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay.harness import (
    Relay,
    Sender,
    StubAirflow,
    assert_ledger,
    dag_id_of,
    route_of,
    start_all,
    stop_all,
    unique_route,
    wait_for,
)


@pytest.fixture
def patient_relay(tmp_path: Path, database_url: str, stub_airflow: StubAirflow) -> Iterator[Relay]:
    """Retries transient refusals for a minute (the shared relays give up after 2 s)."""
    env = {"RELAY_TRANSIENT_RETRY_SECONDS": "60"}
    relay = Relay(tmp_path, database_url, airflow_url=stub_airflow.url, extra_env=env).start()
    try:
        yield relay
    finally:
        relay.stop()


def deliver(relay: Relay, route: str, ids: list[str]) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda i: relay.deliver(route, i).status_code, ids))
    assert statuses == [200] * len(ids)


def test_404_and_import_errors_are_retried_until_the_dag_is_back(
    patient_relay: Relay, stub_airflow: StubAirflow
) -> None:
    """A DAG being (re)parsed answers 404, one with an import error 400: neither is final."""
    missing, broken = unique_route(), unique_route()
    stub_airflow.configure(missing_dags=[dag_id_of(missing)], import_error_dags=[dag_id_of(broken)])
    ids = {
        route: [f"msg_{route.split('/')[1]}_{i}" for i in range(3)] for route in (missing, broken)
    }
    for route, route_ids in ids.items():
        deliver(patient_relay, route, route_ids)

    def refused_twice(route: str) -> bool:
        statuses = [
            a["status"] for a in stub_airflow.state()["attempts"] if a["dag_id"] == dag_id_of(route)
        ]
        return len(statuses) >= 2

    wait_for(lambda: refused_twice(missing) and refused_twice(broken), what="retries")
    assert patient_relay.events(missing, status="dead") == []
    assert patient_relay.events(broken, status="dead") == []
    [open_batch] = patient_relay.batches(broken, status="open")
    assert "import errors" in open_batch["last_error"]

    stub_airflow.configure(missing_dags=[], import_error_dags=[])  # parsed, fixed
    for route, route_ids in ids.items():
        patient_relay.wait_all_dispatched(route, len(route_ids))
        runs = stub_airflow.runs_for(dag_id_of(route))
        delivered = collections.Counter(e["id"] for r in runs for e in r["conf"]["events"])
        assert sorted(delivered) == sorted(route_ids)
        assert set(delivered.values()) == {1}
    statuses = {a["status"] for a in stub_airflow.state()["attempts"]}
    assert statuses == {404, 400, 200}


def test_a_refused_conf_is_bisected_and_only_the_refused_event_is_dead_lettered(
    relay: Relay, stub_airflow: StubAirflow
) -> None:
    route = unique_route()
    integration, instance, flow = route.split("/")
    relay.register(route)  # only a registered route can be paused
    pause = relay.admin("POST", f"/routes/{integration}/{instance}/{flow}/pause")
    pause.raise_for_status()  # held, so the 7 events form one batch
    ids = [f"msg_split_{i}" for i in range(7)]
    for webhook_id in ids:  # one at a time: the batch holds them in this order, so the halves
        assert relay.deliver(route, webhook_id).status_code == 200  # below are known
    stub_airflow.configure(reject_event_ids=["msg_split_4"])
    relay.admin("POST", f"/routes/{integration}/{instance}/{flow}/resume")

    wait_for(lambda: len(relay.events(route, status="dead")) == 1, what="the dead letter")
    relay.wait_all_dispatched(route, 6)
    [dead] = relay.events(route, status="dead")
    assert dead["webhook_id"] == "msg_split_4"
    [dead_batch] = relay.batches(route, status="dead")
    assert dead_batch["event_count"] == 1
    assert "msg_split_4 is malformed" in dead_batch["last_error"]
    runs = stub_airflow.runs_for(dag_id_of(route))
    delivered = collections.Counter(e["id"] for r in runs for e in r["conf"]["events"])
    assert sorted(delivered) == sorted(set(ids) - {"msg_split_4"})
    assert set(delivered.values()) == {1}
    split = relay.batches(route, status="split")
    assert sorted(b["event_count"] for b in split) == [2, 4, 7]
    assert len(runs) <= 3  # bisection, not one run per event: [0-2] [5-6] and [3]


@pytest.mark.postgres
def test_two_dispatchers_on_postgres_keep_at_most_k_waiting_runs_per_route(
    postgres_url: str, tmp_path: Path
) -> None:
    stub = StubAirflow(tmp_path, scheduler={"run_slots": 1, "run_ms": 300, "start_delay_ms": 200})
    ingest = Relay(tmp_path, postgres_url, airflow_url=stub.url, no_dispatcher=True)
    dispatchers = [
        Relay(tmp_path, postgres_url, airflow_url=stub.url, command="dispatch") for _ in range(2)
    ]
    try:
        start_all(stub, ingest, *dispatchers)
        route = unique_route()
        with Sender(ingest, [route], interval=0.01) as sender:
            wait_for(lambda: len(sender.acknowledged) >= 150, what="150 deliveries")
        ingest.wait_all_dispatched(route, len(sender.acknowledged), timeout=120)
        assert stub.summary()["peak_queued"] == 1
        assert_ledger(stub, sender.acknowledged)
        assert all(route_of(i, route) for i in sender.acknowledged)
        for dispatcher in dispatchers:  # both took part
            assert "HTTP 200" in dispatcher.process.log_path.read_text()
    finally:
        stop_all(*dispatchers, ingest, stub)
