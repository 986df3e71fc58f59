"""Each Acme ERP flow run for real with `dag.test()` against the sandbox simulators.

The DAGs come from the real shims in `dags/`, the instance from a real instance file, the
credentials from Airflow connections; Acme ERP and Progix are the simulator processes and
Acme delivers to a webhook receiver standing in for the relay's public URL, while the
Initialization and Teardown tasks reach a real relay's admin API (the connection's
`admin_url`) to register and retire routes and fetch their secrets; Acme's signed deliveries
prove that the secret it got is the relay's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from integration_platform.integrations import naming
from tests.dags.support import DagTestRunner, conn_env, instance_data, write_instance
from tests.relay.harness import REGISTRAR_TOKEN, Relay, ingest_only_relay
from tests.support.simulators import AcmeSimulator, ProgixSimulator, WebhookReceiver

pytestmark = pytest.mark.slow

INSTANCE = "shop-1"
OWNER = f"acme-erp/{INSTANCE}"
WEBHOOK_FLOWS = {
    "sync-customer-data": ["customer.created", "customer.updated"],
    "sync-inventory-data": ["inventory.updated"],
}


def dag_id(flow: str) -> str:
    return naming.dag_id("acme-erp", INSTANCE, flow)


@dataclass
class Deployment:
    runner: DagTestRunner
    env: dict[str, str]
    acme: AcmeSimulator
    progix: ProgixSimulator
    relay: WebhookReceiver

    def run(self, flow: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
        outcome = self.runner.run(dag_id(flow), conf, self.env)
        assert outcome["state"] == "success", (outcome, f"log: {self.runner.log_path}")
        return outcome

    def owned_webhooks(self) -> list[dict[str, Any]]:
        return [
            hook
            for hook in self.acme.list_webhooks()
            if hook["metadata"].get("managed_by") == OWNER
        ]


@pytest.fixture(scope="module")
def relay_registry(tmp_path_factory: pytest.TempPathFactory):
    """A real relay (ingest only): the registry the deploy flows talk to."""
    with ingest_only_relay(tmp_path_factory.mktemp("flow-runs-relay")) as relay:
        yield relay


def deploy(
    tmp_path: Path, runner: DagTestRunner, acme, progix, relay, registry: Relay, **config: Any
) -> Deployment:
    """One instance file in a fresh instances directory, and its connections."""
    instances = tmp_path / "instances"
    write_instance(
        instances, instance_data(INSTANCE, **{"progix_tenant": progix.tenant_id, **config})
    )
    env = {
        "INTEGRATION_INSTANCES_DIR": str(instances),
        **conn_env(f"acme_erp__{INSTANCE}", "acme_erp", acme.url, acme.api_key),
        **conn_env(f"progix__{INSTANCE}", "http", progix.url, progix.api_key),
        **conn_env("webhook_relay", "http", relay.url, REGISTRAR_TOKEN, admin_url=registry.url),
    }
    return Deployment(runner, env, acme, progix, relay)


@pytest.fixture
def deploy_with(
    tmp_path, dag_runner, acme_simulator, progix_simulator, webhook_receiver, relay_registry
) -> Callable[..., Deployment]:
    """Deploy the instance with these config values, on this test's simulators and relay."""
    return functools.partial(
        deploy,
        tmp_path,
        dag_runner,
        acme_simulator,
        progix_simulator,
        webhook_receiver,
        relay_registry,
    )


@pytest.fixture
def deployment(deploy_with: Callable[..., Deployment]) -> Deployment:
    return deploy_with()


def events(event_type: str, object_ids: list[str]) -> dict[str, Any]:
    return {
        "events": [
            {
                "id": f"evt_{n}",
                "type": event_type,
                "object_id": object_id,
                "occurred_at": "2026-01-01T00:00:00Z",
            }
            for n, object_id in enumerate(object_ids)
        ]
    }


def runs_of_other_dags(outcome: dict[str, Any], flow: str) -> list[list[str]]:
    return [run for run in outcome["new_runs"] if run[0] != dag_id(flow)]


def test_initialization_registers_exactly_the_flow_webhooks_idempotently_and_backfills(
    deploy_with, acme_simulator, relay_registry
):
    deployment = deploy_with(warehouses=["north"], backfill_on_deploy=True)
    foreign = acme_simulator.create_webhook(
        "http://127.0.0.1:9/elsewhere", "whsec_" + "A" * 32, events=["customer.created"]
    )
    alice = acme_simulator.create_customer(name="Alice", email="alice@example.com")
    acme_simulator.create_item("SKU-N", name="North widget", warehouse="north", quantity=3)
    acme_simulator.create_item("SKU-S", name="South widget", warehouse="south", quantity=5)

    owned = _first_initialization_registers_and_backfills(deployment, alice)
    route = f"acme-erp/{INSTANCE}/sync-customer-data"
    _acme_signs_with_the_relay_route_secret(deployment, relay_registry, route, alice)
    _second_initialization_changes_nothing(deployment, owned)
    _teardown_deletes_only_its_webhooks_and_retires_routes(
        deployment, relay_registry, route, owned, foreign
    )


