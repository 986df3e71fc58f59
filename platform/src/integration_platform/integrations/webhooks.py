"""The webhook subscriptions a deploy flow registers, and the XCom the lifecycle reads back.

A deploy flow that registers webhooks in the source system starts with the two tasks built
here: `webhook_urls` registers the instance's routes in the relay and returns `{WEBHOOK_URLS_KEY: {flow slug: URL}}` (the lifecycle shows these
URLs after a deploy) and `desired_webhooks` turns them into one subscription per webhook flow,
`{"key": flow slug, "url": ..., "events": [...]}`, for the integration's own register task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import task

from integration_platform.integrations.model import TriggerKind
from integration_platform.integrations.relay import register_routes, retire_routes

WEBHOOK_URLS_KEY = "webhookUrls"


def webhook_urls_of(xcom_value: Any) -> dict[str, str] | None:
    """The `{flow slug: URL}` a `webhook_urls` task returned, or None if `xcom_value` is not one."""
    if isinstance(xcom_value, Mapping) and isinstance(xcom_value.get(WEBHOOK_URLS_KEY), Mapping):
        return {str(k): str(v) for k, v in xcom_value[WEBHOOK_URLS_KEY].items()}
    return None


def desired_webhooks_task(context: Any, *, after: Any = None) -> Any:
    """Add `webhook_urls` >> `desired_webhooks` to the open DAG; return the latter's XComArg.

    `context` is the recipe's `FlowContext`; the relay's public URL is read from its
    connection at run time, never at parse time. `after`: a task (or XComArg) that must
    succeed first, e.g. a repair flow's `drift.active_check_task`.
    """
    integration, instance = context.integration, context.instance
    webhook_flows = integration.flows_triggered_by(TriggerKind.WEBHOOK)

    @task(task_id="webhook_urls", multiple_outputs=False)
    def webhook_urls() -> dict[str, dict[str, str]]:
        """Register the instance's routes in the relay (before the source can deliver to
        them), then `{"webhookUrls": {flow slug: URL}}` from the relay's public URL."""
        relay = register_routes(integration.slug, instance.id, [f.slug for f in webhook_flows])
        return {WEBHOOK_URLS_KEY: integration.webhook_urls(relay.public_url, instance.id)}

    @task(task_id="desired_webhooks")
    def desired_webhooks(result: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One subscription per webhook flow: its URL from webhookUrls and its event types."""
        urls = result[WEBHOOK_URLS_KEY]
        return [
            {"key": flow.slug, "url": urls[flow.slug], "events": list(flow.events)}
            for flow in webhook_flows
        ]

    urls = webhook_urls()
    if after is not None:
        after >> urls
    return desired_webhooks(urls)


def retire_routes_task(context: Any) -> Any:
    """Add `retire_routes` to the open DAG (a remove flow's last task); return its XComArg.

    Run after the source stopped delivering: the relay answers 410 from then on and discards
    what it still held for the routes; the counts are the task's XCom, which `remove` reports.
    """
    integration, instance = context.integration, context.instance
    slugs = [f.slug for f in integration.flows_triggered_by(TriggerKind.WEBHOOK)]

    @task(task_id="retire_routes", multiple_outputs=False)
    def retire() -> dict[str, int]:
        """The relay answers 410 for the instance's routes and discards what it held."""
        return retire_routes(integration.slug, instance.id, slugs)

    return retire()
