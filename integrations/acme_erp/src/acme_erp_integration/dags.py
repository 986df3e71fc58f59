"""The Acme ERP DAG factory that the shims in `dags/` call (one line each)."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP
from acme_erp_integration.flows import FLOW_RECIPES
from integration_platform.integrations.factory import DagFactory
from integration_platform.registry import integrations

FACTORY = DagFactory(ACME_ERP, FLOW_RECIPES, integrations=integrations())
