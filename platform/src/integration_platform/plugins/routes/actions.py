"""Lifecycle actions on one instance, each through the lifecycle service as the caller.

Pause and resume are quick and answer at once; redeploy, test and remove wait for a DAG run,
so they run as background jobs whose progress the browser follows.
"""

from __future__ import annotations

import json
from contextlib import closing
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.instances import InstanceState
from integration_platform.integrations.model import Flow
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.samples import check_payload
from integration_platform.plugins import job_work
from integration_platform.plugins.auth import CallerDep, DeployCallerDep, TriggerCallerDep
from integration_platform.plugins.deps import IntegrationDep, ServiceFactory, ServiceFactoryDep
from integration_platform.plugins.jobs import JOBS, JobAlreadyRunning, JobKind, Work
from integration_platform.plugins.rendering import render
from integration_platform.plugins.urls import mount_base
from integration_platform.plugins.visibility import VisibleInstance

router = APIRouter(dependencies=[VisibleInstance])
PAYLOAD_SOURCE = "pasted payload"
IN_PROGRESS = {InstanceState.DEPLOYING: "deploying", InstanceState.REMOVING: "removing"}


def _detail_url(request: Request, instance_id: str) -> str:
    return f"{mount_base(request)}/instances/{instance_id}"


def _start(request: Request, instance_id: str, kind: JobKind, work: Work) -> Response:
    detail_url = _detail_url(request, instance_id)
    try:
        JOBS.start(instance_id, kind, work, fallback_url=detail_url)
    except JobAlreadyRunning as running:
        raise HTTPException(status.HTTP_409_CONFLICT, str(running)) from None
    return RedirectResponse(f"{detail_url}/progress", status_code=303)


@router.post("/instances/{instance_id}/pause")
def pause(
    instance_id: str, request: Request, caller: TriggerCallerDep, services: ServiceFactoryDep
) -> Response:
    with closing(services()) as service:
        service.pause(instance_id)
    return RedirectResponse(f"{_detail_url(request, instance_id)}?notice=paused", status_code=303)


@router.post("/instances/{instance_id}/resume")
def resume(
    instance_id: str, request: Request, caller: TriggerCallerDep, services: ServiceFactoryDep
) -> Response:
    with closing(services()) as service:
        service.resume(instance_id)
    return RedirectResponse(f"{_detail_url(request, instance_id)}?notice=resumed", status_code=303)


@router.post("/instances/{instance_id}/redeploy")
def redeploy(
    instance_id: str, request: Request, caller: DeployCallerDep, services: ServiceFactoryDep
) -> Response:
    with closing(services()) as service:
        deploy_request = job_work.redeploy_request(service, instance_id)
        service.validate(instance_id, deploy_request)
    detail_url = _detail_url(request, instance_id)

    # The button re-runs Initialization on purpose (re-applies webhooks, repairs drift).
    work = job_work.deploy(services, instance_id, deploy_request, detail_url, force=True)
    return _start(request, instance_id, "deploying", work)


@router.post("/instances/{instance_id}/rotate")
def rotate(
    instance_id: str, request: Request, caller: DeployCallerDep, services: ServiceFactoryDep
) -> Response:
    """New webhook secrets in the relay, then Initialization gives Acme the new ones."""
    with closing(services()) as service:
        service.get_instance(instance_id)
    work = job_work.rotate(services, instance_id, _detail_url(request, instance_id))
    return _start(request, instance_id, "deploying", work)


def _pasted_payload(flow: Flow, text: str) -> dict[str, Any] | None:
    """None (use a sample) when nothing was pasted; else valid JSON checked against the flow."""
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidRequest(
            PAYLOAD_SOURCE, [FieldError("payload", f"not valid JSON: {error}")]
        ) from None
    return check_payload(flow, data, source=PAYLOAD_SOURCE)


@router.post("/instances/{instance_id}/test")
def run_flow_test(
    instance_id: str,
    request: Request,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    flow: Annotated[str, Form()],
    payload: Annotated[str, Form()] = "",
) -> Response:
    """Run one flow now; a pasted payload is checked (as the CLI checks a payload file) first."""
    with closing(services()) as service:
        service.get_instance(instance_id)
        selected = service.flow(flow)
    conf = _pasted_payload(selected, payload)
    detail_url = _detail_url(request, instance_id)

    work = job_work.flow_test(
        services, instance_id, selected.slug, conf, PAYLOAD_SOURCE, detail_url
    )
    return _start(request, instance_id, "testing", work)


@router.get("/instances/{instance_id}/remove", response_class=HTMLResponse)
def confirm_remove(
    instance_id: str,
    request: Request,
    caller: DeployCallerDep,
    integration: IntegrationDep,
    services: ServiceFactoryDep,
) -> HTMLResponse:
    with closing(services()) as service:
        instance = service.get_instance(instance_id)
    crumbs = [(instance_id, _detail_url(request, instance_id)), ("Remove", None)]
    return render(request, "remove.html", row=instance, error=None, crumbs=crumbs)


@router.post("/instances/{instance_id}/remove")
def remove(
    instance_id: str,
    request: Request,
    caller: DeployCallerDep,
    services: ServiceFactoryDep,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    with closing(services()) as service:
        instance = service.get_instance(instance_id)
    if confirm.strip() != instance_id:
        crumbs = [(instance_id, _detail_url(request, instance_id)), ("Remove", None)]
        error = f"Type the instance id {instance_id!r} exactly to confirm; nothing was removed."
        return render(
            request, "remove.html", status_code=400, row=instance, error=error, crumbs=crumbs
        )
    list_url = f"{mount_base(request)}/"
    work = job_work.remove(services, instance_id, list_url, _detail_url(request, instance_id))
    return _start(request, instance_id, "removing", work)


def _progress(
    request: Request, instance_id: str, caller_services: ServiceFactory
) -> dict[str, object]:
    """This worker's job if it has one; otherwise what the instance file says."""
    job = JOBS.get(instance_id)
    if job is not None:
        return job.snapshot()
    detail_url = _detail_url(request, instance_id)
    with closing(caller_services()) as service:
        if not service.store.exists(instance_id):
            return {
                "instance": instance_id,
                "kind": "removing",
                "steps": [f"{instance_id} is not deployed"],
                "finished": True,
                "failed": False,
                "next_url": f"{mount_base(request)}/",
            }
        instance = service.get_instance(instance_id)
    running = instance.state in IN_PROGRESS
    line = instance.status.reason or f"{instance_id} is {instance.state}"
    return {
        "instance": instance_id,
        "kind": IN_PROGRESS.get(instance.state, "deploying"),
        "steps": [line],
        "finished": not running,
        "failed": instance.state is InstanceState.FAILED,
        "next_url": detail_url,
    }


@router.get("/instances/{instance_id}/progress.json")
def progress_status(
    instance_id: str, request: Request, caller: CallerDep, services: ServiceFactoryDep
) -> JSONResponse:
    return JSONResponse(_progress(request, instance_id, services))


@router.get("/instances/{instance_id}/progress", response_class=HTMLResponse)
def progress_page(
    instance_id: str, request: Request, caller: CallerDep, services: ServiceFactoryDep
) -> HTMLResponse:
    state = _progress(request, instance_id, services)
    crumbs = [(instance_id, _detail_url(request, instance_id)), ("Progress", None)]
    return render(
        request,
        "progress.html",
        instance_id=instance_id,
        verb=state["kind"],
        status=state,
        crumbs=crumbs,
    )
