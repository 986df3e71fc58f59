"""/healthz fails while the store is unreachable and recovers with it; a dead ingest writer
makes the process exit so its supervisor restarts it."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from sandbox.processes import free_port
from tests.relay.harness import Relay, _postgres_admin, unique_route, wait_for
from webhook_relay import maintenance


@pytest.mark.postgres
def test_healthz_fails_while_postgres_refuses_connections_and_recovers(
    postgres_url: str, tmp_path: Path
) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    relay = Relay(
        tmp_path,
        postgres_url,
        airflow_url=f"http://127.0.0.1:{free_port()}",
        no_dispatcher=True,
        extra_env={"RELAY_PG_CONNECT_TIMEOUT_SECONDS": "2"},
    ).start()
    try:
        assert relay.http.get("/healthz").status_code == 200
        route = unique_route()
        relay.register(route)  # while the store answers: registration needs it
        _postgres_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
        _postgres_admin(f"{terminate}'{database}' AND pid <> pg_backend_pid()")
        failing = wait_for(
            lambda: (r := relay.http.get("/healthz")).status_code == 503 and r,
            what="/healthz failing",
        )
        assert "store unreachable" in failing.json()["problems"][0]
        answer = relay.deliver(route, "msg_down")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"

        _postgres_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        wait_for(lambda: relay.http.get("/healthz").status_code == 200, what="recovery")
        assert relay.deliver(route, "msg_up").status_code == 200
    finally:
        _postgres_admin(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        relay.stop()


def test_a_dead_writer_asks_the_process_to_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mocked os.kill: the one edge case a real peer cannot produce on demand."""
    sent: list[int] = []
    monkeypatch.setattr(maintenance.os, "kill", lambda _pid, sig: sent.append(sig))
    asyncio.run(maintenance.watch_writer(lambda: False, asyncio.Event(), every=0.01))
    assert sent == [signal.SIGTERM]


def test_healthz_is_ok_with_a_live_writer(relay: Relay) -> None:
    response = httpx.get(f"{relay.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