def _first_initialization_registers_and_backfills(
    deployment: Deployment, alice: dict[str, Any]
) -> list[dict[str, Any]]:
    """Webhooks for exactly the webhook flows, at their URLs; the backfill honours warehouses."""
    first = deployment.run("initialization")

    urls = first["xcom"]["webhook_urls"]["webhookUrls"]
    assert urls == {
        flow: f"{deployment.relay.url}/hooks/acme-erp/{INSTANCE}/{flow}" for flow in WEBHOOK_FLOWS
    }
    assert sorted(first["xcom"]["ensure_webhooks"]["created"]) == sorted(WEBHOOK_FLOWS)
    owned = deployment.owned_webhooks()
    assert {hook["url"]: sorted(hook["events"]) for hook in owned} == {
        urls[flow]: sorted(events) for flow, events in WEBHOOK_FLOWS.items()
    }
    assert first["xcom"]["backfill_customers"]["created"] == 1
    assert first["xcom"]["backfill_inventory"]["created"] == 1
    assert first["xcom"]["backfill_inventory"]["filtered"] == 1
    assert deployment.progix.get("customers", alice["id"])["version"] == alice["version"]
    assert [item["external_id"] for item in deployment.progix.list_all("inventory")] == ["SKU-N"]
    assert runs_of_other_dags(first, "initialization") == []
    return owned


def _acme_signs_with_the_relay_route_secret(
    deployment: Deployment, registry: Relay, route: str, alice: dict[str, Any]
) -> None:
    """The routes are registered, and Acme signs each delivery with the relay's route secret."""
    assert registry.admin("GET", f"/routes/{route}").json()["state"] == "active"
    deployment.acme.update_customer(alice["id"], name="Alice B")
    delivery = deployment.relay.wait_for(1)[0]
    assert delivery.path == f"/hooks/{route}"
    secret = registry.current_secret(route)
    payload = Webhook(secret).verify(delivery.body, delivery.headers)
    assert payload["object_id"] == alice["id"]


def _second_initialization_changes_nothing(
    deployment: Deployment, owned: list[dict[str, Any]]
) -> None:
    second = deployment.run("initialization")

    summary = second["xcom"]["ensure_webhooks"]
    assert (summary["created"], summary["updated"], summary["deleted"]) == ([], [], [])
    assert sorted(summary["unchanged"]) == sorted(WEBHOOK_FLOWS)
    assert {hook["id"] for hook in deployment.owned_webhooks()} == {hook["id"] for hook in owned}


def _teardown_deletes_only_its_webhooks_and_retires_routes(
    deployment: Deployment,
    registry: Relay,
    route: str,
    owned: list[dict[str, Any]],
    foreign: dict[str, Any],
) -> None:
    teardown = deployment.run("teardown")

    assert sorted(teardown["xcom"]["delete_webhooks"]["deleted"]) == sorted(h["id"] for h in owned)
    assert deployment.owned_webhooks() == []
    assert [hook["id"] for hook in deployment.acme.list_webhooks()] == [foreign["id"]]
    assert registry.admin("GET", f"/routes/{route}").json()["state"] == "retired"
    assert teardown["xcom"]["retire_routes"] == {
        f"acme-erp/{INSTANCE}/{f}": 0 for f in WEBHOOK_FLOWS
    }


