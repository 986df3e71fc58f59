"""Admin API, admin token only: inspect events and batches, replay, stats.

Route management (the registry, secrets, pause/resume) is in `admin_routes`, open to the
registrar token as well.
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

EventStatus = Literal["pending", "batched", "dispatched", "dead", "discarded"]
BatchStatus = Literal["open", "dispatched", "dead", "discarded"]


router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)], tags=["admin"])


def _store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(_store)]


def _route(route: str) -> str:
    try:
        return Route.parse(route).path
    except InvalidRoute as exc:
        raise HTTPException(400, str(exc)) from None


class ReplayRequest(BaseModel):
    event_ids: list[int] = Field(default_factory=list, max_length=10_000)
    dead_letters: bool = False
    route: str | None = None

    @model_validator(mode="after")
    def _something_selected(self) -> ReplayRequest:
        if not self.event_ids and not self.dead_letters:
            raise ValueError("give event_ids, or dead_letters=true")
        return self


@router.get("/stats")
async def stats(store: StoreDep) -> dict[str, Any]:
    return await asyncio.to_thread(store.stats, time.time())


@router.get("/events")
async def list_events(
    store: StoreDep,
    route: str | None = None,
    status: EventStatus | None = None,
    webhook_id: str | None = None,
    batch_id: str | None = None,
    event_type: str | None = Query(None, alias="type"),
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await asyncio.to_thread(
        store.list_events,
        route=_route(route) if route else None,
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
    route: str | None = None,
    status: BatchStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = await asyncio.to_thread(
        store.list_batches, route=_route(route) if route else None, status=status, limit=limit
    )
    return {"batches": rows}


@router.get("/batches/{batch_id}")
async def get_batch(store: StoreDep, batch_id: str) -> dict[str, Any]:
    batch = await asyncio.to_thread(store.get_batch, batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id!r}")
    return batch


@router.post("/replay")
async def replay(store: StoreDep, body: ReplayRequest, request: Request) -> dict[str, int]:
    count = await asyncio.to_thread(
        store.replay,
        event_ids=body.event_ids,
        dead_letters=body.dead_letters,
        route=_route(body.route) if body.route else None,
    )
    _wake_dispatcher(request)
    return {"replayed": count}


def _wake_dispatcher(request: Request) -> None:
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
