"""Issue 6's story end to end, all real processes: two customers from deploy to remove.

Stack: embedded PostgreSQL, Airflow standalone, the relay, the Acme and Progix simulators
(fixture `stack`). The `acme-erp` console script does every lifecycle step, as an operator
would. Acme delivers with duplicates and reordering, and both simulators answer some API
calls with injected 5xx while the data flows.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS, SYNC_INVENTORY
from tests.e2e.scenario import (
    ACME_ERP_CLI,
    AcmeErpCli,
    acme_versions,
    dag_runs,
    expected_webhooks,
    progix_versions,
    registered_webhooks,
    retry_injected_5xx,
    wait_quiet,
    write_deploy_request,
)
from tests.support.polling import wait_until
from tests.support.simulators import AcmeSimulator, ProgixSimulator
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SHOP_ONE, SHOP_TWO = "shop-one", "shop-two"
SYNC_TIMEOUT = 180.0


def _make_changes(acme: AcmeSimulator, prefix: str, rounds: int = 3) -> None:
    """Create customers and items, then update every one of them `rounds` times."""
    customers = [
        retry_injected_5xx(lambda n=n: acme.create_customer(name=f"{prefix} customer {n}"))["id"]
        for n in range(5)
    ]
    skus = [f"{prefix}-SKU-{n}" for n in range(5)]
    warehouses = ["PAR-1", "LYS-2"]
    for n, sku in enumerate(skus):
        retry_injected_5xx(
            lambda sku=sku, n=n: acme.create_item(sku, warehouse=warehouses[n % 2], quantity=n)
        )
    for round_ in range(rounds):
        for customer_id in customers:
            retry_injected_5xx(
                lambda c=customer_id, r=round_: acme.update_customer(c, phone=f"+33 1 00 00 0{r}")
            )
        for sku in skus:
            retry_injected_5xx(lambda s=sku, r=round_: acme.update_item(s, quantity=100 + r))


def _converged(acme: AcmeSimulator, progix: ProgixSimulator) -> bool:
    """Progix's tenant holds exactly Acme's records, each at Acme's newest version."""
    return retry_injected_5xx(lambda: progix_versions(progix)) == retry_injected_5xx(
        lambda: acme_versions(acme)
    )


def _deploy(cli: AcmeErpCli, instance: str, request: Path) -> dict:
    result = cli.ok("deploy", instance, "--config", str(request))
    assert result["outcome"] in ("deployed", "redeployed"), result
    return result


@pytest.fixture
def leaves_no_instance(stack: StackHandle) -> Iterator[None]:
    """The session's stack is shared: remove whatever instance a failed run left behind."""
    yield
    env = stack.stack.client_environment()
    for path in stack.stack.instances_dir.glob("*.yaml"):
        subprocess.run(
            [ACME_ERP_CLI, "remove", path.stem], env=env, capture_output=True, check=False
        )