def test_drift_repair_puts_back_our_webhooks_only_and_skips_unless_deployed(
    tmp_path, deployment: Deployment, acme_simulator, webhook_receiver
):
    deployment.run("initialization")
    owned = {hook["metadata"]["key"]: hook for hook in deployment.owned_webhooks()}
    foreign = acme_simulator.create_webhook(
        "http://127.0.0.1:9/elsewhere", "whsec_" + "B" * 32, events=["customer.created"]
    )
    acme_simulator.delete_webhook(owned["sync-inventory-data"]["id"])
    acme_simulator.update_webhook(
        owned["sync-customer-data"]["id"],
        url="http://127.0.0.1:9/moved",
        events=["customer.created"],
    )

    outcome = deployment.run("webhook-drift-repair")

    assert outcome["xcom"]["repair_report"] == {
        "driftRepair": {
            "missing": ["sync-inventory-data"],
            "changed": ["sync-customer-data"],
            "foreign": [],
            "removed": 0,
            "unchanged": [],
        }
    }
    assert runs_of_other_dags(outcome, "webhook-drift-repair") == []
    urls = outcome["xcom"]["webhook_urls"]["webhookUrls"]
    assert {h["url"]: sorted(h["events"]) for h in deployment.owned_webhooks()} == {
        urls[flow]: sorted(events) for flow, events in WEBHOOK_FLOWS.items()
    }
    assert next(h for h in acme_simulator.list_webhooks() if h["id"] == foreign["id"]) == foreign
    assert deployment.run("webhook-drift-repair")["xcom"]["repair_report"]["driftRepair"][
        "unchanged"
    ] == sorted(WEBHOOK_FLOWS)

    # While a deploy runs (or failed, or a removal runs), the repair skips: nothing changes.
    write_instance(tmp_path / "instances", {**instance_data(INSTANCE), "state": "deploying"})
    before = deployment.owned_webhooks()
    acme_simulator.delete_webhook(before[0]["id"])
    skipped = deployment.run("webhook-drift-repair")
    assert skipped["tasks"]["check_instance_active"] == "skipped"
    assert skipped["tasks"]["repair_webhooks"] == "skipped"
    assert "repair_report" not in skipped["xcom"]
    assert len(deployment.owned_webhooks()) == 1


def test_sync_customer_data_upserts_current_records_and_nothing_else(deployment: Deployment):
    acme, progix = deployment.acme, deployment.progix
    ann = acme.create_customer(name="Ann", email="ann@example.com", company="Ann Co")
    bob = acme.create_customer(name="Bob")
    ann = acme.update_customer(ann["id"], phone="+1 555 0100")
    object_ids = [ann["id"], bob["id"], ann["id"], "cus_does_not_exist", bob["id"]]

    outcome = deployment.run("sync-customer-data", events("customer.updated", object_ids))

    counts = outcome["xcom"]["sync_customers"]
    assert counts == {
        "events": 5,
        "objects": 3,
        "quarantined": 0,
        "fetched": 2,
        "missing": 1,
        "batches": 1,
        "created": 2,
        "updated": 0,
        "stale": 0,
        "filtered": 0,
        "invalid": 0,
    }
    stored = progix.get("customers", ann["id"])
    assert (stored["version"], stored["name"], stored["phone"], stored["company"]) == (
        ann["version"],
        "Ann",
        "+1 555 0100",
        "Ann Co",
    )
    assert progix.get("customers", bob["id"])["name"] == "Bob"
    # One flow's run never invokes another flow.
    assert progix.list_all("inventory") == []
    assert acme.list_webhooks() == []
    assert runs_of_other_dags(outcome, "sync-customer-data") == []


def test_sync_inventory_data_with_thousands_of_events(
    deploy_with, acme_simulator, progix_simulator
):
    deployment = deploy_with(warehouses=["north", "east"])
    skus = [f"SKU-{n:03d}" for n in range(105)]  # two fetch batches: 100 + 5
    for n, sku in enumerate(skus):
        acme_simulator.create_item(
            sku, name=f"Item {n}", warehouse=["north", "east", "south"][n % 3], quantity=n
        )
    changed = acme_simulator.update_item("SKU-000", quantity=999)
    object_ids = [skus[n % len(skus)] for n in range(3000)]  # 3,000 events, 105 objects

    outcome = deployment.run("sync-inventory-data", events("inventory.updated", object_ids))

    counts = outcome["xcom"]["sync_inventory"]
    assert (counts["events"], counts["objects"], counts["fetched"], counts["batches"]) == (
        3000,
        105,
        105,
        2,
    )
    assert (counts["created"], counts["filtered"], counts["missing"]) == (70, 35, 0)
    synced = {item["external_id"]: item for item in progix_simulator.list_all("inventory")}
    assert sorted(synced) == sorted(s for n, s in enumerate(skus) if n % 3 != 2)
    assert (synced["SKU-000"]["quantity"], synced["SKU-000"]["version"]) == (
        999,
        changed["version"],
    )
    assert progix_simulator.list_all("customers") == []
    assert runs_of_other_dags(outcome, "sync-inventory-data") == []


def test_initialization_refuses_a_progix_key_of_another_tenant_before_registering_anything(
    deploy_with, progix_simulator
):
    deployment = deploy_with(progix_tenant=progix_simulator.other_tenant_id)

    outcome = deployment.runner.run(dag_id("initialization"), None, deployment.env)

    assert outcome["state"] == "failed"
    assert deployment.owned_webhooks() == []
    log = deployment.runner.log_path.read_text()
    assert "belongs to tenant 'progix-test'" in log
