"""Admin API, admin token only: inspect events and batches, replay (quarantined events are
re-checked first), prune, stats. Route management (the registry, secrets, pause/resume) is
in `admin_routes` and the quarantine listing in `admin_quarantine`, both open to the
registrar token as well.

Bad input is a 4xx that changes nothing: ids are bounded to what the store's 64-bit ids
hold, and NUL in a path or query value (PostgreSQL refuses it in text) is a 400.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, model_validator

from webhook_relay.auth import require_admin
from webhook_relay.routes import InvalidRoute, Route
from webhook_relay.store.repository import Store

EventStatus = Literal[
    "pending", "batched", "dispatched", "dead", "quarantined", "pruned", "discarded"
]
BatchStatus = Literal["open", "dispatched", "dead", "split", "discarded"]
MAX_ID = 2**63 - 1
EventIdValue = Annotated[int, Field(ge=1, le=MAX_ID)]


async def refuse_nul(request: Request) -> None:
    """Runs before the route's own parameters are validated, so nothing reaches the store."""
    values = [request.url.path, *request.query_params.keys(), *request.query_params.values()]
    if any("\x00" in value for value in values):
        raise HTTPException(400, "NUL (%00) is not allowed in paths or query values")


router = APIRouter(
    prefix="/admin", dependencies=[Depends(refuse_nul), Depends(require_admin)], tags=["admin"]
)


def _store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(_store)]


def _route(route: str) -> str:
    try:
        return Route.parse(route).path
    except InvalidRoute as exc:
        raise HTTPException(400, str(exc)) from None


def _route_query(route: str | None = None) -> str | None:
    """A listing's `route` filter, parsed as ingest parses it (a malformed one is a 400)."""
    return _route(route) if route else None


RouteQuery = Annotated[str | None, Depends(_route_query)]
BeforeId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]


class ReplayRequest(BaseModel):
    event_ids: list[EventIdValue] = Field(default_factory=list, max_length=10_000)
    dead_letters: bool = False
    quarantined: bool = Field(False, description="Re-check every quarantined event")
    route: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _something_selected(self) -> ReplayRequest:
        if not self.event_ids and not self.dead_letters and not self.quarantined:
            raise ValueError("give event_ids, dead_letters=true or quarantined=true")
        return self


@router.get("/stats")
async def stats(store: StoreDep) -> dict[str, Any]:
    return await asyncio.to_thread(store.stats, time.time())


@router.get("/events")
async def list_events(
    store: StoreDep,
    route: RouteQuery,
    status: EventStatus | None = None,
    webhook_id: str | None = None,
    batch_id: str | None = None,
    event_type: str | None = Query(None, alias="type"),
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    rows = await asyncio.to_thread(
        store.list_events,
        route=route,
        status=status,
        webhook_id=webhook_id,
        batch_id=batch_id,
        event_type=event_type,
        before_id=before_id,
        limit=limit,
    )
    return {"events": rows}


@router.get("/batches")
async def list_batches(
    store: StoreDep,
    route: RouteQuery,
    status: BatchStatus | None = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    rows = await asyncio.to_thread(store.list_batches, route=route, status=status, limit=limit)
    return {"batches": rows}


@router.get("/batches/{batch_id}")
async def get_batch(store: StoreDep, batch_id: str) -> dict[str, Any]:
    batch = await asyncio.to_thread(store.get_batch, batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id!r}")
    return batch


@router.post("/replay")
async def replay(store: StoreDep, body: ReplayRequest, request: Request) -> dict[str, int]:
    """Finished events go back to pending; quarantined ones only if they pass the checks
    now (`still_quarantined`, present when not 0, counts those that still fail; their
    reasons are updated)."""
    route = _route(body.route) if body.route else None
    count = await asyncio.to_thread(
        store.replay, event_ids=body.event_ids, dead_letters=body.dead_letters, route=route
    )
    rechecked = await asyncio.to_thread(
        store.replay_quarantined, event_ids=body.event_ids, route=route, all_=body.quarantined
    )
    _wake_dispatcher(request)
    answer = {"replayed": count + rechecked["released"]}
    if rechecked["still_quarantined"]:
        answer["still_quarantined"] = rechecked["still_quarantined"]
    return answer


@router.post("/prune")
async def prune_now(store: StoreDep, request: Request) -> dict[str, int]:
    """Apply the retention policy now (serve and dispatch also do this periodically)."""
    policy = request.app.state.settings.retention_policy
    return await asyncio.to_thread(store.prune, time.time(), policy)


def _wake_dispatcher(request: Request) -> None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
