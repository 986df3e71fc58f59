"""Real relay and stub-Airflow processes for the relay tests, and a signing client."""

from __future__ import annotations

import collections
import functools
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from sandbox.processes import ManagedProcess, free_port
from tests.support.polling import wait_until
from webhook_relay.signatures import new_secret, secret_to_key, sign
from webhook_relay.store.engine import create_store_engine
from webhook_relay.store.migrate import upgrade_to_head
from webhook_relay.store.repository import Store

# Fernet keys for route secrets at rest (fixed so a test can restart a relay on one store).
SECRETS_KEY = "eKgnxD6kUqJ0wJxjDGWqB0jv6sVqv-o6ZTeFJ5CP5xM="
OLD_SECRETS_KEY = "bWx9m6yZ3DkXyZ3lHhX7uQqJ8rH1c0q8pB3m5W2aXkE="
ADMIN_TOKEN = "test-admin-token"
REGISTRAR_TOKEN = "test-registrar-token"
AIRFLOW_USER, AIRFLOW_PASSWORD = "relay", "relay-airflow-password"


# Relay tests poll a local process: every 0.1 s, for at most a minute unless told otherwise.
wait_for = functools.partial(wait_until, timeout=60.0, interval=0.1)


def start_all(*services: StubAirflow | Relay) -> None:
    """Start processes side by side (imports dominate start-up), then wait for each."""
    for service in services:
        service.start(wait=False)
    for service in services:
        service.process.wait_ready()


def stop_all(*services: StubAirflow | Relay) -> None:
    """Stop processes in the order given (dispatchers before the ingest they drain)."""
    for service in services:
        service.stop()


def unique_route(flow: str = "sync-customer-data") -> str:
    return f"acme-erp/shop-{uuid.uuid4().hex[:10]}/{flow}"


def dag_id_of(route: str) -> str:
    return "__".join(p.replace("-", "_") for p in route.split("/"))


