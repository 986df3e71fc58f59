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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class Shop:
    """One customer of the story: its instance, Acme account, Progix tenant and key variables."""

    instance: str
    customer: str
    acme: AcmeSimulator
    progix: ProgixSimulator
    tenant: str
    env_prefix: str

    @property
    def secrets_env(self) -> dict[str, str]:
        return {
            f"{self.env_prefix}_ACME_KEY": self.acme.api_key,
            f"{self.env_prefix}_PROGIX_KEY": self.progix.api_key,
        }

    def request(self, stack: StackHandle, path: Path, **config: Any) -> Path:
        """A deploy request whose keys are read from this shop's environment variables."""
        return write_deploy_request(
            path,
            customer=self.customer,
            stack=stack,
            tenant=self.tenant,
            acme_key_env=f"{self.env_prefix}_ACME_KEY",
            progix_key_env=f"{self.env_prefix}_PROGIX_KEY",
            **config,
        )


def _shops(stack: StackHandle) -> tuple[Shop, Shop]:
    def shop(n: int, instance: str, customer: str) -> Shop:
        acme, progix = stack.acme_for(ACME_ACCOUNTS[n]), stack.progix_for(PROGIX_TENANTS[n])
        prefix = instance.replace("-", "_").upper()
        return Shop(instance, customer, acme, progix, PROGIX_TENANTS[n], prefix)

    return shop(0, SHOP_ONE, "Shop One"), shop(1, SHOP_TWO, "Shop Two")


@pytest.mark.usefixtures("leaves_no_instance")
def test_two_customers_from_deploy_to_remove(stack: StackHandle, tmp_path: Path) -> None:
    one, two = _shops(stack)
    secrets_env = {**one.secrets_env, **two.secrets_env}
    cli = AcmeErpCli(stack, secrets_env)
    request_one = one.request(stack, tmp_path / "shop-one.yaml")
    request_two = two.request(stack, tmp_path / "shop-two.yaml")
    for path in (request_one, request_two):
        assert not [key for key in secrets_env.values() if key in path.read_text()]

    deployed_one = _deploy_both(cli, stack, one, request_one, two, request_two)
    _change_both_under_faults(stack, one, two)
    _test_flow_runs_only_its_flow(cli, stack, tmp_path)
    _redeploy_after_drift(cli, stack, one, deployed_one, tmp_path)
    _remove_one_other_keeps_syncing(cli, stack, one, two)

    # 7. Remove the last instance too: Acme is back to no webhooks at all.
    assert cli.ok("remove", SHOP_ONE)["removed"] is True
    assert one.acme.list_webhooks() == []
    assert list(stack.stack.instances_dir.glob("*.yaml")) == []


def _deploy_both(
    cli: AcmeErpCli, stack: StackHandle, one: Shop, request_one: Path, two: Shop, request_two: Path
) -> dict:
    """1. Deploy: each account gets exactly its instance's two webhooks, at the right URLs."""
    deployed_one = _deploy(cli, SHOP_ONE, request_one)
    _deploy(cli, SHOP_TWO, request_two)
    assert registered_webhooks(one.acme) == expected_webhooks(stack, SHOP_ONE)
    assert registered_webhooks(two.acme) == expected_webhooks(stack, SHOP_TWO)
    assert set(deployed_one["webhook_urls"].values()) == set(expected_webhooks(stack, SHOP_ONE))
    return deployed_one


def _change_both_under_faults(stack: StackHandle, one: Shop, two: Shop) -> None:
    """2. Changes in both accounts under faults: duplicates, reordering, injected 5xx.
    3. Progix converges to the newest version of every record, each in its own tenant only."""
    one.acme.set_faults(error_rate=0.1, duplicate_rate=0.3, reorder_window=5, reorder_hold_ms=300)
    one.progix.set_faults(error_rate=0.1)
    _make_changes(one.acme, "ONE")
    _make_changes(two.acme, "TWO")
    for shop, which in ((one, "one"), (two, "two")):
        wait_until(
            lambda shop=shop: _converged(shop.acme, shop.progix),
            timeout=SYNC_TIMEOUT,
            what=f"tenant {which} to hold account {which}'s newest records",
        )
    one.acme.clear_faults()
    one.progix.clear_faults()
    stats = one.acme.wait_deliveries_drained(timeout=120)
    assert stats["events"] > 0, stats
    assert stats["failed"] == 0, stats
    wait_quiet(stack, one.acme, [SHOP_ONE, SHOP_TWO])
    assert _converged(one.acme, one.progix)
    assert _converged(two.acme, two.progix)


