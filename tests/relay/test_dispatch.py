"""Dispatch to (stub) Airflow through real processes, on SQLite and PostgreSQL.

Most tests share one relay and one stub Airflow per store and keep apart by using their own
route (hence DAG id); the crash, outage and multi-dispatcher tests start their own.
"""

from __future__ import annotations

import collections
import concurrent.futures
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sandbox.processes import free_port
from tests.relay.harness import (
    Relay,
    StubAirflow,
    dag_id_of,
    fresh_store_url,
    start_all,
    stop_all,
    unique_route,
    wait_for,
)

THIN_KEYS = {"id", "type", "object_id", "occurred_at"}


@pytest.fixture(scope="module")
def module_database(store_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_store_url(store_kind, tmp_path_factory.mktemp("dispatch-db")) as url:
        yield url


@pytest.fixture(scope="module")
def shared(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Relay, StubAirflow]]:
    tmp = tmp_path_factory.mktemp("dispatch")
    stub = StubAirflow(tmp)
    relay = Relay(tmp, module_database, airflow_url=stub.url)
    try:
        start_all(stub, relay)
        yield relay, stub
    finally:
        relay.stop()
        stub.stop()


def deliver_many(relay: Relay, route: str, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}_{i:03d}" for i in range(count)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda i: relay.deliver(route, i), ids))
    assert [r.status_code for r in responses] == [200] * count
    return ids


def assert_each_exactly_once(stub: StubAirflow, dag_id: str, expected: list[str]) -> None:
    counts = collections.Counter(stub.event_ids_in_runs(dag_id))
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}


def test_events_reach_airflow_in_batches_exactly_once(shared) -> None:
    relay, stub = shared
    route = unique_route()
    ids = deliver_many(relay, route, 25, "msg_batch")
    relay.wait_all_dispatched(route, 25)

    dag_id = dag_id_of(route)
    assert_each_exactly_once(stub, dag_id, ids)
    runs = stub.runs_for(dag_id)
    assert all(1 <= len(r["conf"]["events"]) <= 10 for r in runs)  # RELAY_BATCH_MAX_EVENTS
    for run in runs:
        assert run["dag_run_id"] == f"relay__{run['conf']['batch_id']}"
        assert all(set(event) == THIN_KEYS for event in run["conf"]["events"])
    batches = relay.batches(route)
    assert {b["status"] for b in batches} == {"dispatched"}
    assert {b["dag_run_id"] for b in batches} == {r["dag_run_id"] for r in runs}

    metrics = relay.http.get("/metrics").text
    assert 'relay_ingest_requests_total{result="accepted"}' in metrics
    assert "relay_queue_depth " in metrics
    assert 'relay_dispatch_attempts_total{outcome="created"}' in metrics
    assert "relay_dispatch_latency_seconds_count" in metrics


def test_run_created_but_answer_lost_then_409_counts_as_done(shared) -> None:
    relay, stub = shared
    route = unique_route()
    dag_id = dag_id_of(route)
    stub.configure(fail_next={dag_id: [{"status": 503, "after_create": True}]})
    ids = deliver_many(relay, route, 3, "msg_409")
    relay.wait_all_dispatched(route, 3)

    attempts = [a for a in stub.state()["attempts"] if a["dag_id"] == dag_id]
    first_run = [a for a in attempts if a["dag_run_id"] == attempts[0]["dag_run_id"]]
    assert [a["status"] for a in first_run] == [503, 409]
    assert {a["status"] for a in attempts if a not in first_run} <= {200}  # later batches
    assert_each_exactly_once(stub, dag_id, ids)


def test_5xx_and_429_are_retried_honouring_retry_after(shared) -> None:
    relay, stub = shared
    route = unique_route()
    dag_id = dag_id_of(route)
    stub.configure(fail_next={dag_id: [{"status": 500}, {"status": 429, "retry_after": 2}]})
    ids = deliver_many(relay, route, 2, "msg_retry")
    relay.wait_all_dispatched(route, 2)

    attempts = [a for a in stub.state()["attempts"] if a["dag_id"] == dag_id]
    assert [a["status"] for a in attempts[:3]] == [500, 429, 200]
    assert len({a["dag_run_id"] for a in attempts[:3]}) == 1  # one batch, retried
    assert {a["status"] for a in attempts[3:]} <= {200}  # an event that arrived meanwhile
    after_429 = datetime.fromisoformat(attempts[2]["at"]) - datetime.fromisoformat(
        attempts[1]["at"]
    )
    assert after_429.total_seconds() >= 1.9
    assert_each_exactly_once(stub, dag_id, ids)


