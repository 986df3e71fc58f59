"""The Acme ERP DAG factory that the shims in `dags/` call (one line each)."""

from __future__ import annotations

from acme_provider.acme_erp.definition import ACME_ERP
from acme_provider.acme_erp.flows import FLOW_RECIPES
from acme_provider.catalog import INTEGRATIONS
from acme_provider.integrations.factory import DagFactory

FACTORY = DagFactory(ACME_ERP, FLOW_RECIPES, integrations=INTEGRATIONS)