def _test_flow_runs_only_its_flow(cli: AcmeErpCli, stack: StackHandle, tmp_path: Path) -> None:
    """4. test-flow runs exactly the chosen flow: the other flow gets no run."""
    customer_dag = ACME_ERP.dag_id(SHOP_ONE, SYNC_CUSTOMERS)
    inventory_dag = ACME_ERP.dag_id(SHOP_ONE, SYNC_INVENTORY)
    customer_runs_before = {r["dag_run_id"] for r in dag_runs(stack, customer_dag)}
    inventory_runs_before = {r["dag_run_id"] for r in dag_runs(stack, inventory_dag)}
    event = {
        "id": "evt_e2e_test_flow",
        "type": "inventory.updated",
        "object_id": "ONE-SKU-0",
        "occurred_at": "2026-01-01T00:00:00+00:00",
    }
    payload = tmp_path / "inventory-event.json"
    payload.write_text(json.dumps({"events": [event]}))
    tested = cli.ok("test-flow", SHOP_ONE, SYNC_INVENTORY, "--payload", str(payload))
    assert tested["run"]["state"] == "success", tested
    assert tested["flow"] == SYNC_INVENTORY
    inventory_runs_after = {r["dag_run_id"] for r in dag_runs(stack, inventory_dag)}
    assert inventory_runs_after - inventory_runs_before == {tested["run"]["run_id"]}
    assert {r["dag_run_id"] for r in dag_runs(stack, customer_dag)} == customer_runs_before


def _redeploy_after_drift(
    cli: AcmeErpCli, stack: StackHandle, one: Shop, deployed_one: dict, tmp_path: Path
) -> None:
    """5. Redeploy with changed config after drift: webhooks reconciled, new config in force."""
    inventory_url = ACME_ERP.webhook_urls(stack.stack.relay_url, SHOP_ONE)[SYNC_INVENTORY]
    drifted = next(h for h in one.acme.list_webhooks() if h["url"] == inventory_url)
    with one.acme.client() as client:
        client.delete(f"/v1/webhooks/{drifted['id']}").raise_for_status()
    assert inventory_url not in registered_webhooks(one.acme)
    request_one_par = one.request(stack, tmp_path / "shop-one-par.yaml", warehouses=["PAR-1"])
    redeployed = _deploy(cli, SHOP_ONE, request_one_par)
    assert redeployed["instance"]["generation"] > deployed_one["instance"]["generation"]
    assert registered_webhooks(one.acme) == expected_webhooks(stack, SHOP_ONE)
    assert cli.ok("deploy", SHOP_ONE, "--config", str(request_one_par))["outcome"] == "unchanged"
    # Only PAR-1 inventory syncs now: a LYS-2 change stays behind, a PAR-1 change arrives.
    lys_sku, par_sku = "ONE-SKU-1", "ONE-SKU-0"
    lys_before = one.progix.get("inventory", lys_sku)["version"]
    one.acme.update_item(lys_sku, quantity=7)
    par_version = one.acme.update_item(par_sku, quantity=8)["version"]
    wait_until(
        lambda: one.progix.get("inventory", par_sku)["version"] == par_version,
        timeout=SYNC_TIMEOUT,
        what="the PAR-1 item's change in Progix",
    )
    wait_quiet(stack, one.acme, [SHOP_ONE])
    assert one.progix.get("inventory", lys_sku)["version"] == lys_before


def _remove_one_other_keeps_syncing(
    cli: AcmeErpCli, stack: StackHandle, one: Shop, two: Shop
) -> None:
    """6. Remove shop-two: its webhooks, file and connections are gone; shop-one keeps syncing."""
    removed = cli.ok("remove", SHOP_TWO)
    assert removed["removed"] is True
    assert two.acme.list_webhooks() == []
    assert not (stack.stack.instances_dir / f"{SHOP_TWO}.yaml").exists()
    rest = stack.stack.rest()
    for conn_id in (f"acme_erp__{SHOP_TWO}", f"progix__{SHOP_TWO}"):
        assert (
            rest.request("GET", f"/api/v2/connections/{conn_id}", expected=(200, 404)).status_code
            == 404
        )
    assert registered_webhooks(one.acme) == expected_webhooks(stack, SHOP_ONE)
    customer_id = next(iter(acme_versions(one.acme)["customers"]))
    version = one.acme.update_customer(customer_id, name="Renamed after removal")["version"]
    wait_until(
        lambda: one.progix.get("customers", customer_id)["version"] == version,
        timeout=SYNC_TIMEOUT,
        what="shop-one to keep syncing after shop-two was removed",
    )
    assert two.progix.get("customers", customer_id) is None
