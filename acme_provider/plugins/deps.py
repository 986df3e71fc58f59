"""FastAPI dependencies of the routes: the integration shown, and the service acting as the caller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from acme_provider.catalog import INTEGRATIONS
from acme_provider.integrations.model import Integration
from acme_provider.lifecycle.service import InstanceService
from acme_provider.plugins.airflow_access import service_for
from acme_provider.plugins.auth import CallerDep

ServiceFactory = Callable[[], InstanceService]
INTEGRATION_SLUG = "acme-erp"


def get_integration() -> Integration:
    return INTEGRATIONS[INTEGRATION_SLUG]


def get_service_factory(request: Request, caller: CallerDep) -> ServiceFactory:
    """A factory, not a service: background jobs build their own (a client per thread)."""
    return lambda: service_for(request, caller)


IntegrationDep = Annotated[Integration, Depends(get_integration)]
ServiceFactoryDep = Annotated[ServiceFactory, Depends(get_service_factory)]
