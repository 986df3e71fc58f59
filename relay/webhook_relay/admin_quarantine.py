"""Quarantined events: list them with their reasons, and re-check them once the cause is fixed.

Listing is open to the registrar token too (the integration platform shows an instance's
quarantined events on its page): it answers only ids, route, thin fields and the reason,
never a payload, so it reveals nothing the registrar could not already see of its routes.
A re-check (replay) changes events and stays with the admin token.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field, model_validator

from webhook_relay.admin import (
    BeforeId,
    EventIdValue,
    Limit,
    RouteQuery,
    StoreDep,
    _route,
    refuse_nul,
)
from webhook_relay.auth import require_admin, require_registrar

router = APIRouter(
    prefix="/admin/quarantine",
    dependencies=[Depends(refuse_nul), Depends(require_registrar)],
    tags=["quarantine"],
)
MAX_REASON_CHARS = 500
LISTED = ("id", "route", "webhook_id", "event_type", "object_id", "received_at")


class QuarantineReplay(BaseModel):
    event_ids: list[EventIdValue] = Field(default_factory=list, max_length=10_000)
    route: str | None = Field(None, max_length=200, description="Every quarantined event of it")
    all: bool = Field(False, description="Every quarantined event of the relay")

    @model_validator(mode="after")
    def _something_selected(self) -> QuarantineReplay:
        if not self.event_ids and self.route is None and not self.all:
            raise ValueError("give event_ids, route or all=true")
        return self


def listed(row: dict[str, Any]) -> dict[str, Any]:
    """What a quarantine listing shows of an event: never its payload."""
    reason = row["quarantine_reason"] or ""
    return {**{k: row[k] for k in LISTED}, "reason": reason[:MAX_REASON_CHARS]}


@router.get("")
async def list_quarantined(
    store: StoreDep,
    route: RouteQuery,
    before_id: BeforeId = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Quarantined events with their reasons, newest first (payloads left out)."""
    rows = await asyncio.to_thread(
        store.list_events,
        route=route,
        status="quarantined",
        before_id=before_id,
        limit=limit,
    )
    return {"events": [listed(row) for row in rows]}


@router.post("/replay", dependencies=[Depends(require_admin)])
async def replay_quarantined(
    store: StoreDep, body: QuarantineReplay, request: Request
) -> dict[str, int]:
    """Re-check the selected quarantined events with the current checks: those that pass
    become pending and are dispatched (`released`), the others keep (or get) their reason
    (`still_quarantined`). Other events are never touched."""
    route = _route(body.route) if body.route else None
    if body.event_ids and body.all:
        raise HTTPException(400, "give event_ids or all=true, not both")
    result = await asyncio.to_thread(
        store.replay_quarantined,
        event_ids=body.event_ids,
        route=route,
        all_=body.all or (route is not None and not body.event_ids),
    )
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if result["released"] and dispatcher is not None:
        dispatcher.wake()
    return result
