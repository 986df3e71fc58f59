"""The audit-log flows' tasks, built by the platform's DAG factory (one shard)."""

from __future__ import annotations

import hashlib
import hmac

from airflow.sdk import get_current_context, task

from acme_provider.operators.webhooks import AcmeDeleteWebhooksOperator, AcmeEnsureWebhooksOperator
from audit_log_integration.definition import (
    AUDIT_LOG,
    ID_HASH_KEY,
    LOG_CHANGES,
    SOURCE_CONNECTION,
)
from integration_platform.integrations.events import (
    EVENTS_PARAM,
    changed_objects,
    events_param,
    record_set_aside,
)
from integration_platform.integrations.factory import DagFactory, FlowContext, FlowRecipe
from integration_platform.integrations.relay import RouteSecretResolver
from integration_platform.integrations.secrets import read_secret
from integration_platform.integrations.webhooks import desired_webhooks_task, retire_routes_task
from integration_platform.registry import integrations


def object_ref(key: str, object_id: str) -> str:
    """A pseudonymous reference to an object: HMAC-SHA256 of its id under the instance's key."""
    return hmac.new(key.encode(), object_id.encode(), hashlib.sha256).hexdigest()[:32]


def _log_changes(context: FlowContext) -> None:
    accepted = context.flow.events
    key_conn_id = context.conn_id(ID_HASH_KEY)

    @task(task_id="log_changes", multiple_outputs=False)
    def log_changes() -> dict[str, object]:
        changed = changed_objects(get_current_context()["params"][EVENTS_PARAM], accepted)
        record_set_aside(changed.quarantined)
        key = read_secret(key_conn_id)  # the task log masks it from here on
        refs = [object_ref(key, object_id) for object_id in changed.object_ids]
        # Deliberately logged with the key: the stack test proves the task runner masks it.
        print(f"changed objects: {', '.join(refs) or 'none'} (key {key})")
        return {"object_ids": changed.object_ids, "object_refs": refs, **changed.counts()}

    log_changes()


def _subscribe(context: FlowContext) -> None:
    AcmeEnsureWebhooksOperator(
        task_id="ensure_webhooks",
        managed_by=context.owner,
        webhooks=desired_webhooks_task(context),
        secret_resolver=RouteSecretResolver(context.integration.slug, context.instance.id),
        acme_conn_id=context.conn_id(SOURCE_CONNECTION),
    )


def _unsubscribe(context: FlowContext) -> None:
    delete = AcmeDeleteWebhooksOperator(
        task_id="delete_webhooks",
        managed_by=context.owner,
        acme_conn_id=context.conn_id(SOURCE_CONNECTION),
    )
    delete >> retire_routes_task(context)


FACTORY = DagFactory(
    AUDIT_LOG,
    {
        LOG_CHANGES: FlowRecipe(
            build_tasks=_log_changes, params=lambda c: {EVENTS_PARAM: events_param(c.flow)}
        ),
        "subscribe": FlowRecipe(build_tasks=_subscribe),
        "unsubscribe": FlowRecipe(build_tasks=_unsubscribe),
    },
    integrations=integrations(),
    shard_count=1,
)
