"""The per-instance Airflow pool: created or resized at deploy, deleted at removal.

It must exist before the instance's tasks are scheduled (Airflow does not schedule tasks of a
pool that does not exist), so deploy writes it together with the connections.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from integration_platform.integrations import limits
from integration_platform.lifecycle.airflow_api import AirflowClient

POOLS = "/api/v2/pools"


def sync_pool(
    client: AirflowClient,
    instance_id: str,
    config: Mapping[str, Any],
    report: Callable[[str], None],
) -> None:
    """The instance's pool at `pool_slots` slots; none (deleted) when the setting is 0."""
    name, slots = limits.pool_name(instance_id), limits.pool_slots(config)
    path = f"{POOLS}/{quote(name, safe='')}"
    if not slots:
        delete_pool(client, instance_id, report)
        return
    body = {"name": name, "slots": slots, "description": f"tasks of instance {instance_id}"}
    answer = client.request("PATCH", path, json=body, expected=(200, 404))
    if answer.status_code == 404:
        client.request("POST", POOLS, json=body, expected=(200, 201))
    report(f"Pool {name}: {slots} slot(s)")


def delete_pool(client: AirflowClient, instance_id: str, report: Callable[[str], None]) -> None:
    name = limits.pool_name(instance_id)
    answer = client.request("DELETE", f"{POOLS}/{quote(name, safe='')}", expected=(204, 404))
    if answer.status_code == 204:
        report(f"Deleted pool {name}")
