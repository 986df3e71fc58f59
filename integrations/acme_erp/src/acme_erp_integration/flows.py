"""The Acme ERP flows' task graphs, one `FlowRecipe` per flow slug.

The factory wraps each recipe in a DAG per instance (ids, tags, schedule, retries, docs);
a recipe only decides the flow's tasks, from the instance's config, at parse time, without
any I/O. Run-time work lives in `acme_erp_integration.sync`.

| flow | tasks |
|---|---|
| sync-customer-data | `sync_customers` |
| sync-inventory-data | `sync_inventory` |
| initialization | `webhook_urls` (registers the routes in the relay) → `desired_webhooks` → `ensure_webhooks` (secrets from the relay) [→ `backfill_*`] |
| teardown | `delete_webhooks` → `retire_routes` |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param, get_current_context, task

from acme_erp_integration.definition import (
    INITIALIZATION,
    SYNC_CUSTOMERS,
    SYNC_INVENTORY,
    TEARDOWN,
)
from acme_erp_integration.mapping import Resource
from acme_erp_integration.sync import UpsertToProgix, sync_events
from acme_provider.operators.records import AcmeFetchRecordsOperator
from acme_provider.operators.webhooks import AcmeDeleteWebhooksOperator, AcmeEnsureWebhooksOperator
from integration_platform.integrations.events import EVENTS_PARAM, events_param
from integration_platform.integrations.factory import FlowContext, FlowRecipe
from integration_platform.integrations.model import TriggerKind
from integration_platform.integrations.relay import (
    RouteSecretResolver,
    register_routes,
    retire_routes,
)

ACME_CONNECTION = "acme_connection"
PROGIX_CONNECTION = "progix_connection"


def _warehouses(context: FlowContext, resource: Resource) -> tuple[str, ...]:
    """The instance's warehouse filter; it applies to inventory only (empty = every warehouse)."""
    return tuple(context.config.get("warehouses") or ()) if resource == "inventory" else ()


def _sync_flow(resource: Resource) -> FlowRecipe:
    """A webhook flow: the run's thin events → current records from Acme → Progix."""

    def build_tasks(context: FlowContext) -> None:
        event_types = context.flow.events
        acme_conn_id = context.conn_id(ACME_CONNECTION)
        progix_conn_id = context.conn_id(PROGIX_CONNECTION)
        warehouses = _warehouses(context, resource)

        @task(task_id=f"sync_{resource}")
        def sync() -> dict[str, int]:
            """Fetch the changed records (≤ 100 per request), map, upsert; return counts only."""
            events = get_current_context()["params"][EVENTS_PARAM]
            return sync_events(
                resource,
                events,
                event_types=event_types,
                acme_conn_id=acme_conn_id,
                progix_conn_id=progix_conn_id,
                warehouses=warehouses,
            )

        sync()

    def params(context: FlowContext) -> Mapping[str, Param]:
        return {EVENTS_PARAM: events_param(context.flow)}

    return FlowRecipe(build_tasks=build_tasks, params=params)


def _build_initialization(context: FlowContext) -> None:
    integration, instance = context.integration, context.instance
    webhook_flows = integration.flows_triggered_by(TriggerKind.WEBHOOK)
    acme_conn_id = context.conn_id(ACME_CONNECTION)

    @task(task_id="webhook_urls")
    def webhook_urls() -> dict[str, dict[str, str]]:
        """Register the instance's routes in the relay (before Acme can deliver to them),
        then `{"webhookUrls": {flow slug: URL}}` from the relay's public URL."""
        relay = register_routes(integration.slug, instance.id, [f.slug for f in webhook_flows])
        return {"webhookUrls": integration.webhook_urls(relay.public_url, instance.id)}

    @task(task_id="desired_webhooks")
    def desired_webhooks(result: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One subscription per webhook flow: its URL from webhookUrls and its event types."""
        urls = result["webhookUrls"]
        return [
            {"key": flow.slug, "url": urls[flow.slug], "events": list(flow.events)}
            for flow in webhook_flows
        ]

    ensure = AcmeEnsureWebhooksOperator(
        task_id="ensure_webhooks",
        managed_by=context.owner,
        webhooks=desired_webhooks(webhook_urls()),
        secret_resolver=RouteSecretResolver(integration.slug, instance.id),
        acme_conn_id=acme_conn_id,
    )
    if context.config.get("backfill_on_deploy"):
        # After the webhooks exist, so a change made during the backfill is not lost.
        for resource in ("customers", "inventory"):
            ensure >> AcmeFetchRecordsOperator(
                task_id=f"backfill_{resource}",
                resource=resource,
                on_batch=UpsertToProgix(
                    resource,
                    progix_conn_id=context.conn_id(PROGIX_CONNECTION),
                    warehouses=_warehouses(context, resource),
                ),
                acme_conn_id=acme_conn_id,
            )


def _build_teardown(context: FlowContext) -> None:
    integration, instance = context.integration, context.instance
    webhook_slugs = [f.slug for f in integration.flows_triggered_by(TriggerKind.WEBHOOK)]

    @task(task_id="retire_routes")
    def retire() -> dict[str, int]:
        """After Acme stopped sending: the relay answers 410 and discards what it held."""
        return retire_routes(integration.slug, instance.id, webhook_slugs)

    delete = AcmeDeleteWebhooksOperator(
        task_id="delete_webhooks",
        managed_by=context.owner,
        acme_conn_id=context.conn_id(ACME_CONNECTION),
    )
    delete >> retire()


FLOW_RECIPES: Mapping[str, FlowRecipe] = {
    SYNC_CUSTOMERS: _sync_flow("customers"),
    SYNC_INVENTORY: _sync_flow("inventory"),
    INITIALIZATION: FlowRecipe(build_tasks=_build_initialization),
    TEARDOWN: FlowRecipe(build_tasks=_build_teardown),
}
