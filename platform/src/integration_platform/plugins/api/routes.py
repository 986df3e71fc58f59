"""The instance API's endpoints: the catalogue of integrations, instances, operations.

Each endpoint is a thin adapter over the lifecycle service (the same calls as the CLI and
the UI's jobs), acting as the caller with their own Airflow token.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import Integration
from integration_platform.integrations.naming import INSTANCE_ID_PATTERN
from integration_platform.lifecycle.bulk import BulkRequest
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import ENV_SUFFIX, DeployRequest
from integration_platform.lifecycle.samples import check_payload
from integration_platform.lifecycle.secret_values import server_side_references
from integration_platform.plugins import job_work
from integration_platform.plugins.api import work
from integration_platform.plugins.api.operations import OPERATIONS, Operation, OperationKind
from integration_platform.plugins.api.operations import Work as OperationWork
from integration_platform.plugins.api.schemas import (
    BulkDeployBody,
    DeployBody,
    InstanceOut,
    InstanceSummary,
    IntegrationOut,
    OperationOut,
    Problem,
    ReplayBody,
    TestBody,
    Validation,
)
from integration_platform.plugins.auth import Caller, CallerDep, DeployCallerDep, TriggerCallerDep
from integration_platform.plugins.deps import ServiceFactoryDep
from integration_platform.plugins.visibility import VisibleInstance, visible_ids, visible_of
from integration_platform.registry import integrations

SOURCE = "API request"
ERRORS = {code: {"model": Problem} for code in (400, 401, 403, 404, 409, 502, 503)}
InstanceIdPath = Annotated[
    str, Path(pattern=INSTANCE_ID_PATTERN, min_length=2, max_length=63, description="Instance id")
]
IntegrationQuery = Annotated[
    str | None,
    Query(
        alias="integration",
        description="The integration's slug; default: the instance's own, else the first installed",
    ),
]

catalog = APIRouter(tags=["integrations"], responses=ERRORS)
instances = APIRouter(tags=["instances"], responses=ERRORS, dependencies=[VisibleInstance])
operations = APIRouter(tags=["operations"], responses=ERRORS)
bulk = APIRouter(tags=["instances"], responses=ERRORS)


def _operation_url(request: Request, operation_id: str) -> str:
    return f"{request.scope.get('root_path', '').rstrip('/')}/operations/{operation_id}"


def _accepted(request: Request, op: Operation) -> JSONResponse:
    url = _operation_url(request, op.id)
    body = OperationOut.of(op, url).model_dump(mode="json")
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED, headers={"Location": url})


def _start(
    request: Request, caller: Caller, kind: OperationKind, instance_id: str, job: OperationWork
) -> JSONResponse:
    return _accepted(request, OPERATIONS.start(kind, instance_id, caller.name, job))


def _bulk_request(
    instance_id: str, body: DeployBody, hidden: set[str], integration: Integration
) -> BulkRequest:
    """One instance of a bulk deploy; a problem is the item's own (reported, not deployed)."""
    source = f"{SOURCE}: instances.{instance_id}"
    if instance_id in hidden:
        problem = FieldError("instance", f"no instance {instance_id!r}")
        return BulkRequest(instance_id, source, None, (problem,))
    try:
        deploy_request = _api_request(body, integration)
    except InvalidRequest as error:
        return BulkRequest(instance_id, source, None, tuple(error.errors))
    return BulkRequest(instance_id, source, replace(deploy_request, source=source))


# -- integrations ------------------------------------------------------------------------------


@catalog.get("/integrations", response_model=list[IntegrationOut])
def list_integrations(caller: CallerDep) -> list[IntegrationOut]:
    """Every installed integration: its flows, config pages and variables (the deploy form)."""
    return [IntegrationOut.of(i) for i in integrations().values()]


@catalog.get("/integrations/{slug}", response_model=IntegrationOut)
def get_integration(slug: str, caller: CallerDep) -> IntegrationOut:
    known = integrations()
    if slug not in known:
        raise HTTPException(404, f"no integration {slug!r}; installed: {', '.join(known)}")
    return IntegrationOut.of(known[slug])


# -- instances ---------------------------------------------------------------------------------


@instances.get("/instances", response_model=list[InstanceSummary])
def list_instances(
    caller: CallerDep, services: ServiceFactoryDep, _integration: IntegrationQuery = None
) -> list[InstanceSummary]:
    """The instances of one integration that the caller may read, by id."""
    with closing(services()) as service:
        found = visible_of(service.integration, caller, service.list_instances())
    return [InstanceSummary.of(i) for i in found]