class StubAirflow:
    """The stub Airflow; `scheduler` flags (`--run-slots`, `--run-ms`, `--start-delay-ms`)
    give it a run capacity (default: any number of runs, each finished at once)."""

    def __init__(
        self,
        tmp: Path,
        *,
        port: int | None = None,
        latency_ms: str = "0",
        scheduler: dict[str, float] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            f"stub-airflow-{self.port}",
            [
                sys.executable,
                "-m",
                "webhook_relay.testing.stub_airflow",
                "--port",
                str(self.port),
                "--username",
                AIRFLOW_USER,
                "--password",
                AIRFLOW_PASSWORD,
                "--latency-ms",
                latency_ms,
                *(
                    arg
                    for key, value in (scheduler or {}).items()
                    for arg in (f"--{key.replace('_', '-')}", str(value))
                ),
            ],
            log_path=tmp / f"stub-airflow-{self.port}.log",
            ready_url=f"{self.url}/api/v2/monitor/health",
        )

    def start(self, *, wait: bool = True) -> StubAirflow:
        self.process.start(wait=wait)
        return self

    def stop(self) -> None:
        self.process.stop()

    def state(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_stub/runs", timeout=10).json()

    def configure(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/_stub/configure", json=changes, timeout=10).raise_for_status()

    def summary(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/_stub/summary", timeout=10).json()

    def runs_for(self, dag_id: str) -> list[dict[str, Any]]:
        return [r for r in self.state()["runs"] if r["dag_id"] == dag_id]

    def event_ids_in_runs(self, dag_id: str) -> list[str]:
        return [e["id"] for r in self.runs_for(dag_id) for e in r["conf"]["events"]]


class Relay:
    """`webhook-relay serve` (or `dispatch`) as a real process, plus an HTTP client for it."""

    def __init__(
        self,
        tmp: Path,
        database_url: str,
        *,
        airflow_url: str,
        command: str = "serve",
        no_dispatcher: bool = False,
        secrets_keys: str = SECRETS_KEY,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, "-m", "webhook_relay.cli", command]
        if command == "serve":
            argv += ["--host", "127.0.0.1", "--port", str(self.port)]
            if no_dispatcher:
                argv.append("--no-dispatcher")
        self.env = {
            "RELAY_STATE_DIR": str(tmp),
            "RELAY_DATABASE_URL": database_url,
            "RELAY_SECRETS_KEYS": secrets_keys,
            "RELAY_PUBLIC_URL": self.url,
            "RELAY_AIRFLOW_URL": airflow_url,
            "RELAY_AIRFLOW_USERNAME": AIRFLOW_USER,
            "RELAY_AIRFLOW_PASSWORD": AIRFLOW_PASSWORD,
            "RELAY_ADMIN_TOKEN": ADMIN_TOKEN,
            "RELAY_REGISTRAR_TOKEN": REGISTRAR_TOKEN,
            "RELAY_BATCH_MAX_EVENTS": "10",
            "RELAY_BATCH_MAX_WAIT_MS": "100",
            "RELAY_DISPATCH_POLL_MS": "50",
            "RELAY_RETRY_BASE_SECONDS": "0.2",
            "RELAY_RETRY_MAX_SECONDS": "1",
            "RELAY_TRANSIENT_RETRY_SECONDS": "2",
            "RELAY_RUN_POLL_MS": "100",
            **(extra_env or {}),
        }
        name = f"relay-{command}-{uuid.uuid4().hex[:6]}"
        self.process = ManagedProcess(
            name,
            argv,
            log_path=tmp / f"{name}.log",
            env=self.env,
            ready_url=f"{self.url}/healthz" if command == "serve" else None,
            ready_timeout=90,
        )
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self.secrets: dict[str, str] = {}

    def start(self, *, wait: bool = True) -> Relay:
        self.process.start(wait=wait)
        return self

    def stop(self) -> None:
        self.http.close()
        self.process.stop()

    # --- ingest -----------------------------------------------------------------------

    def deliver(
        self,
        route: str,
        webhook_id: str | None = None,
        *,
        body: bytes | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
        register: bool = True,
    ) -> httpx.Response:
        """POST one delivery signed the way Acme signs it (override any part).

        The route is registered first unless `register=False`; then, without a `secret`,
        the delivery is signed with a random one (what a stray sender would have)."""
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        if body is None:
            body = thin_event_body(webhook_id)
        if secret is None:
            secret = self.register(route) if register else self.secrets.get(route, new_secret())
        ts = int(time.time()) if timestamp is None else timestamp
        signed = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": sign(secret_to_key(secret), webhook_id, ts, body),
            "content-type": "application/json",
        }
        signed.update(headers or {})
        return self.http.post(f"/hooks/{route}", content=body, headers=signed)

    # --- registry ---------------------------------------------------------------------

    def register(self, route: str) -> str:
        """Register `route` (idempotent) and return its current secret."""
        if route not in self.secrets:
            self.admin("PUT", f"/routes/{route}").raise_for_status()
            self.secrets[route] = self.current_secret(route)
        return self.secrets[route]

    def current_secret(self, route: str) -> str:
        response = self.admin("GET", f"/routes/{route}/secret")
        response.raise_for_status()
        return response.json()["secret"]

    # --- admin ------------------------------------------------------------------------

    def admin(
        self, method: str, path: str, *, token: str = ADMIN_TOKEN, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.request(method, f"/admin{path}", headers=headers, **kwargs)

    def events(self, route: str, **filters: Any) -> list[dict[str, Any]]:
        response = self.admin("GET", "/events", params={"route": route, "limit": 1000, **filters})
        response.raise_for_status()
        return response.json()["events"]

    def batches(self, route: str, **filters: Any) -> list[dict[str, Any]]:
        response = self.admin("GET", "/batches", params={"route": route, **filters})
        response.raise_for_status()
        return response.json()["batches"]

    def wait_all_dispatched(self, route: str, count: int, timeout: float = 60.0) -> None:
        wait_for(
            lambda: len(self.events(route, status="dispatched")) == count,
            timeout=timeout,
            what=f"{count} dispatched events on {route}",
        )


def assert_ledger(stub: StubAirflow, expected: list[str]) -> None:
    """Every acknowledged id is in exactly one of the stub's runs, and nothing else is."""
    counts = collections.Counter(e["id"] for r in stub.state()["runs"] for e in r["conf"]["events"])
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}


class Sender:
    """Delivers events to several routes from a thread until stopped; remembers every id
    answered 200 (the client-side ledger)."""

    def __init__(self, relay: Relay, routes: list[str], interval: float) -> None:
        self.relay, self.routes, self.interval = relay, routes, interval
        self.acknowledged: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            for route in self.routes:
                webhook_id = f"msg_{route.split('/')[1]}_{n:05d}"
                try:
                    status = self.relay.deliver(route, webhook_id).status_code
                except Exception:  # the relay may be restarting: the sender retries later
                    status = 0
                if status == 200:
                    self.acknowledged.append(webhook_id)
                else:
                    self.failed += 1
            n += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> Sender:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def route_of(webhook_id: str, route: str) -> bool:
    return webhook_id.startswith(f"msg_{route.split('/')[1]}_")


POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def fresh_store_url(store_kind: str, directory: Path) -> Iterator[str]:
    """An empty store's URL: a SQLite file in `directory`, or a new PostgreSQL database that
    is dropped afterwards."""
    if store_kind == "sqlite":
        yield f"sqlite:///{directory / 'relay.db'}"
        return
    name = f"relay_test_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_store(url: str) -> Iterator[Store]:
    """A `Store` on `url` with the schema at head, for in-process tests."""
    engine = create_store_engine(url)
    upgrade_to_head(engine)
    try:
        yield Store(engine)
    finally:
        engine.dispose()


def event_row(route: str, webhook_id: str, **overrides: Any) -> dict[str, Any]:
    """A row as the ingest handler hands it to a writer."""
    return {
        "route": route,
        "webhook_id": webhook_id,
        "event_type": "customer.updated",
        "object_id": "cust-1",
        "occurred_at": "2026-11-28T12:00:00Z",
        "payload": f'{{"id": "{webhook_id}"}}',
        "status": "pending",
        "quarantine_reason": None,
        "received_at": time.time(),
        **overrides,
    }


def _postgres_admin(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(POSTGRES_ADMIN_DSN)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(statement)
    conn.close()


def thin_event_body(webhook_id: str, **overrides: Any) -> bytes:
    event = {
        "id": webhook_id,
        "type": "customer.updated",
        "object_id": f"cust-{webhook_id[-6:]}",
        "occurred_at": "2026-11-28T12:00:00Z",
        "account_id": "acct-1",
        **overrides,
    }
    return json.dumps(event).encode()


@contextmanager
def ingest_only_relay(
    tmp: Path, database_url: str | None = None, *, extra_env: dict[str, str] | None = None
) -> Iterator[Relay]:
    """A real relay without a dispatcher (its Airflow URL answers nothing), on `database_url`
    (default: a SQLite file in `tmp`): for tests of what it serves itself, such as routes,
    secrets, ingest, health and metrics."""
    relay = Relay(
        tmp,
        database_url or f"sqlite:///{tmp / 'relay.db'}",
        airflow_url=f"http://127.0.0.1:{free_port()}",
        no_dispatcher=True,
        extra_env=extra_env,
    ).start()
    try:
        yield relay
    finally:
        relay.stop()
