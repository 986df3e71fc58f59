"""The Acme ERP flows' task graphs, one `FlowRecipe` per flow slug.

The factory wraps each recipe in a DAG per instance (ids, tags, schedule, retries, docs);
a recipe only decides the flow's tasks, from the instance's config, at parse time, without
any I/O. Run-time work lives in `acme_erp_integration.sync`.

| flow | tasks |
|---|---|
| sync-customer-data | `sync_customers` |
| sync-inventory-data | `sync_inventory` |
| initialization | `check_progix_tenant`, `webhook_urls` (registers the routes in the relay) → `desired_webhooks` → `ensure_webhooks` (secrets from the relay) [→ `backfill_*`] |
| webhook-drift-repair | `check_instance_active` → `webhook_urls` → `desired_webhooks` → `repair_webhooks` (secrets from the relay) → `repair_report` |
| teardown | `delete_webhooks` → `retire_routes` |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param, task

from acme_erp_integration.definition import (
    DRIFT_REPAIR,
    INITIALIZATION,
    SYNC_CUSTOMERS,
    SYNC_INVENTORY,
    TEARDOWN,
)
from acme_erp_integration.mapping import Resource
from acme_erp_integration.sync import SyncOptions, check_progix_tenant, sync_events
from acme_provider.operators.records import AcmeFetchRecordsOperator
from acme_provider.operators.webhooks import AcmeDeleteWebhooksOperator, AcmeEnsureWebhooksOperator
from integration_platform.integrations.drift import active_check_task, repair_report
from integration_platform.integrations.events import (
    EVENTS_PARAM,
    events_param,
    record_set_aside,
)
from integration_platform.integrations.factory import FlowContext, FlowRecipe
from integration_platform.integrations.relay import RouteSecretResolver
from integration_platform.integrations.sampling import run_events
from integration_platform.integrations.webhooks import desired_webhooks_task, retire_routes_task

ACME_CONNECTION = "acme_connection"
PROGIX_CONNECTION = "progix_connection"


def _sync_flow(resource: Resource) -> FlowRecipe:
    """A webhook flow: the run's thin events → current records from Acme → Progix."""

    def build_tasks(context: FlowContext) -> None:
        event_types = context.flow.events
        acme_conn_id = context.conn_id(ACME_CONNECTION)
        progix_conn_id = context.conn_id(PROGIX_CONNECTION)
        options = SyncOptions.of(context.config, resource)
        connections = dict(context.instance.connections)

        @task(task_id=f"sync_{resource}", multiple_outputs=False)
        def sync() -> dict[str, int]:
            """Fetch the changed records (`sync_page_size` per request), map, upsert; return
            counts only (the events set aside go to XCom `quarantined_events`)."""
            events = run_events(context.flow, connections)  # a test run may ask for samples
            return sync_events(
                resource,
                events,
                event_types=event_types,
                acme_conn_id=acme_conn_id,
                progix_conn_id=progix_conn_id,
                options=options,
                set_aside=record_set_aside,
            )

        sync()

    def params(context: FlowContext) -> Mapping[str, Param]:
        return {EVENTS_PARAM: events_param(context.flow)}

    return FlowRecipe(build_tasks=build_tasks, params=params)


def _build_initialization(context: FlowContext) -> None:
    integration, instance = context.integration, context.instance
    acme_conn_id = context.conn_id(ACME_CONNECTION)

    progix_conn_id = context.conn_id(PROGIX_CONNECTION)
    tenant = str(context.config.get("progix_tenant") or "")

    @task(task_id="check_progix_tenant")
    def check_tenant() -> str:
        """The Progix key's tenant must be the configured one, before anything is registered."""
        return check_progix_tenant(progix_conn_id, tenant)

    ensure = AcmeEnsureWebhooksOperator(
        task_id="ensure_webhooks",
        managed_by=context.owner,
        webhooks=desired_webhooks_task(context),
        secret_resolver=RouteSecretResolver(integration.slug, instance.id),
        acme_conn_id=acme_conn_id,
    )
    check_tenant() >> ensure
    if context.config.get("backfill_on_deploy"):
        # After the webhooks exist, so a change made during the backfill is not lost.
        for resource in ("customers", "inventory"):
            options = SyncOptions.of(context.config, resource)
            ensure >> AcmeFetchRecordsOperator(
                task_id=f"backfill_{resource}",
                resource=resource,
                on_batch=options.upsert(resource, progix_conn_id),
                batch_size=options.page_size,
                acme_conn_id=acme_conn_id,
            )


def repair_report_of_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The platform's repair report from the reconcile summary (keys and counts only)."""
    return repair_report(
        missing=summary["created"],
        changed=summary["updated"],
        foreign=summary["adopted"],
        removed=len(summary["deleted"]),
        unchanged=summary["unchanged"],
    )


def _build_drift_repair(context: FlowContext) -> None:
    """Initialization's reconcile again, on the instance's interval: same desired webhooks,
    same owner, secrets from the relay (masked in the log), so it repairs exactly what
    Initialization set up and nothing else."""
    integration, instance = context.integration, context.instance
    repair = AcmeEnsureWebhooksOperator(
        task_id="repair_webhooks",
        managed_by=context.owner,
        webhooks=desired_webhooks_task(context, after=active_check_task(context)),
        secret_resolver=RouteSecretResolver(integration.slug, instance.id),
        acme_conn_id=context.conn_id(ACME_CONNECTION),
    )

    @task(task_id="repair_report", multiple_outputs=False)
    def report(summary: Mapping[str, Any]) -> dict[str, Any]:
        """What was repaired, for `status` and the instance page."""
        return repair_report_of_summary(summary)

    report(repair.output)


def _build_teardown(context: FlowContext) -> None:
    delete = AcmeDeleteWebhooksOperator(
        task_id="delete_webhooks",
        managed_by=context.owner,
        acme_conn_id=context.conn_id(ACME_CONNECTION),
    )
    delete >> retire_routes_task(context)  # after Acme stopped sending


FLOW_RECIPES: Mapping[str, FlowRecipe] = {
    SYNC_CUSTOMERS: _sync_flow("customers"),
    SYNC_INVENTORY: _sync_flow("inventory"),
    INITIALIZATION: FlowRecipe(build_tasks=_build_initialization),
    DRIFT_REPAIR: FlowRecipe(build_tasks=_build_drift_repair),
    TEARDOWN: FlowRecipe(build_tasks=_build_teardown),
}
