"""`acme-erp`: the platform's `integrations` CLI with the Acme ERP integration preselected."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP
from integration_platform.lifecycle.cli import main as platform_main


def main() -> None:
    platform_main(integration=ACME_ERP.slug, prog_name="acme-erp")
