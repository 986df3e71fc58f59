"""Adaptive batching against a stub Airflow with a run capacity, over real sockets, on SQLite
and PostgreSQL: an idle route is dispatched at once, a route has at most K runs waiting to
start, the flow window follows Airflow's capacity, and nothing is lost or doubled when a
dispatcher is killed."""

from __future__ import annotations

import collections
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
    unique_route,
    wait_for,
)

QUIET_POLL = {"RELAY_DISPATCH_POLL_MS": "600000", "RELAY_BATCH_MAX_WAIT_MS": "600000"}


@pytest.fixture
def slow_airflow(tmp_path: Path) -> Iterator[StubAirflow]:
    """One run at a time, each queued at least 0.2 s and running 0.4 s (2.5 runs/s at most)."""
    stub = StubAirflow(tmp_path, scheduler={"run_slots": 1, "run_ms": 400, "start_delay_ms": 200})
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


def test_an_idle_routes_first_event_is_dispatched_at_once(
    database_url: str, tmp_path: Path, stub_airflow: StubAirflow
) -> None:
    """No poll and no batching window would fire within the test (600 s): the event reaches
    Airflow only because a stored event wakes the dispatcher. Fixed-window batching, with the
    same settings, keeps it."""
    adaptive = Relay(tmp_path, database_url, airflow_url=stub_airflow.url, extra_env=QUIET_POLL)
    adaptive.start()
    try:
        route = unique_route()
        assert adaptive.deliver(route, "msg_idle_1").status_code == 200
        adaptive.wait_all_dispatched(route, 1, timeout=30)
        [run] = stub_airflow.runs_for(dag_id_of(route))
        assert [e["id"] for e in run["conf"]["events"]] == ["msg_idle_1"]
    finally:
        adaptive.stop()

    fixed_env = {**QUIET_POLL, "RELAY_BATCH_MODE": "fixed"}
    fixed = Relay(tmp_path, database_url, airflow_url=stub_airflow.url, extra_env=fixed_env)
    fixed.start()
    try:
        route = unique_route()
        assert fixed.deliver(route, "msg_idle_2").status_code == 200
        control = unique_route()  # a full batch (10 events) is formed at once, in fixed mode too
        for i in range(10):
            assert fixed.deliver(control, f"msg_full_{i}").status_code == 200
        fixed.wait_all_dispatched(control, 10, timeout=30)
        assert [e["status"] for e in fixed.events(route)] == ["pending"]
    finally:
        fixed.stop()


def test_a_route_has_at_most_k_waiting_runs_and_its_batches_grow(
    database_url: str, tmp_path: Path, slow_airflow: StubAirflow
) -> None:
    env = {"RELAY_BATCH_MAX_EVENTS": "100", "RELAY_MAX_WAITING_RUNS": "1"}
    relay = Relay(tmp_path, database_url, airflow_url=slow_airflow.url, extra_env=env).start()
    try:
        route = unique_route()
        with Sender(relay, [route], interval=0.02) as sender:
            wait_for(lambda: len(sender.acknowledged) >= 150, what="150 deliveries")
        relay.wait_all_dispatched(route, len(sender.acknowledged))

        summary = slow_airflow.summary()
        assert summary["peak_queued"] == 1  # never two runs of the route waiting
        runs = slow_airflow.runs_for(dag_id_of(route))
        sizes = [len(r["conf"]["events"]) for r in runs]
        assert max(sizes) > 1
        assert len(runs) < len(sender.acknowledged) / 3
        assert summary["list_calls"] > 0  # states came from the bulk endpoint
        assert summary["task_list_calls"] > 0  # and task starts from the bulk task listing
        assert_ledger(slow_airflow, sender.acknowledged)
    finally:
        relay.stop()


def test_k_is_a_setting(database_url: str, tmp_path: Path, slow_airflow: StubAirflow) -> None:
    env = {"RELAY_BATCH_MAX_EVENTS": "3", "RELAY_MAX_WAITING_RUNS": "2"}
    relay = Relay(tmp_path, database_url, airflow_url=slow_airflow.url, extra_env=env).start()
    try:
        route = unique_route()
        with Sender(relay, [route], interval=0.01) as sender:
            wait_for(lambda: len(sender.acknowledged) >= 60, what="60 deliveries")
        relay.wait_all_dispatched(route, len(sender.acknowledged))
        assert slow_airflow.summary()["peak_queued"] == 2
        assert_ledger(slow_airflow, sender.acknowledged)
    finally:
        relay.stop()


def flow_window(relay: Relay) -> float:
    for line in relay.http.get("/metrics").text.splitlines():
        if line.startswith("relay_flow_window "):
            return float(line.split()[1])
    raise AssertionError("no relay_flow_window metric")


