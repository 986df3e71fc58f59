"""The integration model: flows, triggers and the config wizard reject inconsistent shapes."""

from __future__ import annotations

import pytest

from acme_erp_integration import ACME_ERP
from acme_erp_integration.definition import LIMITS_PAGE
from integration_platform.integrations import (
    ConfigPage,
    ConfigVariable,
    ConnectionSpec,
    Flow,
    Integration,
    TriggerKind,
    VariableKind,
)
from integration_platform.integrations.alerts import alert_defaults
from integration_platform.integrations.drift import drift_defaults
from integration_platform.integrations.limits import limit_defaults


def test_acme_erp_has_the_five_flows_and_six_pages() -> None:
    assert [(f.slug, f.trigger) for f in ACME_ERP.flows] == [
        ("sync-customer-data", TriggerKind.WEBHOOK),
        ("sync-inventory-data", TriggerKind.WEBHOOK),
        ("initialization", TriggerKind.DEPLOY),
        ("webhook-drift-repair", TriggerKind.REPAIR),
        ("teardown", TriggerKind.REMOVE),
    ]
    assert [page.title for page in ACME_ERP.pages] == [
        "Acme ERP",
        "Progix",
        "Sync options",
        "Limits",
        "Drift repair",
        "Alerts",
    ]
    assert [v.key for v in ACME_ERP.connection_variables] == [
        "acme_connection",
        "progix_connection",
    ]
    assert ACME_ERP.variable("acme_connection").connection.conn_id("shop-1") == "acme_erp__shop-1"


def test_webhook_urls_cover_exactly_the_webhook_flows() -> None:
    assert ACME_ERP.webhook_urls("http://relay:8700/", "shop-1") == {
        "sync-customer-data": "http://relay:8700/hooks/acme-erp/shop-1/sync-customer-data",
        "sync-inventory-data": "http://relay:8700/hooks/acme-erp/shop-1/sync-inventory-data",
    }


def test_lookups_name_the_valid_choices() -> None:
    with pytest.raises(KeyError, match="valid flows: sync-customer-data"):
        ACME_ERP.flow("sync-orders")
    with pytest.raises(KeyError, match="valid: acme_connection"):
        ACME_ERP.variable("colour")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trigger": TriggerKind.WEBHOOK}, "events are required"),
        ({"trigger": TriggerKind.DEPLOY, "events": ("x.y",)}, "events are required"),
        ({"trigger": TriggerKind.SCHEDULE}, "a schedule is required"),
        ({"trigger": TriggerKind.REMOVE, "schedule": "@daily"}, "a schedule is required"),
    ],
)
def test_flow_trigger_shapes(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Flow(slug="f", name="F", description="", **kwargs)


def test_variables_and_integrations_reject_inconsistencies() -> None:
    with pytest.raises(ValueError, match="connection spec is required"):
        ConfigVariable("c", "C", VariableKind.CONNECTION)
    with pytest.raises(ValueError, match="connection spec is required"):
        ConfigVariable("s", "S", VariableKind.STRING, connection=ConnectionSpec("http", "x", ()))
    with pytest.raises(ValueError, match="needs choices"):
        ConfigVariable("k", "K", VariableKind.CHOICE)
    flow = Flow(slug="f", name="F", description="", trigger=TriggerKind.REMOVE)
    with pytest.raises(ValueError, match="flow slugs must be unique"):
        Integration("i", "I", "", flows=(flow, flow))
    variable = ConfigVariable("k", "K", VariableKind.STRING)
    with pytest.raises(ValueError, match="variable keys must be unique"):
        Integration(
            "i",
            "I",
            "",
            flows=(flow,),
            pages=(ConfigPage("a", (variable,)), ConfigPage("b", (variable,))),
        )


def test_secrets_and_connections_never_live_in_instance_files() -> None:
    stored = {v.key for v in ACME_ERP.variables if v.stored_in_instance_file}
    assert stored == {
        "progix_tenant",
        "warehouses",
        "backfill_on_deploy",
        "sync_page_size",
        "invalid_records",
        *alert_defaults(),
        *limit_defaults(LIMITS_PAGE),
        *drift_defaults(),
    }
    assert not ConfigVariable("k", "K", VariableKind.SECRET).stored_in_instance_file
