"""Replay from the instance page: preview (a dry run) or run a replay of past runs.

The form posts the same filters as `integrations replay`; both go through the lifecycle
service as the caller, so the UI can do nothing the caller's Airflow role may not.
"""

from __future__ import annotations

from contextlib import closing
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from integration_platform.lifecycle.service import parse_since
from integration_platform.plugins.auth import TriggerCallerDep
from integration_platform.plugins.deps import ServiceFactoryDep
from integration_platform.plugins.rendering import render
from integration_platform.plugins.urls import mount_base
from integration_platform.plugins.visibility import VisibleInstance

router = APIRouter(dependencies=[VisibleInstance])


def _blank(value: str) -> str | None:
    return value.strip() or None


@router.post("/instances/{instance_id}/replay", response_class=HTMLResponse)
def replay(
    instance_id: str,
    request: Request,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    flow: Annotated[str, Form()] = "",
    state: Annotated[str, Form()] = "failed",
    since: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
    event_type: Annotated[str, Form()] = "",
    object_id: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "tasks",
    batch_size: Annotated[int, Form()] = 100,
    action: Annotated[str, Form()] = "preview",
) -> HTMLResponse:
    """`action=preview` lists what would re-run; `action=replay` re-runs it (no waiting)."""
    with closing(services()) as service:
        report = service.replay(
            instance_id,
            flow=_blank(flow),
            state=state,
            since=parse_since(since, "since") if since.strip() else None,
            until=parse_since(until, "until") if until.strip() else None,
            event_type=_blank(event_type),
            object_id=_blank(object_id),
            mode=mode,
            batch_size=batch_size,
            dry_run=action != "replay",
        )
    detail_url = f"{mount_base(request)}/instances/{instance_id}"
    form = {
        "flow": flow,
        "state": state,
        "since": since,
        "until": until,
        "event_type": event_type,
        "object_id": object_id,
        "mode": mode,
        "batch_size": batch_size,
    }
    crumbs = [(instance_id, detail_url), ("Replay", None)]
    return render(
        request, "replay.html", instance_id=instance_id, report=report, form=form, crumbs=crumbs
    )