@instances.get("/instances/{instance_id}", response_model=InstanceOut)
def get_instance(
    instance_id: InstanceIdPath,
    caller: CallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> InstanceOut:
    """The instance, its flows' DAGs, webhook URLs and recent runs."""
    with closing(services()) as service:
        return InstanceOut.of_report(service.status(instance_id))


def _api_request(body: DeployBody, integration: Integration) -> DeployRequest:
    """The request, refusing `<field>_env` and a secret's `<key>_file`: the API never reads
    the API server's environment or files."""
    errors = [
        FieldError(f"connections.{key}.{name}", "give the value itself; *_env is for files")
        for key, fields in body.connections.items()
        for name in fields
        if name.endswith(ENV_SUFFIX)
    ]
    errors.extend(
        FieldError(f"config.{name}", "give the value itself; *_env and *_file are for files")
        for name in server_side_references(integration, body.config)
    )
    if errors:
        raise InvalidRequest(SOURCE, errors)
    return DeployRequest.from_mapping(body.model_dump(), source=SOURCE)


@instances.put(
    "/instances/{instance_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
    responses={200: {"model": Validation, "description": "validate_only: the request is valid"}},
)
def deploy_instance(
    instance_id: InstanceIdPath,
    body: DeployBody,
    request: Request,
    caller: DeployCallerDep,
    services: ServiceFactoryDep,
    validate_only: Annotated[bool, Query(description="Only validate; change nothing")] = False,
    _integration: IntegrationQuery = None,
) -> Response:
    """Deploy (or redeploy with new settings) one instance; every invalid field is listed."""
    with closing(services()) as service:
        deploy_request = _api_request(body, service.integration)
        plan = service.validate(instance_id, deploy_request)
        redeploy = service.store.exists(instance_id)
    if validate_only:
        checked = Validation(
            instance=instance_id, redeploy=redeploy, connections=plan.connection_ids
        )
        return JSONResponse(checked.model_dump(mode="json"))
    job = work.deploy(services, instance_id, deploy_request)
    return _start(request, caller, "deploy", instance_id, job)


@instances.post(
    "/instances/{instance_id}/redeploy",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
)
def redeploy_instance(
    instance_id: InstanceIdPath,
    request: Request,
    caller: DeployCallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> Response:
    """Deploy the instance's current settings again (a new generation, Initialization again)."""
    with closing(services()) as service:
        deploy_request = job_work.redeploy_request(service, instance_id)
        service.validate(instance_id, deploy_request)
    job = work.deploy(services, instance_id, deploy_request, force=True)
    return _start(request, caller, "redeploy", instance_id, job)


@instances.post("/instances/{instance_id}/pause", response_model=InstanceOut)
def pause_instance(
    instance_id: InstanceIdPath,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> InstanceOut:
    """Pause every flow: the relay keeps accepting events, runs wait until resume."""
    with closing(services()) as service:
        return InstanceOut.of_report(service.pause(instance_id))


@instances.post("/instances/{instance_id}/resume", response_model=InstanceOut)
def resume_instance(
    instance_id: InstanceIdPath,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> InstanceOut:
    with closing(services()) as service:
        return InstanceOut.of_report(service.resume(instance_id))


@instances.post(
    "/instances/{instance_id}/flows/{flow}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
)
def run_flow_test(
    instance_id: InstanceIdPath,
    flow: str,
    request: Request,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    body: TestBody | None = None,
    _integration: IntegrationQuery = None,
) -> Response:
    """Run one flow now, with the given thin events or sample ones."""
    payload = body.payload if body else None
    with closing(services()) as service:
        service.get_instance(instance_id)
        selected = service.flow(flow)
        if payload is not None:
            payload = check_payload(selected, payload, source="payload")
    job = work.flow_test(services, instance_id, selected.slug, payload)
    return _start(request, caller, "test", instance_id, job)


@instances.post(
    "/instances/{instance_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
)
def replay_runs(
    instance_id: InstanceIdPath,
    request: Request,
    caller: TriggerCallerDep,
    services: ServiceFactoryDep,
    body: ReplayBody | None = None,
    _integration: IntegrationQuery = None,
) -> Response:
    """Re-run the instance's failed (or successful) runs, optionally of one flow and since a time."""
    options = body or ReplayBody()
    with closing(services()) as service:
        service.get_instance(instance_id)
        if options.flow is not None:
            service.flow(options.flow)
    job = work.replay(services, instance_id, **options.model_dump())
    return _start(request, caller, "replay", instance_id, job)


@instances.delete(
    "/instances/{instance_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
)
def remove_instance(
    instance_id: InstanceIdPath,
    request: Request,
    caller: DeployCallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> Response:
    """Run Teardown (the webhooks it registered are deleted), then remove DAGs and connections."""
    with closing(services()) as service:
        service.get_instance(instance_id)
    return _start(request, caller, "remove", instance_id, work.remove(services, instance_id))


@bulk.post(
    "/bulk-deploy",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OperationOut,
)
def bulk_deploy(
    body: BulkDeployBody,
    request: Request,
    caller: DeployCallerDep,
    services: ServiceFactoryDep,
    _integration: IntegrationQuery = None,
) -> Response:
    """Deploy or redeploy many instances, a few at a time (the server's
    `INTEGRATION_BULK_CONCURRENCY`, 4 by default). An instance whose request is invalid is
    listed in the result with its fields and not deployed; the others are."""
    with closing(services()) as service:
        deployed = [i for i in body.instances if service.find_instance(i) is not None]
        visible = visible_ids(service.integration, caller, deployed)
        concurrency = service.settings.bulk_concurrency
        integration = service.integration
    hidden = set(deployed) - visible
    requests = [_bulk_request(i, b, hidden, integration) for i, b in body.instances.items()]
    job = work.bulk_deploy(services, requests, concurrency=concurrency, force=body.force)
    op = OPERATIONS.start("bulk-deploy", "", caller.name, job, covers=frozenset(body.instances))
    return _accepted(request, op)


# -- operations --------------------------------------------------------------------------------


@operations.get("/operations/{operation_id}", response_model=OperationOut)
def get_operation(operation_id: str, request: Request, caller: CallerDep) -> OperationOut:
    """A long operation's progress; only the user who started it can read it."""
    op = OPERATIONS.get(operation_id, caller.name)
    if op is None:
        raise HTTPException(404, f"no operation {operation_id!r} started by {caller.name!r}")
    return OperationOut.of(op, _operation_url(request, op.id))