def test_expired_token_is_refreshed_once(shared) -> None:
    relay, stub = shared
    route = unique_route()
    deliver_many(relay, route, 1, "msg_tok_a")
    relay.wait_all_dispatched(route, 1)
    tokens_before = stub.state()["token_requests"]

    stub.configure(expire_tokens=True)
    deliver_many(relay, route, 1, "msg_tok_b")
    relay.wait_all_dispatched(route, 2)

    assert stub.state()["token_requests"] == tokens_before + 1
    statuses = [a["status"] for a in stub.state()["attempts"] if a["dag_id"] == dag_id_of(route)]
    assert statuses == [200, 200]  # the 401 was answered before a run was recorded


def test_unknown_dag_is_dead_lettered_and_replays_with_a_new_run_id(shared) -> None:
    """A 404 may be a DAG being parsed: retried for RELAY_TRANSIENT_RETRY_SECONDS (2 s
    here), then dead-lettered with the reason."""
    relay, stub = shared
    route = unique_route()
    dag_id = dag_id_of(route)
    stub.configure(missing_dags=[dag_id])
    ids = deliver_many(relay, route, 3, "msg_dead")
    wait_for(lambda: len(relay.events(route, status="dead")) == 3, what="dead letters")

    dead_batches = relay.batches(route, status="dead")
    for dead_batch in dead_batches:
        assert "gave up after" in dead_batch["last_error"]
        assert "unknown DAG" in dead_batch["last_error"]
        assert dead_batch["attempts"] >= 2  # retried before giving up
    assert stub.runs_for(dag_id) == []
    metrics = relay.http.get("/metrics").text
    assert any(
        line.startswith("relay_dead_letters ") and float(line.split()[1]) >= 3
        for line in metrics.splitlines()
    )

    stub.configure(missing_dags=[])  # the DAG got deployed
    response = relay.admin("POST", "/replay", json={"dead_letters": True, "route": route})
    assert response.json() == {"replayed": 3}
    relay.wait_all_dispatched(route, 3)

    [run] = stub.runs_for(dag_id)
    assert run["dag_run_id"] not in {b["dag_run_id"] for b in dead_batches}
    assert_each_exactly_once(stub, dag_id, ids)
    assert {e["replays"] for e in relay.events(route)} == {1}


def test_conf_rejected_by_the_dag_is_dead_lettered_with_the_reason(shared) -> None:
    """Airflow refuses every conf: bisection ends with each event dead-lettered alone."""
    relay, stub = shared
    route = unique_route()
    stub.configure(reject_conf_dags=[dag_id_of(route)])
    deliver_many(relay, route, 2, "msg_conf")
    wait_for(lambda: len(relay.events(route, status="dead")) == 2, what="dead letters")
    dead = relay.batches(route, status="dead")
    assert sorted(b["event_count"] for b in dead) == [1, 1]
    for batch in dead:
        assert "Airflow rejected the run" in batch["last_error"]
        assert "Invalid input for param" in batch["last_error"]
    assert {b["status"] for b in relay.batches(route)} <= {"dead", "split"}
    stub.configure(reject_conf_dags=[])


def test_paused_route_keeps_accepting_and_dispatches_after_resume(shared) -> None:
    relay, stub = shared
    paused, control = unique_route(), unique_route()
    relay.register(paused)
    integration, instance, flow = paused.split("/")
    response = relay.admin("POST", f"/routes/{integration}/{instance}/{flow}/pause")
    assert response.json() == {"route": paused, "paused": True}

    ids = deliver_many(relay, paused, 4, "msg_paused")
    deliver_many(relay, control, 1, "msg_control")
    relay.wait_all_dispatched(control, 1)  # the dispatcher has had its chance

    assert {e["status"] for e in relay.events(paused)} == {"pending"}
    assert stub.runs_for(dag_id_of(paused)) == []
    assert paused in relay.admin("GET", "/stats").json()["paused_routes"]

    relay.admin("POST", f"/routes/{integration}/{instance}/{flow}/resume")
    relay.wait_all_dispatched(paused, 4)
    assert_each_exactly_once(stub, dag_id_of(paused), ids)


def test_replaying_selected_events_sends_them_in_a_new_run(shared) -> None:
    relay, stub = shared
    route = unique_route()
    dag_id = dag_id_of(route)
    deliver_many(relay, route, 2, "msg_pick")
    relay.wait_all_dispatched(route, 2)
    picked = next(e for e in relay.events(route) if e["webhook_id"] == "msg_pick_000")

    runs_before = stub.runs_for(dag_id)
    response = relay.admin("POST", "/replay", json={"event_ids": [picked["id"]]})
    assert response.json() == {"replayed": 1}
    wait_for(lambda: len(stub.runs_for(dag_id)) == len(runs_before) + 1, what="the replay run")
    relay.wait_all_dispatched(route, 2)

    *_, replay = sorted(stub.runs_for(dag_id), key=lambda r: r["queued_at"])
    assert [e["id"] for e in replay["conf"]["events"]] == ["msg_pick_000"]
    assert replay["dag_run_id"] not in {r["dag_run_id"] for r in runs_before}


