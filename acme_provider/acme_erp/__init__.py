"""The Acme ERP -> Progix integration: its definition, flows and mappings."""

from acme_provider.acme_erp.definition import ACME_ERP

__all__ = ["ACME_ERP"]
