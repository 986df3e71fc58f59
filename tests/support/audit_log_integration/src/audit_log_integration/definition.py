"""The audit-log integration as data: a webhook flow, its deploy flow and its remove flow."""

from __future__ import annotations

from integration_platform.integrations import (
    ConfigPage,
    ConfigVariable,
    ConnectionField,
    ConnectionSpec,
    Flow,
    Integration,
    TriggerKind,
    VariableKind,
)

LOG_CHANGES = "log-changes"
SOURCE_CONNECTION = "source_connection"
ID_HASH_KEY = "id_hash_key"

AUDIT_LOG = Integration(
    slug="audit-log",
    name="Audit log",
    description="Log which customers change in a customer's Acme ERP (a test integration).",
    flows=(
        Flow(
            slug=LOG_CHANGES,
            name="Log changes",
            description="Return the ids of the customers named by a batch of events.",
            trigger=TriggerKind.WEBHOOK,
            events=("customer.created", "customer.updated"),
            sample_object_ids=("cus_audit_example",),
        ),
        Flow(
            slug="subscribe",
            name="Subscribe",
            description="Register this instance's webhook in Acme ERP.",
            trigger=TriggerKind.DEPLOY,
        ),
        Flow(
            slug="unsubscribe",
            name="Unsubscribe",
            description="Delete the webhook this instance registered.",
            trigger=TriggerKind.REMOVE,
        ),
    ),
    pages=(
        ConfigPage(
            title="Source",
            variables=(
                ConfigVariable(
                    key=SOURCE_CONNECTION,
                    label="Acme ERP connection",
                    kind=VariableKind.CONNECTION,
                    connection=ConnectionSpec(
                        conn_type="acme_erp",
                        id_prefix="audit_acme",
                        fields=(
                            ConnectionField("host", "Acme API base URL"),
                            ConnectionField("password", "API key", secret=True),
                        ),
                    ),
                ),
            ),
        ),
        ConfigPage(
            title="Privacy",
            description="The audit log names customers by a keyed hash, never by their id.",
            variables=(
                ConfigVariable(
                    key=ID_HASH_KEY,
                    label="Pseudonymisation key",
                    kind=VariableKind.SECRET,
                    help="HMAC-SHA256 key of the object references in the audit log.",
                ),
            ),
        ),
    ),
)