def test_airflow_down_then_up_delivers_everything_once(database_url: str, tmp_path: Path) -> None:
    stub = StubAirflow(tmp_path, port=free_port())  # not started yet: connection refused
    relay = Relay(tmp_path, database_url, airflow_url=stub.url).start()
    try:
        route = unique_route()
        ids = deliver_many(relay, route, 30, "msg_outage")  # ingest does not need Airflow
        wait_for(
            lambda: any(
                b["attempts"] >= 1 and "ConnectError" in (b["last_error"] or "")
                for b in relay.batches(route)
            ),
            what="a failed attempt while Airflow is down",
        )
        assert relay.events(route, status="dispatched") == []

        stub.start()
        relay.wait_all_dispatched(route, 30)
        assert_each_exactly_once(stub, dag_id_of(route), ids)
        assert {a["status"] for a in stub.state()["attempts"]} == {200}
    finally:
        relay.stop()
        stub.stop()


def test_dispatcher_killed_mid_batch_loses_and_duplicates_nothing(
    database_url: str, tmp_path: Path, stub_airflow: StubAirflow
) -> None:
    route = unique_route()
    dag_id = dag_id_of(route)
    # Fixed-window batching with only full batches (10 events) and a short lease; Airflow
    # creates runs, answers later. (test_flow_control has the adaptive mode's crash test.)
    env = {
        "RELAY_BATCH_MODE": "fixed",
        "RELAY_LEASE_SECONDS": "3",
        "RELAY_BATCH_MAX_WAIT_MS": "600000",
    }
    stub_airflow.configure(hold_dags=[dag_id])
    ingest = Relay(tmp_path, database_url, airflow_url=stub_airflow.url, no_dispatcher=True)
    first, second = (
        Relay(
            tmp_path, database_url, airflow_url=stub_airflow.url, command="dispatch", extra_env=env
        )
        for _ in range(2)
    )
    try:
        start_all(ingest, first)
        ids = deliver_many(ingest, route, 20, "msg_crash")
        wait_for(lambda: stub_airflow.state()["held"] == 2, what="two batches in flight")

        first.process.kill()  # SIGKILL: no cleanup, leases stay taken
        stub_airflow.configure(hold_dags=[])
        assert {e["status"] for e in ingest.events(route)} == {"batched"}

        second.start()
        ingest.wait_all_dispatched(route, 20)
        assert_each_exactly_once(stub_airflow, dag_id, ids)
        attempts = [a for a in stub_airflow.state()["attempts"] if a["dag_id"] == dag_id]
        assert sorted(a["status"] for a in attempts) == [200, 200, 409, 409]
        assert {b["status"] for b in ingest.batches(route)} == {"dispatched"}
    finally:
        second.stop()
        first.stop()
        ingest.stop()


@pytest.mark.postgres
def test_two_dispatchers_on_postgres_never_send_an_event_twice(
    postgres_url: str, tmp_path: Path
) -> None:
    stub = StubAirflow(tmp_path, latency_ms="50-100")
    env = {"RELAY_DISPATCH_CONCURRENCY": "2", "RELAY_BATCH_MAX_WAIT_MS": "50"}
    ingest = Relay(tmp_path, postgres_url, airflow_url=stub.url, no_dispatcher=True)
    dispatchers = [
        Relay(tmp_path, postgres_url, airflow_url=stub.url, command="dispatch", extra_env=env)
        for _ in range(2)
    ]
    try:
        start_all(stub, ingest, *dispatchers)
        routes = [unique_route() for _ in range(3)]
        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            sent = dict(
                zip(
                    routes,
                    pool.map(lambda r: deliver_many(ingest, r, 60, "msg_pg"), routes),
                    strict=True,
                )
            )
        for route in routes:
            ingest.wait_all_dispatched(route, 60, timeout=120)

        attempts = stub.state()["attempts"]
        assert {a["status"] for a in attempts} == {200}  # no resend, so no 409
        for route, ids in sent.items():
            in_attempts = [
                e["id"]
                for a in attempts
                if a["dag_id"] == dag_id_of(route)
                for e in a["conf"]["events"]
            ]
            assert sorted(in_attempts) == sorted(ids)  # every event sent exactly once
        for dispatcher in dispatchers:  # both really took part
            assert "HTTP 200" in dispatcher.process.log_path.read_text()
    finally:
        stop_all(*dispatchers, ingest, stub)
