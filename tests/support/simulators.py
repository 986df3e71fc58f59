"""Pytest fixtures that run the real Acme ERP and Progix simulators (and a webhook receiver).

Registered for the whole suite in `tests/conftest.py` (`pytest_plugins`). Each simulator is
one real `sandbox acme` / `sandbox progix` process on a free port, started once per test
session; the function-scoped fixtures wipe its data and faults (`POST /_sandbox/reset`)
before handing it to a test, so every test starts from an empty simulator.

Fixtures
--------
``acme_simulator`` -> :class:`AcmeSimulator` (function scope, empty data, no faults)
    Accounts: ``account_id``/``api_key`` ("acme-test") and ``other_account_id``/
    ``other_api_key`` ("acme-other", for isolation tests). Deliveries retry fast
    (first retry after 0.1 s, doubling, at most 1 s apart, 8 attempts).
``progix_simulator`` -> :class:`ProgixSimulator` (function scope, empty data, no faults)
    Tenants: ``tenant_id``/``api_key`` ("progix-test") and ``other_tenant_id``/``other_api_key``.
``webhook_receiver`` -> :class:`WebhookReceiver` (function scope)
    A tiny HTTP server recording every POST (headers + raw body); ``fail_next(n, status)``
    makes it answer the next n requests with an error.
``acme_server`` / ``progix_server``
    The session-scoped processes behind the first two (rarely needed directly).

Helpers
-------
``start_acme(log_dir, extra_args=...)`` / ``start_progix(log_dir, extra_args=...)``
    Context managers starting a private simulator with other flags (e.g. a rate limit at
    start-up, ``--db`` to test restarts); they yield the same handle objects.
``new_webhook_secret()``
    A fresh ``whsec_<base64>`` secret.

AcmeSimulator methods (all raise ``httpx.HTTPStatusError`` on an unexpected status)
    ``client(api_key=None)`` httpx.Client with the base URL and bearer key;
    ``create_customer(**fields)``, ``update_customer(id, **fields)``,
    ``create_item(sku, **fields)``, ``update_item(sku, **fields)``,
    ``create_webhook(url, secret, events=ALL_EVENTS, metadata=None)``, ``list_webhooks()``,
    ``list_all(path, **params)`` (follows every cursor), ``deliveries(webhook_id)``,
    ``set_faults(**settings)`` (replaces all faults: omitted = off), ``clear_faults()``,
    ``stats()``, ``wait_deliveries_drained(timeout=30)``, ``reset()``.
ProgixSimulator methods
    ``client(api_key=None)``, ``batch_upsert(collection, items)`` -> results list,
    ``list_all(collection)``, ``get(collection, external_id)`` -> dict | None,
    ``set_faults(**settings)``, ``clear_faults()``, ``reset()``.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.processes import ManagedProcess, free_port
from sandbox.simulators import acme_command, progix_command, simulator_process
from tests.support.polling import wait_until

ALL_EVENTS = ("customer.created", "customer.updated", "inventory.updated")
ACME_TEST_FLAGS = (
    "--retry-base-seconds",
    "0.1",
    "--retry-max-seconds",
    "1",
    "--max-attempts",
    "8",
)


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass
class _Simulator:
    url: str
    api_key: str
    other_api_key: str
    process: ManagedProcess

    def client(self, api_key: str | None = None) -> httpx.Client:
        """A client for the API, authenticated as the main account (or with `api_key`)."""
        return httpx.Client(
            base_url=self.url,
            headers={"authorization": f"Bearer {api_key or self.api_key}"},
            timeout=30,
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.client() as client:
            response = client.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """Replace the fault settings (`PUT /_sandbox/faults`); omitted knobs are off."""
        response = httpx.put(f"{self.url}/_sandbox/faults", json=settings, timeout=10)
        response.raise_for_status()
        return response.json()

    def clear_faults(self) -> None:
        self.set_faults()

    def reset(self) -> None:
        """Delete every record and restore the start-up faults."""
        httpx.post(f"{self.url}/_sandbox/reset", timeout=30).raise_for_status()


@dataclass
class AcmeSimulator(_Simulator):
    account_id: str = "acme-test"
    other_account_id: str = "acme-other"

    def create_customer(self, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", f"Customer {secrets.token_hex(3)}")
        return self._call("POST", "/v1/customers", json=fields)

    def update_customer(self, customer_id: str, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/v1/customers/{customer_id}", json=fields)

    def create_item(self, sku: str, **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", f"Item {sku}")
        return self._call("POST", "/v1/inventory", json={"sku": sku, **fields})

    def update_item(self, sku: str, **fields: Any) -> dict[str, Any]:
        return self._call("PATCH", f"/v1/inventory/{sku}", json=fields)

    def create_webhook(
        self,
        url: str,
        secret: str,
        events: Sequence[str] = ALL_EVENTS,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {"url": url, "secret": secret, "events": list(events), "metadata": metadata or {}}
        return self._call("POST", "/v1/webhooks", json=body)

    def list_webhooks(self) -> list[dict[str, Any]]:
        return self.list_all("/v1/webhooks")

    def delete_webhook(self, webhook_id: str) -> None:
        """As the customer would in Acme's settings, behind the integration's back."""
        self._call("DELETE", f"/v1/webhooks/{webhook_id}")

    def update_webhook(self, webhook_id: str, **fields: Any) -> dict[str, Any]:
        """Edit a webhook (events, enabled, url, ...) as the customer would in Acme."""
        return self._call("PATCH", f"/v1/webhooks/{webhook_id}", json=fields)

    def list_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every record of a list endpoint, following `next_cursor` to the end."""
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = self._call(
                "GET", path, params={**params, **({"cursor": cursor} if cursor else {})}
            )
            records += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return records

    def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        """A subscription's deliveries (oldest first), each with its `attempts`."""
        return self.list_all(f"/v1/webhooks/{webhook_id}/deliveries", limit=200)

    def stats(self) -> dict[str, int]:
        response = httpx.get(f"{self.url}/_sandbox/stats", timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_deliveries_drained(self, timeout: float = 30.0) -> dict[str, int]:
        """Poll until no delivery is pending (all delivered, failed or cancelled)."""

        def drained() -> dict[str, int] | None:
            stats = self.stats()
            return stats if stats["pending_deliveries"] == 0 else None

        return wait_until(
            drained,
            timeout=timeout,
            what="no pending deliveries",
            interval=0.05,
            details=lambda: f"stats: {self.stats()}",
        )


@dataclass
class ProgixSimulator(_Simulator):
    tenant_id: str = "progix-test"
    other_tenant_id: str = "progix-other"

    def batch_upsert(self, collection: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._call("POST", f"/v1/{collection}:batchUpsert", json={"items": items})["results"]

    def list_all(self, collection: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self._call("GET", f"/v1/{collection}", params=params)
            records += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                return records

    def get(self, collection: str, external_id: str) -> dict[str, Any] | None:
        with self.client() as client:
            response = client.get(f"/v1/{collection}/{external_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()


@contextmanager
def start_acme(
    log_dir: Path, extra_args: Sequence[str] = ACME_TEST_FLAGS
) -> Iterator[AcmeSimulator]:
    """A private Acme simulator process with the two test accounts and `extra_args`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keys = {
        "acme-test": "sk_acme_" + secrets.token_hex(12),
        "acme-other": "sk_acme_" + secrets.token_hex(12),
    }
    argv = acme_command(port=port, accounts=keys.items(), extra_args=extra_args)
    with simulator_process("acme", argv, url=url, log_path=log_dir / "acme.log") as process:
        yield AcmeSimulator(url, keys["acme-test"], keys["acme-other"], process)


@contextmanager
def start_progix(log_dir: Path, extra_args: Sequence[str] = ()) -> Iterator[ProgixSimulator]:
    """A private Progix simulator process with the two test tenants and `extra_args`."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keys = {
        "progix-test": "sk_progix_" + secrets.token_hex(12),
        "progix-other": "sk_progix_" + secrets.token_hex(12),
    }
    argv = progix_command(port=port, tenants=keys.items(), extra_args=extra_args)
    with simulator_process("progix", argv, url=url, log_path=log_dir / "progix.log") as process:
        yield ProgixSimulator(url, keys["progix-test"], keys["progix-other"], process)


@pytest.fixture(scope="session")
def acme_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeSimulator]:
    with start_acme(tmp_path_factory.mktemp("acme")) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def progix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProgixSimulator]:
    with start_progix(tmp_path_factory.mktemp("progix")) as simulator:
        yield simulator


@pytest.fixture
def acme_simulator(acme_server: AcmeSimulator) -> AcmeSimulator:
    """The shared Acme simulator, emptied and without faults."""
    acme_server.reset()
    return acme_server


@pytest.fixture
def progix_simulator(progix_server: ProgixSimulator) -> ProgixSimulator:
    """The shared Progix simulator, emptied and without faults."""
    progix_server.reset()
    return progix_server


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP endpoint that records POSTs and can be told to fail the next few."""

    url: str
    received: list[ReceivedRequest] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._failures = [status] * count

    def _next_status(self) -> int:
        with self._lock:
            return self._failures.pop(0) if self._failures else 204

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.received.append(request)

    def successful(self) -> list[ReceivedRequest]:
        """Requests that were answered 2xx (the ones a real receiver would have processed)."""
        with self._lock:
            return [r for r in self.received if r.headers.get("x-answered") == "2xx"]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[ReceivedRequest]:
        """Poll until at least `count` requests arrived; returns all of them."""

        def arrived() -> list[ReceivedRequest] | None:
            with self._lock:
                return list(self.received) if len(self.received) >= count else None

        return wait_until(
            arrived,
            timeout=timeout,
            what=f"{count} webhook requests",
            interval=0.05,
            details=lambda: f"{len(self.received)} arrived",
        )


@contextmanager
def run_webhook_receiver() -> Iterator[WebhookReceiver]:
    """Serve a WebhookReceiver on a free port until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = receiver._next_status()
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["x-answered"] = "2xx" if 200 <= status < 300 else str(status)
            receiver._record(ReceivedRequest(self.path, headers, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    with run_webhook_receiver() as receiver:
        yield receiver
