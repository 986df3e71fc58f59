"""Faults under load, each checked against the senders' ledger (tests/relay/ledger.py):
SIGKILL of the relay (SQLite; PostgreSQL with two dispatchers), a full disk with recovery
and no restart, and Airflow down for 60 s (PostgreSQL; 20 s on SQLite)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.relay.harness import Relay, StubAirflow, dag_id_of, start_all, unique_route, wait_for
from tests.relay.ledger import (
    Ledger,
    LoadThread,
    all_events,
    assert_ledger,
    runs_by_id,
    wait_until_settled,
)

# The full minute on the production store; on SQLite the same path (dispatcher retries
# with backoff while ingest goes on) is exercised in a third of the time.
DOWN_FOR_S = {"postgres": 60.0, "sqlite": 20.0}
FAST = {"RELAY_LEASE_SECONDS": "3", "RELAY_BATCH_MAX_EVENTS": "50"}
# A minute's backlog is tens of thousands of events; with one run waiting per route
# (adaptive batching) it drains in batches as large as the relay allows, as in production.
BACKLOG = {**FAST, "RELAY_BATCH_MAX_EVENTS": "1000"}


def _load_until(ledger: Ledger, relay: list[Relay], acked: int) -> LoadThread:
    load = LoadThread(ledger, lambda: relay[0])
    load.start()
    wait_for(lambda: len(ledger.acked) >= acked, what=f"{acked} acknowledged deliveries")
    return load


@pytest.mark.slow
def test_sigkill_of_the_relay_under_load_loses_nothing_acknowledged(
    store_kind: str, database_url: str, tmp_path: Path, stub_airflow: StubAirflow
) -> None:
    """SQLite: `serve` with its dispatcher, killed twice. PostgreSQL: ingest plus two
    `dispatch` processes; the ingest and one dispatcher are killed."""
    route = unique_route()
    ledger = Ledger(route)
    postgres = store_kind == "postgres"

    def serve() -> Relay:
        return Relay(
            tmp_path,
            database_url,
            airflow_url=stub_airflow.url,
            no_dispatcher=postgres,
            extra_env=FAST,
        )

    dispatchers = [
        Relay(
            tmp_path, database_url, airflow_url=stub_airflow.url, command="dispatch", extra_env=FAST
        )
        for _ in range(2 if postgres else 0)
    ]
    current = [serve()]
    start_all(current[0], *dispatchers)
    try:
        for round_ in range(2):
            load = _load_until(ledger, current, 300 * (round_ + 1))
            current[0].process.kill()  # SIGKILL under load: no cleanup, no flush
            if postgres and round_ == 0:
                dispatchers[0].process.kill()
            load.stop()
            current[0] = serve().start()
        ledger.resend_unacked(current[0])
        wait_until_settled(current[0], ledger)
        assert_ledger(ledger, current[0], dag_id_of(route), runs_by_id(stub_airflow.state()))
        assert ledger.statuses[200] >= 600
    finally:
        current[0].stop()
        for dispatcher in dispatchers:
            dispatcher.stop()


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


@pytest.mark.slow
def test_full_disk_answers_503_then_recovers_without_restart(
    tmp_path: Path, stub_airflow: StubAirflow
) -> None:
    with small_tmpfs(tmp_path / "disk", "6m") as disk:
        relay = Relay(
            tmp_path,
            f"sqlite:///{disk / 'relay.db'}",
            airflow_url=stub_airflow.url,
            extra_env=FAST,
        ).start()
        try:
            route = unique_route()
            ledger = Ledger(route)
            ledger.send_many(relay, [f"msg_before_{i}" for i in range(50)])
            assert ledger.statuses[200] == 50
            filler = _fill(disk)
            ledger.send_many(relay, [f"msg_full_{i}" for i in range(300)])
            assert ledger.statuses[503] > 0, ledger.statuses  # refused, retry later

            filler.unlink()  # space is back; the same process goes on
            ledger.resend_unacked(relay)
            ledger.send_many(relay, [f"msg_after_{i}" for i in range(50)])
            assert ledger.statuses[0] == 0
            wait_until_settled(relay, ledger)
            assert_ledger(ledger, relay, dag_id_of(route), runs_by_id(stub_airflow.state()))
            assert relay.http.get("/healthz").status_code == 200
        finally:
            relay.stop()


@pytest.mark.slow
def test_airflow_down_under_load_loses_nothing(
    store_kind: str, database_url: str, tmp_path: Path
) -> None:
    stub = StubAirflow(tmp_path)
    relay = Relay(tmp_path, database_url, airflow_url=stub.url, extra_env=BACKLOG)
    start_all(stub, relay)
    route = unique_route()
    ledger = Ledger(route)
    current = [relay]
    try:
        load = _load_until(ledger, current, 100)
        # From here on no trigger is answered 200, so the snapshot below holds every run
        # the relay was told about; held ones are re-sent (same run id) after the outage.
        stub.configure(hold_dags=[dag_id_of(route)])
        before = stub.state()
        stub.stop()
        time.sleep(DOWN_FOR_S[store_kind])  # the outage (ingest goes on under load), not a wait
        stub = StubAirflow(tmp_path, port=stub.port).start()
        load.stop()
        ledger.resend_unacked(relay)
        wait_until_settled(relay, ledger)
        assert_ledger(ledger, relay, dag_id_of(route), runs_by_id(before, stub.state()))
        assert len(all_events(relay, route, status="dead")) == 0
    finally:
        relay.stop()
        stub.stop()