def test_the_flow_window_follows_airflows_capacity(database_url: str, tmp_path: Path) -> None:
    """Twelve busy routes. With 6 run slots Airflow starts runs as fast as they come and the
    window opens; with 1 slot runs queue, the window closes and Airflow's queue stays below
    what K=1 per route alone would allow (12); with 6 slots again it reopens."""
    stub = StubAirflow(tmp_path, scheduler={"run_slots": 6, "run_ms": 300, "start_delay_ms": 50})
    env = {"RELAY_FLOW_QUEUE_TARGET_SECONDS": "1", "RELAY_FLOW_WINDOW_INITIAL": "2"}
    relay = Relay(tmp_path, database_url, airflow_url=stub.url, extra_env=env)
    try:
        start_all(stub, relay)
        routes = [unique_route() for _ in range(12)]
        with Sender(relay, routes, interval=0.05) as sender:
            wide = wait_for(lambda: flow_window(relay) >= 8 and flow_window(relay), what="open")
            stub.configure(run_slots=1, run_ms=600)
            narrow = wait_for(lambda: flow_window(relay) <= 3 and flow_window(relay), what="close")
            stub.configure(reset_peak=True)
            started = stub.summary()["started"]
            wait_for(lambda: stub.summary()["started"] >= started + 10, what="10 slow runs")
            peak_when_slow = stub.summary()["peak_queued"]
            stub.configure(run_slots=6, run_ms=300)
            wait_for(lambda: flow_window(relay) >= 8, what="the window to reopen")
        for route in routes:
            relay.wait_all_dispatched(
                route, sum(1 for i in sender.acknowledged if route_of(i, route))
            )
        assert narrow < wide
        assert peak_when_slow < len(routes)
        assert_ledger(stub, sender.acknowledged)
    finally:
        relay.stop()
        stub.stop()


def test_killed_dispatcher_under_load_loses_and_duplicates_nothing(
    database_url: str, tmp_path: Path, slow_airflow: StubAirflow
) -> None:
    """SIGKILL a dispatcher while its triggers hang in Airflow and events keep arriving; a
    second dispatcher takes over the expired leases: every acknowledged event is in exactly
    one run (re-sends hit 409)."""
    routes = [unique_route() for _ in range(3)]
    slow_airflow.configure(hold_dags=[dag_id_of(r) for r in routes])
    env = {"RELAY_LEASE_SECONDS": "3"}
    ingest = Relay(tmp_path, database_url, airflow_url=slow_airflow.url, no_dispatcher=True)
    first, second = (
        Relay(
            tmp_path, database_url, airflow_url=slow_airflow.url, command="dispatch", extra_env=env
        )
        for _ in range(2)
    )
    try:
        start_all(ingest, first)
        with Sender(ingest, routes, interval=0.02) as sender:
            wait_for(lambda: slow_airflow.state()["held"] == 3, what="three triggers in flight")
            first.process.kill()  # SIGKILL: no cleanup, leases stay taken
            slow_airflow.configure(hold_dags=[])
            second.start()
            taken_over = len(sender.acknowledged)
            wait_for(lambda: len(sender.acknowledged) >= taken_over + 30, what="more events")
        for route in routes:
            count = sum(1 for i in sender.acknowledged if route_of(i, route))
            ingest.wait_all_dispatched(route, count, timeout=90)
        assert_ledger(slow_airflow, sender.acknowledged)
        statuses = collections.Counter(a["status"] for a in slow_airflow.state()["attempts"])
        assert statuses[409] == 3  # the killed dispatcher's three batches, re-sent
        assert set(statuses) == {200, 409}
    finally:
        second.stop()
        first.stop()
        ingest.stop()


def test_a_dag_paused_in_airflow_holds_only_its_own_route(
    database_url: str, tmp_path: Path, stub_airflow: StubAirflow
) -> None:
    """A window of one run, and one route whose DAG is paused in Airflow (its run stays
    queued): once that run counts as stuck (30 queue targets, 3 s here) it leaves the
    window, so the other routes' events still flow; the paused route keeps its one run."""
    paused, others = unique_route(), [unique_route() for _ in range(3)]
    stub_airflow.configure(paused_dags=[dag_id_of(paused)])
    env = {
        "RELAY_FLOW_WINDOW_INITIAL": "1",
        "RELAY_FLOW_WINDOW_MAX": "1",
        "RELAY_FLOW_QUEUE_TARGET_SECONDS": "0.1",
    }
    relay = Relay(tmp_path, database_url, airflow_url=stub_airflow.url, extra_env=env).start()
    try:
        assert relay.deliver(paused, "msg_paused_0").status_code == 200
        wait_for(lambda: len(stub_airflow.runs_for(dag_id_of(paused))) == 1, what="its run")
        assert relay.deliver(paused, "msg_paused_1").status_code == 200
        for route in others:
            for i in range(3):
                assert relay.deliver(route, f"msg_{route.split('/')[1]}_{i}").status_code == 200
        for route in others:
            relay.wait_all_dispatched(route, 3)
        assert len(stub_airflow.runs_for(dag_id_of(paused))) == 1  # K=1: still waiting
        assert [e["status"] for e in relay.events(paused, webhook_id="msg_paused_1")] == ["pending"]

        stub_airflow.configure(paused_dags=[])  # unpaused: the run starts, the next follows
        relay.wait_all_dispatched(paused, 2)
    finally:
        relay.stop()
