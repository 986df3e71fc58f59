"""The ASGI application: the ingest hot path in front, FastAPI for everything else.

`RelayApp` sends `/hooks/...` straight to `IngestHandler` and all other traffic
(health, metrics, admin, OpenAPI docs) to FastAPI, whose lifespan starts the group-commit
writer, the route registry's version poll and, unless disabled, the in-process dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from webhook_relay import __version__, metrics
from webhook_relay.admin import router as admin_router
from webhook_relay.admin_quarantine import router as quarantine_router
from webhook_relay.admin_routes import router as routes_router
from webhook_relay.airflow_client import AirflowClient
from webhook_relay.dispatcher import Dispatcher
from webhook_relay.ingest import HOOKS_PREFIX, IngestHandler, Receive, Scope, Send
from webhook_relay.maintenance import prune_periodically, watch_writer
from webhook_relay.registry import RouteRegistry
from webhook_relay.secretbox import SecretBox
from webhook_relay.settings import RelaySettings
from webhook_relay.store.repository import Store
from webhook_relay.store.routes_repo import RouteRepository
from webhook_relay.writer import EventWriter, event_writer

log = logging.getLogger(__name__)


def airflow_client(settings: RelaySettings) -> AirflowClient:
    return AirflowClient(
        settings.airflow_url,
        settings.airflow_username,
        settings.airflow_password,
        timeout=settings.airflow_timeout_seconds,
        max_connections=settings.dispatch_concurrency,
    )


class WakingWriter:
    """The ingest writer, plus a nudge to the in-process dispatcher for every new event, so
    an idle route's first event is dispatched at once rather than at the next poll."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        self.dispatcher: Dispatcher | None = None

    async def start(self) -> None:
        await self.writer.start()

    async def stop(self) -> None:
        await self.writer.stop()

    def alive(self) -> bool:
        return self.writer.alive()

    async def write(self, row: dict[str, Any]) -> bool:
        is_new = await self.writer.write(row)
        if is_new and self.dispatcher is not None:
            self.dispatcher.wake()
        return is_new


class RelayApp:
    def __init__(self, ingest: IngestHandler, api: FastAPI) -> None:
        self.ingest = ingest
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(HOOKS_PREFIX):
            await self.ingest(scope, receive, send)
        else:
            await self.api(scope, receive, send)


def create_app(settings: RelaySettings, store: Store, *, with_dispatcher: bool = True) -> RelayApp:
    writer = WakingWriter(
        event_writer(
            store,
            max_rows=settings.ingest_commit_max_rows,
            max_queue=settings.ingest_queue_max_rows,
        )
    )
    repo = RouteRepository(store, SecretBox.from_settings(settings))
    registry = RouteRegistry(repo, poll_s=settings.registry_poll_ms / 1000)
    lifespan = _lifespan(settings, store, writer, registry, with_dispatcher=with_dispatcher)
    api = FastAPI(title="webhook-relay", version=__version__, lifespan=lifespan)
    api.state.settings = settings
    api.state.store = store
    api.state.dispatcher = None
    api.state.routes_repo = repo
    api.state.registry = registry
    api.include_router(admin_router)
    api.include_router(routes_router)
    api.include_router(quarantine_router)
    _add_health_routes(api, settings, store, writer, with_dispatcher=with_dispatcher)
    metrics.register_store(store)
    return RelayApp(IngestHandler(settings, writer, registry), api)


def _lifespan(
    settings: RelaySettings,
    store: Store,
    writer: WakingWriter,
    registry: RouteRegistry,
    *,
    with_dispatcher: bool,
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """What runs while the app serves: the writer, the registry poll, upkeep, the dispatcher."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await writer.start()
        stop = asyncio.Event()
        await registry.check_version()
        poll = asyncio.create_task(registry.run(stop), name="relay-registry-poll")
        task = client = None
        upkeep = [
            asyncio.create_task(prune_periodically(store, settings, stop)),
            asyncio.create_task(watch_writer(writer.alive, stop)),
        ]
        if with_dispatcher:
            client = airflow_client(settings)
            app.state.dispatcher = writer.dispatcher = Dispatcher(settings, store, client)
            task = asyncio.create_task(app.state.dispatcher.run(stop))
        try:
            yield
        finally:
            stop.set()
            await poll
            if task is not None:
                await task
            writer.dispatcher = None
            if client is not None:
                await client.aclose()
            await asyncio.gather(*upkeep, return_exceptions=True)
            await writer.stop()

    return lifespan


def _add_health_routes(
    api: FastAPI,
    settings: RelaySettings,
    store: Store,
    writer: WakingWriter,
    *,
    with_dispatcher: bool,
) -> None:
    """`/healthz` for the orchestrator's probes and `/metrics` for Prometheus."""

    @api.get("/healthz")
    async def healthz() -> JSONResponse:
        """503 when the ingest writer is dead or the store does not answer in time."""
        problems = [] if writer.alive() else ["ingest writer stopped"]
        try:
            await asyncio.wait_for(
                asyncio.to_thread(store.ping), timeout=settings.health_timeout_seconds
            )
        except Exception as exc:
            problems.append(f"store unreachable ({type(exc).__name__})")
        body = {
            "status": "failing" if problems else "ok",
            "version": __version__,
            "dispatcher": with_dispatcher,
            **({"problems": problems} if problems else {}),
        }
        return JSONResponse(body, status_code=503 if problems else 200)

    @api.get("/metrics")
    async def metrics_endpoint(_request: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, metrics.REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
