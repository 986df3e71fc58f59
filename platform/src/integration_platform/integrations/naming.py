"""Platform names derived from the shared contracts (`integration_contracts`).

The id grammar, DAG ids, tags, routes, webhook URLs and run ids are defined once in
`integration_contracts`, which the relay imports too; this module only adapts them to the
platform's (integration, instance, flow) call shape.
"""

from __future__ import annotations

from collections.abc import Iterable

from integration_contracts.ids import SEGMENT_PATTERN, SEGMENT_RULE, is_valid_segment
from integration_contracts.routes import Route
from integration_contracts.runs import RunKind, generation_key, run_id

INSTANCE_ID_PATTERN = SEGMENT_PATTERN
INSTANCE_ID_RULE = SEGMENT_RULE


def is_valid_instance_id(instance_id: str) -> bool:
    return is_valid_segment(instance_id)


def dag_id(integration: str, instance_id: str, flow_slug: str) -> str:
    """`crm__shop_1__sync_contacts` for crm / shop-1 / sync-contacts."""
    return Route(integration, instance_id, flow_slug).dag_id


def dag_tags(integration: str, instance_id: str, flow_slug: str) -> list[str]:
    return Route(integration, instance_id, flow_slug).tags


def route(integration: str, instance_id: str, flow_slug: str) -> str:
    """The relay route `integration/instance/flow`."""
    return Route(integration, instance_id, flow_slug).path


def webhook_url(relay_public_url: str, integration: str, instance_id: str, flow_slug: str) -> str:
    return Route(integration, instance_id, flow_slug).webhook_url(relay_public_url)


def connection_id(prefix: str, instance_id: str) -> str:
    """`crm__shop-1`: the Airflow connection holding one instance's credentials."""
    return f"{prefix}__{instance_id}"


def deploy_run_id(generation: int) -> str:
    """Run id of the Initialization run for one deploy generation (409 = already ran)."""
    return run_id(RunKind.DEPLOY, generation_key(generation))


def parse_dag_id(
    integration: str, dag_id: str, flow_slugs: Iterable[str]
) -> tuple[str, str] | None:
    """`(instance id, flow slug)` for one of `integration`'s DAG ids, else None."""
    parsed = Route.from_dag_id(integration, dag_id, list(flow_slugs))
    return (parsed.instance, parsed.flow) if parsed else None
