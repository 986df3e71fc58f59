"""FastAPI dependencies of the routes: the integration shown, and the service acting as the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from integration_platform.integrations.model import Integration
from integration_platform.lifecycle.service import InstanceService
from integration_platform.plugins.airflow_access import service_for
from integration_platform.plugins.auth import CallerDep
from integration_platform.registry import resolve_integration

ServiceFactory = Callable[[], InstanceService]


def get_integration() -> Integration:
    return resolve_integration()


def get_service_factory(request: Request, caller: CallerDep) -> ServiceFactory:
    """A factory, not a service: background jobs build their own (a client per thread)."""
    return lambda: service_for(request, caller)


IntegrationDep = Annotated[Integration, Depends(get_integration)]
ServiceFactoryDep = Annotated[ServiceFactory, Depends(get_service_factory)]
