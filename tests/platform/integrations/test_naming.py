"""The naming contracts (`integration_contracts`), and that a DAG id maps back to its instance and flow."""

from __future__ import annotations

import pytest

from integration_platform.integrations import naming

FLOWS = ("sync-customer-data", "sync-inventory-data", "initialization", "teardown")


def test_contract_names() -> None:
    assert naming.dag_id("acme-erp", "shop-1", "sync-customer-data") == (
        "acme_erp__shop_1__sync_customer_data"
    )
    assert naming.dag_tags("acme-erp", "shop-1", "teardown") == [
        "integration:acme-erp",
        "instance:shop-1",
        "flow:teardown",
    ]
    assert naming.webhook_url(
        "https://relay.test/", "acme-erp", "shop-1", "sync-inventory-data"
    ) == ("https://relay.test/hooks/acme-erp/shop-1/sync-inventory-data")
    assert naming.connection_id("progix", "shop-1") == "progix__shop-1"
    assert naming.deploy_run_id(3) == "deploy__generation_3"


@pytest.mark.parametrize(
    "instance_id", ["shop-1", "ab", "teardown", "a1-sync-customer-data", "x" * 63]
)
@pytest.mark.parametrize("flow", FLOWS)
def test_parse_dag_id_inverts_dag_id(instance_id: str, flow: str) -> None:
    dag_id = naming.dag_id("acme-erp", instance_id, flow)
    assert naming.parse_dag_id("acme-erp", dag_id, FLOWS) == (instance_id, flow)


@pytest.mark.parametrize(
    "dag_id",
    [
        "other__shop_1__teardown",  # another integration
        "acme_erp__shop_1__unknown_flow",
        "acme_erp____teardown",  # no instance
        "acme_erp__Shop_1__teardown",  # not a valid instance id
        "acme_erp__teardown",
    ],
)
def test_parse_dag_id_rejects_foreign_ids(dag_id: str) -> None:
    assert naming.parse_dag_id("acme-erp", dag_id, FLOWS) is None


@pytest.mark.parametrize(
    "value",
    ["a", "1shop", "Shop", "shop_1", "shop.1", "x" * 64, "a--b", "ab-", "-ab", "a/b", "ab\n"],
)
def test_invalid_instance_ids(value: str) -> None:
    assert not naming.is_valid_instance_id(value)
