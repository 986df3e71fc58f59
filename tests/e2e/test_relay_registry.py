"""The relay's route registry on the real stack: pause holds events, remove leaves nothing
behind, rotation loses and refuses nothing, stray and removed routes are refused, and the
Airflow side holds no relay key.

Instances here use the second Acme account and Progix tenant, and are removed by each test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from sandbox.load import LoadGenerator, LoadPlan
from tests.e2e.scenario import AcmeErpCli, dag_runs, unfinished_runs, wait_quiet
from tests.support.polling import wait_until
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle
from webhook_relay.signatures import new_secret, secret_to_key, sign

# Generous per-test deadline: the first test here may also pay for starting the whole stack.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ACCOUNT, TENANT = ACME_ACCOUNTS[1], PROGIX_TENANTS[1]


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = stack.acme_erp_service(run_timeout=240, with_relay=True, drain_timeout=60)
    try:
        yield service
    finally:
        for instance_id in ("reg-paused", "reg-removed", "reg-rotated"):
            if service.store.exists(instance_id):  # a test failed before removing it
                service.remove(instance_id)
        service.close()


def deploy_request(stack: StackHandle, instance_id: str) -> DeployRequest:
    running = stack.stack
    return DeployRequest(
        customer=f"Registry test {instance_id}",
        config={"progix_tenant": TENANT},
        connections={
            "acme_connection": {"host": running.acme_url, "password": running.acme_keys[ACCOUNT]},
            "progix_connection": {
                "host": running.progix_url,
                "password": running.progix_keys[TENANT],
            },
        },
    )


def deploy(stack: StackHandle, service: InstanceService, instance_id: str) -> None:
    result = service.deploy(instance_id, deploy_request(stack, instance_id))
    assert result.ok, result.message


def admin(stack: StackHandle, method: str, path: str, *, registrar: bool = False, **kw: Any):
    running = stack.stack
    token = running.relay_registrar_token if registrar else running.relay_admin_token
    return httpx.request(
        method,
        f"{running.relay_url}/admin{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        **kw,
    )


def route_of(instance_id: str, flow: str = SYNC_CUSTOMERS) -> str:
    return f"acme-erp/{instance_id}/{flow}"


def deliver(stack: StackHandle, route: str, secret: str) -> httpx.Response:
    msg_id = f"msg_{uuid.uuid4().hex}"
    body = (
        f'{{"id": "{msg_id}", "type": "customer.updated", "object_id": "cus_none",'
        ' "occurred_at": "2026-01-01T00:00:00Z"}'
    ).encode()
    ts = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret_to_key(secret), msg_id, ts, body),
    }
    return httpx.post(f"{stack.stack.relay_url}/hooks/{route}", content=body, headers=headers)


def signature_failures(stack: StackHandle) -> float:
    text = httpx.get(f"{stack.stack.relay_url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("relay_signature_failures_total{")
    )


def load(customers: int, *, items: int = 0, rate: float = 0.0) -> LoadPlan:
    return LoadPlan(customers, items, 0, rate=rate, concurrency=4, batch_size=1 if rate else 50)


def run_load(stack: StackHandle, plan: LoadPlan) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}
    generator = LoadGenerator(stack.stack.acme_url, stack.stack.acme_keys[ACCOUNT], plan)
    thread = threading.Thread(target=lambda: out.update(generator.run()), daemon=True)
    thread.start()
    return thread, out


def held_events(service: InstanceService, instance_id: str) -> int:
    flows = {flow.slug: flow for flow in service.status(instance_id).flows}
    return flows[SYNC_CUSTOMERS].held_events or 0


def progix_customer_ids(stack: StackHandle) -> set[str]:
    return {c["external_id"] for c in stack.progix_for(TENANT).list_all("customers")}


def test_a_paused_instance_creates_no_run_and_delivers_everything_on_resume(
    stack: StackHandle, service: InstanceService
) -> None:
    instance = "reg-paused"
    deploy(stack, service, instance)
    dag_id = ACME_ERP.dag_id(instance, SYNC_CUSTOMERS)
    service.pause(instance)
    runs_before = {r["dag_run_id"] for r in dag_runs(stack, dag_id)}
    acme = stack.acme_for(ACCOUNT)
    before = {c["id"] for c in acme.list_all("/v1/customers", limit=200)}

    thread, _ = run_load(stack, load(200))
    thread.join(timeout=120)
    created = {c["id"] for c in acme.list_all("/v1/customers", limit=200)} - before
    assert len(created) == 200
    acme.wait_deliveries_drained(timeout=120)
    held = wait_until(
        lambda: held_events(service, instance) >= 200 or None,
        timeout=60,
        what="200 events held in the relay",
    )
    assert held
    time.sleep(2)  # a run triggered now would already be listed
    assert {r["dag_run_id"] for r in dag_runs(stack, dag_id)} == runs_before

    service.resume(instance)
    wait_until(
        lambda: created <= progix_customer_ids(stack) or None,
        timeout=240,
        what="all 200 customers in Progix",
        interval=2.0,
    )
    new_runs = {r["dag_run_id"] for r in dag_runs(stack, dag_id)} - runs_before
    assert 0 < len(new_runs) < 200  # delivered in batches
    assert service.remove(instance).removed


def test_remove_during_a_burst_leaves_nothing_behind_and_its_routes_are_gone(
    stack: StackHandle, service: InstanceService
) -> None:
    instance = "reg-removed"
    deploy(stack, service, instance)
    dead_before = admin(stack, "GET", "/stats").json()["dead_letters"]
    thread, summary = run_load(stack, load(1500, items=500))
    wait_until(
        lambda: (
            len(
                admin(stack, "GET", "/events", params={"route": route_of(instance)}).json()[
                    "events"
                ]
            )
            >= 100
            or None
        ),
        timeout=120,
        what="the burst reaching the relay",
    )

    removed = AcmeErpCli(stack, {}).ok("remove", instance, timeout=600)
    thread.join(timeout=300)

    assert summary.get("failed", 0) == 0
    assert removed["removed"] is True
    print(  # the discarded counts, as the CLI reports them
        {k: removed[k] for k in ("discarded_events", "cleared_runs", "failed_runs")}
    )
    assert unfinished_runs(stack, instance) == []
    for flow in ("sync-customer-data", "sync-inventory-data"):
        for status in ("pending", "batched"):
            params = {"route": route_of(instance, flow), "status": status}
            assert admin(stack, "GET", "/events", params=params).json()["events"] == []
    assert stack.webhooks_of(instance, account=ACCOUNT) == {}

    # The removed instance's route is gone (410), a never-deployed one unknown (404): nothing
    # is stored for either and nothing is dead-lettered.
    for route, status in ((route_of(instance), 410), (route_of("never-deployed"), 404)):
        count = len(admin(stack, "GET", "/events", params={"route": route}).json()["events"])
        assert deliver(stack, route, new_secret()).status_code == status
        assert len(admin(stack, "GET", "/events", params={"route": route}).json()["events"]) == (
            count
        )
    assert admin(stack, "GET", "/stats").json()["dead_letters"] == dead_before


def test_rotation_under_steady_load_loses_and_refuses_nothing(
    stack: StackHandle, service: InstanceService
) -> None:
    instance = "reg-rotated"
    deploy(stack, service, instance)
    route = route_of(instance)
    old = admin(stack, "GET", f"/routes/{route}/secret", registrar=True).json()["secret"]
    refused_before = signature_failures(stack)
    acme = stack.acme_for(ACCOUNT)
    failed_before = acme.stats()["failed"]
    before = {c["id"] for c in acme.list_all("/v1/customers", limit=200)}

    thread, summary = run_load(stack, load(150, rate=5.0))  # ~30 s of steady changes
    time.sleep(3)
    result = service.rotate(instance, overlap_seconds=45)
    rotated_at = time.time()
    assert result.ok, result.message
    thread.join(timeout=180)
    wait_quiet(stack, acme, [instance])

    new = admin(stack, "GET", f"/routes/{route}/secret", registrar=True).json()["secret"]
    assert new != old
    created = {c["id"] for c in acme.list_all("/v1/customers", limit=200)} - before
    assert summary.get("failed", 0) == 0
    assert len(created) == 150
    assert created <= progix_customer_ids(stack)  # nothing lost
    assert signature_failures(stack) == refused_before  # nothing refused
    assert acme.stats()["failed"] == failed_before

    # An unchanged redeploy stays a no-op; --force re-runs Initialization on purpose.
    generation = service.get_instance(instance).generation
    assert service.deploy(instance, deploy_request(stack, instance)).outcome == "unchanged"
    forced = service.deploy(instance, deploy_request(stack, instance), force=True)
    assert (forced.outcome, forced.instance.generation) == ("deployed", generation + 1)

    time.sleep(max(0.0, rotated_at + 45 - time.time()) + 1)
    assert deliver(stack, route, old).status_code == 401
    assert service.remove(instance).removed


def test_the_airflow_side_holds_only_the_registrar_token(stack: StackHandle) -> None:
    running = stack.stack
    assert running.airflow is not None
    environment = running.airflow.settings.environment()
    values = " ".join(environment.values())
    assert running.relay_admin_token not in values
    assert running.relay_secrets_key not in values
    assert not [name for name in environment if "SIGNING" in name]
    connection = running.rest().get_connection("webhook_relay") or {}
    assert connection.get("password") in (None, "", running.relay_registrar_token)
    assert running.relay_registrar_token in environment["AIRFLOW_CONN_WEBHOOK_RELAY"]
    for path in ("/events", "/stats", "/batches"):
        assert admin(stack, "GET", path, registrar=True).status_code == 403
