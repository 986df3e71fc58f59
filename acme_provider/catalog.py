"""Every integration this package ships, by slug."""

from __future__ import annotations

from collections.abc import Mapping

from acme_provider.acme_erp.definition import ACME_ERP
from acme_provider.integrations.model import Integration

INTEGRATIONS: Mapping[str, Integration] = {ACME_ERP.slug: ACME_ERP}


def get_integration(slug: str) -> Integration:
    try:
        return INTEGRATIONS[slug]
    except KeyError:
        raise KeyError(f"unknown integration {slug!r}; known: {', '.join(INTEGRATIONS)}") from None
