"""The config wizard: deploy a new instance or edit one, validated by the lifecycle's own rules.

On a valid submit the deploy runs in the background (`jobs`) and the browser follows its
progress; on an invalid one the wizard comes back with the errors next to their fields and
nothing has been deployed.
"""

from __future__ import annotations

import contextlib
from contextlib import closing
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from integration_platform.integrations.model import Integration
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.plugins import job_work, wizard_form
from integration_platform.plugins.auth import DeployCallerDep
from integration_platform.plugins.deps import IntegrationDep, ServiceFactory, ServiceFactoryDep
from integration_platform.plugins.jobs import JOBS, JobAlreadyRunning
from integration_platform.plugins.rendering import render
from integration_platform.plugins.urls import mount_base
from integration_platform.plugins.visibility import VisibleInstance

router = APIRouter(dependencies=[VisibleInstance])


def _page_errors(integration: Integration, errors: dict[str, str]) -> list[bool]:
    """For each config page: does any of its fields carry an error?"""
    flags = []
    for page in integration.pages:
        keys = {v.key for v in page.variables}
        flags.append(any(name.split(".")[1] in keys for name in errors if name.count(".") >= 1))
    return flags


def _render_wizard(
    request: Request,
    integration: Integration,
    *,
    editing: str | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
    stored_secrets: set[str] | frozenset[str] = frozenset(),
) -> HTMLResponse:
    base = mount_base(request)
    known = wizard_form.form_field_names(integration)
    crumbs = (
        [(editing, f"{base}/instances/{editing}"), ("Edit", None)]
        if editing
        else [("Deploy", None)]
    )
    return render(
        request,
        "wizard.html",
        status_code=status_code,
        integration=integration,
        editing=editing,
        values=values,
        errors=errors,
        stored_secrets=stored_secrets,
        top_errors=[str(e) for e in wizard_form.errors_outside_form(errors, known)],
        page_errors=_page_errors(integration, errors),
        action=f"{base}/instances/{editing}/edit"
        if editing
        else f"{base}/new?integration={integration.slug}",
        crumbs=crumbs,
    )


def _start_deploy(
    request: Request, services: ServiceFactory, entered: wizard_form.WizardInput
) -> Response:
    instance_id = entered.instance_id
    base = mount_base(request)
    detail_url = f"{base}/instances/{instance_id}"

    work = job_work.deploy(services, instance_id, entered.to_request(), detail_url)

    # A deploy already running for this instance: show its progress instead of a second one.
    with contextlib.suppress(JobAlreadyRunning):
        JOBS.start(instance_id, "deploying", work, fallback_url=detail_url)
    return RedirectResponse(f"{detail_url}/progress", status_code=303)


def _submit(
    request: Request,
    integration: Integration,
    service: InstanceService,
    services: ServiceFactory,
    form: Any,
    *,
    editing: str | None,
) -> Response:
    entered = wizard_form.parse_wizard_form(integration, form, editing=editing)
    errors: dict[str, str] = {}
    try:
        if not editing and service.store.exists(entered.instance_id):  # False for invalid ids
            errors[wizard_form.INSTANCE_ID_FIELD] = (
                "an instance with this id exists; edit it instead"
            )
        service.validate(entered.instance_id, entered.to_request())
    except InvalidRequest as error:
        errors.update({k: v for k, v in wizard_form.form_errors(error).items() if k not in errors})
    if errors:
        return _render_wizard(
            request,
            integration,
            editing=editing,
            values=entered.shown_values(integration),
            errors=errors,
            status_code=400,
            stored_secrets=_stored_secrets(service, editing),
        )
    return _start_deploy(request, services, entered)


@router.get("/new", response_class=HTMLResponse)
def new_instance_form(
    request: Request, caller: DeployCallerDep, integration: IntegrationDep
) -> HTMLResponse:
    return _render_wizard(request, integration, editing=None, values={}, errors={})


@router.post("/new")
async def create_instance(
    request: Request,
    caller: DeployCallerDep,
    integration: IntegrationDep,
    services: ServiceFactoryDep,
) -> Response:
    form = await request.form()
    with closing(services()) as service:
        return _submit(request, integration, service, services, form, editing=None)


def _current_values(
    integration: Integration, service: InstanceService, instance_id: str
) -> dict[str, Any]:
    instance = service.get_instance(instance_id)
    values: dict[str, Any] = {"instance_id": instance.id, "customer": instance.customer}
    values.update({f"config.{key}": value for key, value in instance.config.items()})
    for variable in integration.connection_variables:
        assert variable.connection is not None
        stored = service.airflow.get_connection(instance.connections.get(variable.key, ""))
        for spec in variable.connection.fields:
            if stored is not None and not spec.secret and stored.get(spec.name):
                values[wizard_form.connection_field(variable, spec.name)] = stored[spec.name]
    return values


def _stored_secrets(service: InstanceService, instance_id: str | None) -> set[str]:
    """Which SECRET variables of the instance have a value in Airflow (never the value)."""
    if instance_id is None:
        return set()
    instance = service.find_instance(instance_id)
    return {
        v.key
        for v in service.integration.secret_variables
        if instance is not None
        and service.airflow.get_connection(instance.connections.get(v.key, "")) is not None
    }


@router.get("/instances/{instance_id}/edit", response_class=HTMLResponse)
def edit_instance_form(
    instance_id: str,
    request: Request,
    caller: DeployCallerDep,
    integration: IntegrationDep,
    services: ServiceFactoryDep,
) -> HTMLResponse:
    with closing(services()) as service:
        values = _current_values(integration, service, instance_id)
        stored = _stored_secrets(service, instance_id)
    return _render_wizard(
        request,
        integration,
        editing=instance_id,
        values=values,
        errors={},
        stored_secrets=stored,
    )


@router.post("/instances/{instance_id}/edit")
async def update_instance(
    instance_id: str,
    request: Request,
    caller: DeployCallerDep,
    integration: IntegrationDep,
    services: ServiceFactoryDep,
) -> Response:
    form = await request.form()
    with closing(services()) as service:
        service.get_instance(instance_id)  # unknown id: 404 listing the known ones
        return _submit(request, integration, service, services, form, editing=instance_id)
