"""The Acme ERP integration as data: five flows and its config wizard.

Mirrors the product tutorial: two webhook-triggered sync flows, a deploy-time Initialization
flow that registers their webhooks in the customer's Acme ERP, a Webhook drift repair flow
that re-checks them on the instance's interval, and a Teardown flow.
"""

from __future__ import annotations

from acme_erp_integration.samples import RecentAcmeRecords
from acme_provider.hooks.acme_api import MAX_IDS_PER_REQUEST
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
from integration_platform.integrations.alerts import alerts_page
from integration_platform.integrations.drift import drift_page
from integration_platform.integrations.limits import FlowLimits, limits_page

SYNC_CUSTOMERS = "sync-customer-data"
SYNC_INVENTORY = "sync-inventory-data"
INITIALIZATION = "initialization"
TEARDOWN = "teardown"
DRIFT_REPAIR = "webhook-drift-repair"
INVALID_RECORD_POLICIES = ("fail", "skip")

LIMITS_PAGE = limits_page(
    # Sync runs are idempotent (versioned upserts), so a few may overlap to drain a burst.
    {SYNC_CUSTOMERS: FlowLimits(max_active_runs=4), SYNC_INVENTORY: FlowLimits(max_active_runs=4)},
    pool_slots=0,
)

ACME_CONNECTION = ConnectionSpec(
    conn_type="acme_erp",
    id_prefix="acme_erp",
    fields=(
        ConnectionField("host", "Acme API base URL", placeholder="https://api.acme-erp.example"),
        ConnectionField("password", "API key", secret=True),
    ),
)
PROGIX_CONNECTION = ConnectionSpec(
    conn_type="http",
    id_prefix="progix",
    fields=(
        ConnectionField("host", "Progix API base URL", placeholder="https://api.progix.example"),
        ConnectionField("password", "Progix API key", secret=True),
    ),
)

ACME_ERP = Integration(
    slug="acme-erp",
    name="Acme ERP",
    description="Sync customers and inventory from a customer's Acme ERP into Progix.",
    flows=(
        Flow(
            slug=SYNC_CUSTOMERS,
            name="Sync Customer Data",
            description="When customers are created or updated in Acme ERP, upsert them into Progix.",
            trigger=TriggerKind.WEBHOOK,
            events=("customer.created", "customer.updated"),
            sample_object_ids=("cus_example", "cus_3f9a1c2e7b604d18"),
            sample_source=RecentAcmeRecords("customers"),
        ),
        Flow(
            slug=SYNC_INVENTORY,
            name="Sync Inventory Data",
            description="When inventory items change in Acme ERP, upsert them into Progix.",
            trigger=TriggerKind.WEBHOOK,
            events=("inventory.updated",),
            sample_object_ids=("SKU-EXAMPLE", "SKU-0042"),
            sample_source=RecentAcmeRecords("inventory"),
        ),
        Flow(
            slug=INITIALIZATION,
            name="Initialization",
            description="On every deploy, register this instance's webhooks in Acme ERP "
            "(one per sync flow, at that flow's webhook URL) and optionally backfill.",
            trigger=TriggerKind.DEPLOY,
        ),
        Flow(
            slug=DRIFT_REPAIR,
            name="Webhook drift repair",
            description="Every drift-repair interval, check this instance's webhooks in Acme ERP "
            "and repair what drifted: re-create missing ones, put back changed URLs, events or "
            "secrets, take over foreign-owned ones at this instance's URLs. Webhooks the "
            "instance does not manage are never touched.",
            trigger=TriggerKind.REPAIR,
        ),
        Flow(
            slug=TEARDOWN,
            name="Teardown",
            description="On removal, delete the webhooks this instance registered in Acme ERP.",
            trigger=TriggerKind.REMOVE,
        ),
    ),
    pages=(
        ConfigPage(
            title="Acme ERP",
            description="Where this customer's Acme ERP lives and the API key to reach it.",
            variables=(
                ConfigVariable(
                    key="acme_connection",
                    label="Acme ERP connection",
                    kind=VariableKind.CONNECTION,
                    help="Create an API key in Acme ERP under Settings > API keys.",
                    connection=ACME_CONNECTION,
                ),
            ),
        ),
        ConfigPage(
            title="Progix",
            description="The Progix tenant that receives this customer's records.",
            variables=(
                ConfigVariable(
                    key="progix_connection",
                    label="Progix connection",
                    kind=VariableKind.CONNECTION,
                    connection=PROGIX_CONNECTION,
                ),
                ConfigVariable(
                    key="progix_tenant",
                    label="Progix tenant",
                    kind=VariableKind.STRING,
                    help="The tenant id in Progix, e.g. 'shop-1'; Initialization checks that the "
                    "Progix API key belongs to it.",
                ),
            ),
        ),
        ConfigPage(
            title="Sync options",
            description="What to sync, and whether to copy existing records on deploy.",
            variables=(
                ConfigVariable(
                    key="warehouses",
                    label="Warehouses to sync",
                    kind=VariableKind.LIST,
                    help="Only inventory in these warehouses is synced; leave empty for all.",
                    required=False,
                    default=[],
                ),
                ConfigVariable(
                    key="sync_page_size",
                    label="Records per Acme request",
                    kind=VariableKind.NUMBER,
                    help=f"How many records each request to Acme ERP fetches (1-"
                    f"{MAX_IDS_PER_REQUEST}); lower it for an Acme ERP that answers large pages "
                    "slowly.",
                    required=False,
                    default=MAX_IDS_PER_REQUEST,
                    minimum=1,
                    maximum=MAX_IDS_PER_REQUEST,
                    integer=True,
                ),
                ConfigVariable(
                    key="invalid_records",
                    label="Records Progix cannot take",
                    kind=VariableKind.CHOICE,
                    help="'fail': the run fails and names the record, so nothing is skipped "
                    "silently; 'skip': the record is counted as invalid and logged, the rest "
                    "are synced.",
                    required=False,
                    default="fail",
                    choices=INVALID_RECORD_POLICIES,
                ),
                ConfigVariable(
                    key="backfill_on_deploy",
                    label="Backfill existing records on deploy",
                    kind=VariableKind.BOOLEAN,
                    help="Copy every existing customer and inventory item on each deploy.",
                    required=False,
                    default=False,
                ),
            ),
        ),
        LIMITS_PAGE,
        drift_page(interval_minutes=60),
        alerts_page(),
    ),
)
