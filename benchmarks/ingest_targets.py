"""The servers `relay_ingest.py` measures besides the relay itself, each started as a
subprocess of that script (`--serve KIND`): the bare ceiling, the relay's own ingest handler
without its durable write (fixed routes, the registry cached, the registry uncached), and a
naive relay that triggers one DAG run per request."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request

from webhook_relay.routes import Route
from webhook_relay.signatures import SignatureError, new_secret, secret_to_key, verify

ROUTE = "acme-erp/bench-shop/sync-customer-data"
ADMIN_TOKEN = "bench-admin-token"
SECRETS_KEY = "eKgnxD6kUqJ0wJxjDGWqB0jv6sVqv-o6ZTeFJ5CP5xM="  # benchmark stores only
FIXED_SECRET = new_secret()
"""The route secret of the targets without a registry (the relays read theirs at start)."""
KINDS = ("bare", "unstored", "unstored-registry", "unstored-uncached", "naive")


def bare_app():
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]}
        )
        await send({"type": "http.response.body", "body": b""})

    return app


def naive_app(airflow_url: str, secret: str):
    """The obvious relay: verify, then trigger one DAG run per request, then answer."""
    app = FastAPI()
    client = httpx.AsyncClient(base_url=airflow_url, limits=httpx.Limits(max_connections=64))
    token: dict[str, str] = {}

    @app.post("/hooks/{integration}/{instance}/{flow}")
    async def hook(integration: str, instance: str, flow: str, request: Request):
        route = Route(integration, instance, flow)
        raw = await request.body()
        headers = request.headers
        try:
            verify(
                [secret_to_key(secret)],
                headers["webhook-id"],
                headers["webhook-timestamp"],
                headers["webhook-signature"],
                raw,
            )
        except (KeyError, SignatureError):
            raise HTTPException(401, "invalid signature") from None
        event = json.loads(raw)
        if "t" not in token:
            r = await client.post("/auth/token", json={"username": "admin", "password": "admin"})
            token["t"] = r.json()["access_token"]
        response = await client.post(
            f"/api/v2/dags/{route.dag_id}/dagRuns",
            json={
                "dag_run_id": f"naive__{headers['webhook-id']}",
                "logical_date": None,
                "conf": {"events": [{k: event.get(k) for k in ("id", "type", "object_id")}]},
            },
            headers={"Authorization": f"Bearer {token['t']}"},
        )
        if response.status_code not in (200, 409):
            raise HTTPException(502, "airflow failed")
        return {"status": "accepted"}

    return app


class MemoryWriter:
    """Remembers keys instead of storing rows: what ingest costs without durability."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def write(self, row: dict[str, Any]) -> bool:
        key = (row["route"], row["webhook_id"])
        is_new = key not in self.seen
        self.seen.add(key)
        return is_new


class FixedRoutes:
    """A route table in memory: one dict lookup, like the old derived-key cache."""

    def __init__(self, secret: str) -> None:
        from webhook_relay.store.routes_repo import RouteEntry

        self.entries = {ROUTE: RouteEntry(active=True, keys=((secret_to_key(secret), None),))}

    def cached(self, route: str):
        return self.entries.get(route)

    async def load(self, route: str):
        return self.entries.get(route)


def unstored_app(kind: str, secret: str):
    """The relay's own ingest handler (route, registry, headers, signature, JSON, metrics,
    answer) with `MemoryWriter`: the gap between this and the ceiling is request handling,
    the gap between this and the relay is the durable write. `kind` picks the route lookup:
    fixed in memory, the registry (cached), or the registry with its cache off."""
    from webhook_relay.ingest import IngestHandler
    from webhook_relay.registry import MISS, RouteRegistry
    from webhook_relay.secretbox import SecretBox
    from webhook_relay.settings import RelaySettings
    from webhook_relay.store.engine import create_store_engine
    from webhook_relay.store.repository import Store
    from webhook_relay.store.routes_repo import RouteRepository

    settings = RelaySettings()
    if kind == "unstored":
        return IngestHandler(settings, MemoryWriter(), FixedRoutes(secret))  # type: ignore[arg-type]
    store = Store(create_store_engine(settings.resolved_database_url))
    registry = RouteRegistry(RouteRepository(store, SecretBox.from_settings(settings)))
    if kind == "unstored-uncached":
        registry.cached = lambda route: MISS  # type: ignore[method-assign]
    return IngestHandler(settings, MemoryWriter(), registry)


def prepare_registry_store(database_url: str) -> str:
    """A migrated SQLite store with ROUTE registered; returns the route's secret."""
    from webhook_relay.secretbox import SecretBox
    from webhook_relay.store.engine import create_store_engine
    from webhook_relay.store.migrate import upgrade_to_head
    from webhook_relay.store.repository import Store
    from webhook_relay.store.routes_repo import RouteRepository

    engine = create_store_engine(database_url)
    upgrade_to_head(engine)
    repo = RouteRepository(Store(engine), SecretBox([SECRETS_KEY]))
    repo.register([Route.parse(ROUTE)], time.time())
    secret = repo.current_secret(ROUTE)["secret"]
    engine.dispose()
    return secret


def serve_baseline(kind: str, port: int, airflow_url: str, secret: str) -> None:
    import uvicorn

    if kind == "bare":
        app = bare_app()
    elif kind.startswith("unstored"):
        app = unstored_app(kind, secret)
    else:
        app = naive_app(airflow_url, secret)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )
