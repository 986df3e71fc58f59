"""FastAPI dependencies of the routes: the integration shown, and the service acting as the caller.

Which integration a request is about: its `integration` query parameter, else the one named in
the instance file of the route's `{instance_id}`, else the first installed (by slug). Pages link
to each other with the parameter, so every registered integration gets the same UI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from integration_platform.integrations.instances import InstanceFileError, InstanceStore
from integration_platform.integrations.model import Integration
from integration_platform.integrations.naming import is_valid_instance_id
from integration_platform.lifecycle.service import InstanceService
from integration_platform.plugins.airflow_access import (
    AirflowUrlMissing,
    configured_airflow_url,
    instances_dir,
    service_for,
)
from integration_platform.plugins.auth import CallerDep
from integration_platform.registry import integrations

ServiceFactory = Callable[[], InstanceService]
INTEGRATION_PARAM = "integration"


def _integration_of_instance(instance_id: str) -> str | None:
    if not is_valid_instance_id(instance_id):
        return None  # never a path from an id that is not one; the route answers 404
    store = InstanceStore(instances_dir(), integrations())
    try:
        return store.get(instance_id).integration if store.exists(instance_id) else None
    except (InstanceFileError, ValueError, OSError):
        return None  # the route itself reports the broken file


def get_integration(request: Request) -> Integration:
    known = integrations()
    slug = request.query_params.get(INTEGRATION_PARAM)
    if slug is None and (instance_id := request.path_params.get("instance_id")):
        slug = _integration_of_instance(instance_id)
    if slug is None:
        if not known:
            raise HTTPException(404, "no integration is installed")
        return next(iter(known.values()))
    if slug not in known:
        raise HTTPException(404, f"no integration {slug!r}; installed: {', '.join(known)}")
    return known[slug]


IntegrationDep = Annotated[Integration, Depends(get_integration)]


def get_airflow_url() -> str:
    """Airflow's REST API from configuration (see `airflow_access`), else 503 saying what to set."""
    try:
        return configured_airflow_url()
    except AirflowUrlMissing as error:
        raise HTTPException(503, str(error)) from None


def get_service_factory(
    caller: CallerDep,
    integration: IntegrationDep,
    airflow_url: Annotated[str, Depends(get_airflow_url)],
) -> ServiceFactory:
    """A factory, not a service: background jobs build their own (a client per thread)."""
    return lambda: service_for(caller, airflow_url).for_integration(integration)


ServiceFactoryDep = Annotated[ServiceFactory, Depends(get_service_factory)]
