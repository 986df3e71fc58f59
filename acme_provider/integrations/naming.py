"""The naming contracts of DESIGN.md in one place: ids, DAG ids, tags, routes, URLs.

Every component (DAG factory, lifecycle CLI, UI plugin, relay configuration) derives names
from here, so a contract changes everywhere at once or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

INSTANCE_ID_PATTERN = r"^[a-z][a-z0-9-]{1,62}$"
_INSTANCE_ID = re.compile(INSTANCE_ID_PATTERN)


def is_valid_instance_id(instance_id: str) -> bool:
    return bool(_INSTANCE_ID.fullmatch(instance_id))


def _snake(value: str) -> str:
    return value.replace("-", "_")


def dag_id(integration: str, instance_id: str, flow_slug: str) -> str:
    """`acme_erp__shop_1__sync_customer_data` for acme-erp / shop-1 / sync-customer-data."""
    return f"{_snake(integration)}__{_snake(instance_id)}__{_snake(flow_slug)}"


def dag_tags(integration: str, instance_id: str, flow_slug: str) -> list[str]:
    return [f"integration:{integration}", f"instance:{instance_id}", f"flow:{flow_slug}"]


def route(integration: str, instance_id: str, flow_slug: str) -> str:
    """The relay route; also the message a route's webhook secret is derived from."""
    return f"{integration}/{instance_id}/{flow_slug}"


def webhook_url(relay_public_url: str, integration: str, instance_id: str, flow_slug: str) -> str:
    return f"{relay_public_url.rstrip('/')}/hooks/{route(integration, instance_id, flow_slug)}"


def connection_id(prefix: str, instance_id: str) -> str:
    """`acme_erp__shop-1`: the Airflow connection holding one instance's credentials."""
    return f"{prefix}__{instance_id}"


def deploy_run_id(generation: int) -> str:
    """Run id of the Initialization run for one deploy generation (409 = already ran)."""
    return f"deploy__generation_{generation}"


def parse_dag_id(
    integration: str, dag_id: str, flow_slugs: Iterable[str]
) -> tuple[str, str] | None:
    """`(instance id, flow slug)` for one of `integration`'s DAG ids, else None.

    The inverse of `dag_id`: instance ids never contain `_`, so once the known prefix and a
    known flow suffix are stripped, the middle maps back to exactly one instance id.
    """
    prefix = f"{_snake(integration)}__"
    if not dag_id.startswith(prefix):
        return None
    for slug in flow_slugs:
        suffix = f"__{_snake(slug)}"
        if dag_id.endswith(suffix) and len(dag_id) > len(prefix) + len(suffix):
            instance_id = dag_id[len(prefix) : -len(suffix)].replace("_", "-")
            if is_valid_instance_id(instance_id):
                return instance_id, slug
    return None
