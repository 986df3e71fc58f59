"""Operators that keep an owner's Acme ERP webhook subscriptions in the desired state.

The owner argument is `managed_by`, not `owner`: `BaseOperator.owner` is the task's Airflow
owner, and templating a BaseOperator field makes the DAG fail to serialize.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import Any

from airflow.sdk import BaseOperator, Context

from acme_provider.hooks.acme_api import DEFAULT_CONN_NAME
from acme_provider.operators.failures import fail_fast_on_permanent_errors
from acme_provider.operators.webhook_reconcile import (
    ReconcileSummary,
    SecretResolver,
    delete_owned_webhooks,
    reconcile_webhooks,
)


class AcmeEnsureWebhooksOperator(BaseOperator):
    """Reconcile the subscriptions `managed_by` owns to `webhooks`; running it again is a no-op.

    :param managed_by: who owns the subscriptions (stored in their metadata), e.g.
        `acme-erp/<instance>`. Templated.
    :param webhooks: list of `{"url", "events", "key"}` (or an XComArg resolving to one);
        `key` is a stable name such as the flow slug. Templated.
    :param secret_resolver: called at execute time with each webhook mapping; returns the
        signing secret to give Acme. Secrets never reach XCom, logs or the DAG definition;
        only a fingerprint is stored in the subscription's metadata to detect drift.
    :param acme_conn_id: the `acme_erp` connection.
    :return: `{"created": [keys], "updated": [keys], "adopted": [keys], "deleted": [ids],
        "unchanged": [keys]}`; `adopted`: another owner's subscription at one of `webhooks`'
        URLs, taken over (see `webhook_reconcile`).
    """

    template_fields: Sequence[str] = ("managed_by", "webhooks")
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        managed_by: str,
        webhooks: Any,
        secret_resolver: SecretResolver,
        acme_conn_id: str = DEFAULT_CONN_NAME,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(secret_resolver):
            raise TypeError("secret_resolver must be callable: (webhook mapping) -> secret")
        self.managed_by = managed_by
        self.webhooks = webhooks
        self.secret_resolver = secret_resolver
        self.acme_conn_id = acme_conn_id

    def execute(self, context: Context) -> ReconcileSummary:
        from acme_provider.hooks.acme_erp import AcmeErpHook  # at run time: keeps parsing light

        hook = AcmeErpHook(acme_conn_id=self.acme_conn_id)
        with closing(hook), fail_fast_on_permanent_errors():
            summary = reconcile_webhooks(
                hook,
                managed_by=self.managed_by,
                webhooks=self.webhooks,
                secret_resolver=self.secret_resolver,
            )
        self.log.info(
            "Webhooks of %r: %d created, %d updated, %d adopted, %d deleted, %d unchanged",
            self.managed_by,
            len(summary["created"]),
            len(summary["updated"]),
            len(summary["adopted"]),
            len(summary["deleted"]),
            len(summary["unchanged"]),
        )
        return summary


class AcmeDeleteWebhooksOperator(BaseOperator):
    """Delete every subscription `managed_by` owns in Acme ERP (teardown); others stay.

    :return: `{"deleted": [subscription ids]}`.
    """

    template_fields: Sequence[str] = ("managed_by",)
    ui_color = "#fbe8e8"

    def __init__(
        self, *, managed_by: str, acme_conn_id: str = DEFAULT_CONN_NAME, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.managed_by = managed_by
        self.acme_conn_id = acme_conn_id

    def execute(self, context: Context) -> dict[str, list[str]]:
        from acme_provider.hooks.acme_erp import AcmeErpHook  # at run time: keeps parsing light

        hook = AcmeErpHook(acme_conn_id=self.acme_conn_id)
        with closing(hook), fail_fast_on_permanent_errors():
            deleted = delete_owned_webhooks(hook, managed_by=self.managed_by)
        self.log.info("Deleted %d Acme webhook(s) of %r", len(deleted), self.managed_by)
        return {"deleted": deleted}
