"""Provider metadata read by Airflow's ProvidersManager (entry point `apache_airflow_provider`).

Kept import-light: it is imported during provider discovery, before any hook is needed.
The connection form is declarative (`conn-fields`, `ui-field-behaviour`, Airflow >= 3.2).
"""

from __future__ import annotations

from typing import Any

from acme_provider import __version__
from acme_provider.hooks.acme_connection import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

INTEGRATION = "Acme ERP"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-acme-erp",
        "name": "Acme ERP",
        "description": "Connection type, hook and operators for the Acme ERP REST API.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["acme_provider.hooks.acme_erp"],
            }
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "acme_provider.operators.webhooks",
                    "acme_provider.operators.records",
                ],
            }
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "acme_provider.hooks.acme_erp.AcmeErpHook",
                "hook-name": "Acme ERP",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }
