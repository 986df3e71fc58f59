"""The Acme ERP -> Progix integration: its definition, flows and mappings."""

from acme_erp_integration.definition import ACME_ERP

__all__ = ["ACME_ERP"]
