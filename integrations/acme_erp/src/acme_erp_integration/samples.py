"""The sync flows' `sample_source`: real object ids for test runs, asked of the customer's Acme.

Called by the platform inside the webhook flow's task (`integration_platform.integrations.
sampling`), with the instance's connection ids; imports the hook only then, so the definition
stays light to import at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from acme_erp_integration.mapping import Resource


@dataclass(frozen=True)
class RecentAcmeRecords:
    """The ids (customers) or skus (items) of the most recently changed records in Acme."""

    resource: Resource
    connection_key: str = "acme_connection"  # the config variable of the Acme connection

    def __call__(self, connections: Mapping[str, str], count: int) -> list[str]:
        from acme_provider.hooks.acme_erp import AcmeErpHook
        from acme_provider.hooks.recent import recently_changed_keys

        hook = AcmeErpHook(acme_conn_id=connections[self.connection_key])
        try:
            return recently_changed_keys(hook, self.resource, count)
        finally:
            hook.close()