@pytest.mark.usefixtures("leaves_no_instance")
def test_two_customers_from_deploy_to_remove(stack: StackHandle, tmp_path: Path) -> None:
    acme_one, acme_two = stack.acme_for(ACME_ACCOUNTS[0]), stack.acme_for(ACME_ACCOUNTS[1])
    progix_one, progix_two = (
        stack.progix_for(PROGIX_TENANTS[0]),
        stack.progix_for(PROGIX_TENANTS[1]),
    )
    secrets_env = {
        "SHOP_ONE_ACME_KEY": acme_one.api_key,
        "SHOP_ONE_PROGIX_KEY": progix_one.api_key,
        "SHOP_TWO_ACME_KEY": acme_two.api_key,
        "SHOP_TWO_PROGIX_KEY": progix_two.api_key,
    }
    cli = AcmeErpCli(stack, secrets_env)
    request_one = write_deploy_request(
        tmp_path / "shop-one.yaml",
        customer="Shop One",
        stack=stack,
        tenant=PROGIX_TENANTS[0],
        acme_key_env="SHOP_ONE_ACME_KEY",
        progix_key_env="SHOP_ONE_PROGIX_KEY",
    )
    request_two = write_deploy_request(
        tmp_path / "shop-two.yaml",
        customer="Shop Two",
        stack=stack,
        tenant=PROGIX_TENANTS[1],
        acme_key_env="SHOP_TWO_ACME_KEY",
        progix_key_env="SHOP_TWO_PROGIX_KEY",
    )
    for path in (request_one, request_two):
        assert not [key for key in secrets_env.values() if key in path.read_text()]

    # 1. Deploy: each account gets exactly its instance's two webhooks, at the right URLs.
    deployed_one = _deploy(cli, SHOP_ONE, request_one)
    _deploy(cli, SHOP_TWO, request_two)
    assert registered_webhooks(acme_one) == expected_webhooks(stack, SHOP_ONE)
    assert registered_webhooks(acme_two) == expected_webhooks(stack, SHOP_TWO)
    assert set(deployed_one["webhook_urls"].values()) == set(expected_webhooks(stack, SHOP_ONE))

    # 2. Changes in both accounts under faults: duplicates, reordering, injected 5xx.
    acme_one.set_faults(error_rate=0.1, duplicate_rate=0.3, reorder_window=5, reorder_hold_ms=300)
    progix_one.set_faults(error_rate=0.1)
    _make_changes(acme_one, "ONE")
    _make_changes(acme_two, "TWO")

    # 3. Progix converges to the newest version of every record, each in its own tenant only.
    wait_until(
        lambda: _converged(acme_one, progix_one),
        timeout=SYNC_TIMEOUT,
        what="tenant one to hold account one's newest records",
    )
    wait_until(
        lambda: _converged(acme_two, progix_two),
        timeout=SYNC_TIMEOUT,
        what="tenant two to hold account two's newest records",
    )
    acme_one.clear_faults()
    progix_one.clear_faults()
    stats = acme_one.wait_deliveries_drained(timeout=120)
    assert stats["events"] > 0, stats
    assert stats["failed"] == 0, stats
    wait_quiet(stack, acme_one, [SHOP_ONE, SHOP_TWO])
    assert _converged(acme_one, progix_one)
    assert _converged(acme_two, progix_two)

    # 4. test-flow runs exactly the chosen flow: the other flow gets no run.
    customer_dag = ACME_ERP.dag_id(SHOP_ONE, SYNC_CUSTOMERS)
    inventory_dag = ACME_ERP.dag_id(SHOP_ONE, SYNC_INVENTORY)
    customer_runs_before = {r["dag_run_id"] for r in dag_runs(stack, customer_dag)}
    inventory_runs_before = {r["dag_run_id"] for r in dag_runs(stack, inventory_dag)}
    payload = tmp_path / "inventory-event.json"
    payload.write_text(
        json.dumps(
            {
                "events": [
                    {
                        "id": "evt_e2e_test_flow",
                        "type": "inventory.updated",
                        "object_id": "ONE-SKU-0",
                        "occurred_at": "2026-01-01T00:00:00+00:00",
                    }
                ]
            }
        )
    )
    tested = cli.ok("test-flow", SHOP_ONE, SYNC_INVENTORY, "--payload", str(payload))
    assert tested["run"]["state"] == "success", tested
    assert tested["flow"] == SYNC_INVENTORY
    inventory_runs_after = {r["dag_run_id"] for r in dag_runs(stack, inventory_dag)}
    assert inventory_runs_after - inventory_runs_before == {tested["run"]["run_id"]}
    assert {r["dag_run_id"] for r in dag_runs(stack, customer_dag)} == customer_runs_before

    # 5. Redeploy with changed config after drift: webhooks reconciled, new config in force.
    inventory_url = ACME_ERP.webhook_urls(stack.stack.relay_url, SHOP_ONE)[SYNC_INVENTORY]
    drifted = next(h for h in acme_one.list_webhooks() if h["url"] == inventory_url)
    with acme_one.client() as client:
        client.delete(f"/v1/webhooks/{drifted['id']}").raise_for_status()
    assert inventory_url not in registered_webhooks(acme_one)
    request_one_par = write_deploy_request(
        tmp_path / "shop-one-par.yaml",
        customer="Shop One",
        stack=stack,
        tenant=PROGIX_TENANTS[0],
        acme_key_env="SHOP_ONE_ACME_KEY",
        progix_key_env="SHOP_ONE_PROGIX_KEY",
        warehouses=["PAR-1"],
    )
    redeployed = _deploy(cli, SHOP_ONE, request_one_par)
    assert redeployed["instance"]["generation"] > deployed_one["instance"]["generation"]
    assert registered_webhooks(acme_one) == expected_webhooks(stack, SHOP_ONE)
    assert cli.ok("deploy", SHOP_ONE, "--config", str(request_one_par))["outcome"] == "unchanged"
    # Only PAR-1 inventory syncs now: a LYS-2 change stays behind, a PAR-1 change arrives.
    lys_sku, par_sku = "ONE-SKU-1", "ONE-SKU-0"
    lys_before = progix_one.get("inventory", lys_sku)["version"]
    acme_one.update_item(lys_sku, quantity=7)
    par_version = acme_one.update_item(par_sku, quantity=8)["version"]
    wait_until(
        lambda: progix_one.get("inventory", par_sku)["version"] == par_version,
        timeout=SYNC_TIMEOUT,
        what="the PAR-1 item's change in Progix",
    )
    wait_quiet(stack, acme_one, [SHOP_ONE])
    assert progix_one.get("inventory", lys_sku)["version"] == lys_before

    # 6. Remove shop-two: its webhooks, file and connections are gone; shop-one keeps syncing.
    removed = cli.ok("remove", SHOP_TWO)
    assert removed["removed"] is True
    assert acme_two.list_webhooks() == []
    assert not (stack.stack.instances_dir / f"{SHOP_TWO}.yaml").exists()
    rest = stack.stack.rest()
    for conn_id in (f"acme_erp__{SHOP_TWO}", f"progix__{SHOP_TWO}"):
        assert (
            rest.request("GET", f"/api/v2/connections/{conn_id}", expected=(200, 404)).status_code
            == 404
        )
    assert registered_webhooks(acme_one) == expected_webhooks(stack, SHOP_ONE)
    customer_id = next(iter(acme_versions(acme_one)["customers"]))
    version = acme_one.update_customer(customer_id, name="Renamed after removal")["version"]
    wait_until(
        lambda: progix_one.get("customers", customer_id)["version"] == version,
        timeout=SYNC_TIMEOUT,
        what="shop-one to keep syncing after shop-two was removed",
    )
    assert progix_two.get("customers", customer_id) is None

    # 7. Remove the last instance too: Acme is back to no webhooks at all.
    assert cli.ok("remove", SHOP_ONE)["removed"] is True
    assert acme_one.list_webhooks() == []
    assert list(stack.stack.instances_dir.glob("*.yaml")) == []
