"""Scheduled drift repair on the real stack: Airflow's scheduler runs the repair DAG.

One instance is deployed with a one-minute drift-repair interval; then, in the simulator, one
of its webhooks is deleted, the other is edited (events, disabled), and a foreign webhook
exists beside them. Within one interval both of the instance's webhooks are back as
Initialization registered them (Acme signs with the relay's route secret again), the foreign
webhook is exactly as it was, the instance page says what was repaired, pause pauses the
repair DAG and remove leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from acme_provider.webhook_secrets import secret_fingerprint
from integration_platform.integrations import naming
from integration_platform.integrations.drift import REPORT_TASK_ID, repair_report_of
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.relay_client import RelayRegistrar
from tests.support.simulators import new_webhook_secret
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTANCE = "drift-shop"
REPAIR = "webhook-drift-repair"
CUSTOMERS, INVENTORY = "sync-customer-data", "sync-inventory-data"
INTERVAL_MINUTES = 1
SLACK_SECONDS = 120  # scheduler loop, task start-up and the run itself, on a loaded 2-core VM


def request(stack: StackHandle) -> DeployRequest:
    data = stack.acme_erp_request("Drift Shop", drift_repair_minutes=INTERVAL_MINUTES)
    return DeployRequest.from_mapping(data, source="drift.yaml")


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = stack.acme_erp_service(run_timeout=180, with_relay=True)
    yield service
    if service.store.exists(INSTANCE):  # leave the shared stack clean if a test failed early
        service.remove(INSTANCE)
    service.close()


@pytest.fixture(scope="module")
def foreign(stack: StackHandle) -> Iterator[dict[str, Any]]:
    """Someone else's webhook in the same Acme account (disabled: it delivers nowhere)."""
    acme = stack.acme
    hook = acme.create_webhook(
        "http://127.0.0.1:9/someone-else",
        new_webhook_secret(),
        ["customer.updated"],
        {"managed_by": "another-tool", "key": CUSTOMERS},
    )
    hook = acme.update_webhook(hook["id"], enabled=False)
    yield hook
    acme.delete_webhook(hook["id"])


def wait_for_repair(stack: StackHandle, wanted: dict[str, list[str]], deadline: float) -> None:
    while time.monotonic() < deadline:
        hooks = stack.webhooks_of(INSTANCE)
        if {slug: sorted(h["events"]) for slug, h in hooks.items() if h["enabled"]} == wanted:
            return
        time.sleep(2)
    pytest.fail(f"not repaired within the interval: {stack.webhooks_of(INSTANCE)}")


def deploy_and_edit_behind_its_back(
    stack: StackHandle, service: InstanceService
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Deploy; then, in Acme, delete the inventory webhook and edit the customers one.
    Returns the webhooks as registered and their events by flow."""
    result = service.deploy(INSTANCE, request(stack))
    assert result.outcome == "deployed", result.message
    repair_dag = service.airflow.get_dag(service.dag_ids(INSTANCE)[REPAIR])
    assert repair_dag is not None
    assert repair_dag.is_paused is False
    registered = stack.webhooks_of(INSTANCE)
    wanted = {slug: sorted(hook["events"]) for slug, hook in registered.items()}
    assert wanted == {
        CUSTOMERS: ["customer.created", "customer.updated"],
        INVENTORY: ["inventory.updated"],
    }
    stack.acme.delete_webhook(registered[INVENTORY]["id"])
    stack.acme.update_webhook(
        registered[CUSTOMERS]["id"], events=["customer.created"], enabled=False
    )
    return registered, wanted


def assert_signed_with_the_route_secrets(
    stack: StackHandle, repaired: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """The repaired webhooks carry the relay's route secrets, and the relay takes a delivery
    Acme signs with one. Returns the secrets by flow."""
    with RelayRegistrar(stack.stack.relay_url, stack.stack.relay_registrar_token) as relay:
        secrets = {s: relay.secret(naming.route("acme-erp", INSTANCE, s)) for s in repaired}
    for slug, hook in repaired.items():
        assert hook["metadata"]["secret_fingerprint"] == secret_fingerprint(secrets[slug])
        assert hook["metadata"]["managed_by"] == f"acme-erp/{INSTANCE}"
    stack.acme.create_customer(name="Drift Check")
    deadline, attempts = time.monotonic() + 60, []
    while not attempts and time.monotonic() < deadline:
        time.sleep(1)
        deliveries = stack.acme.deliveries(repaired[CUSTOMERS]["id"])
        attempts = [a["status_code"] for d in deliveries for a in d["attempts"]]
    assert attempts[:1] == [200], attempts
    return secrets


def assert_reports_name_the_repairs(service: InstanceService, secrets: dict[str, str]) -> None:
    """The scheduler's repair runs reported one missing and one changed webhook, and no XCom
    of theirs holds a route secret."""
    repair_dag_id = service.dag_ids(INSTANCE)[REPAIR]
    # One check normally repairs both; a check running between the two edits splits them.
    found: dict[str, set[str]] = {"missing": set(), "changed": set(), "foreign": set()}
    for run in service.airflow.list_dag_runs(repair_dag_id, states=["success"], limit=5):
        report = repair_report_of(
            service.airflow.xcom_return_value(repair_dag_id, run.run_id, REPORT_TASK_ID)
        )
        if report is None:
            continue
        assert not run.run_id.startswith(("manual__", "test__"))  # the scheduler's own runs
        for kind in found:
            found[kind] |= set(getattr(report, kind))
        for task_id in ("repair_webhooks", REPORT_TASK_ID):
            xcom = str(service.airflow.xcom_return_value(repair_dag_id, run.run_id, task_id))
            assert not [slug for slug, secret in secrets.items() if secret in xcom], task_id
    assert found == {"missing": {INVENTORY}, "changed": {CUSTOMERS}, "foreign": set()}


def test_deleted_and_edited_webhooks_are_repaired_within_one_interval(
    stack: StackHandle, service: InstanceService, foreign: dict[str, Any]
) -> None:
    registered, wanted = deploy_and_edit_behind_its_back(stack, service)

    wait_for_repair(stack, wanted, time.monotonic() + INTERVAL_MINUTES * 60 + SLACK_SECONDS)

    repaired = stack.webhooks_of(INSTANCE)
    assert repaired[CUSTOMERS]["id"] == registered[CUSTOMERS]["id"]  # put back, not replaced
    assert repaired[INVENTORY]["id"] != registered[INVENTORY]["id"]  # re-created
    assert next(h for h in stack.acme.list_webhooks() if h["id"] == foreign["id"]) == foreign
    secrets = assert_signed_with_the_route_secrets(stack, repaired)
    assert_reports_name_the_repairs(service, secrets)
    drift = next(f for f in service.status(INSTANCE).flows if f.slug == REPAIR).drift
    assert drift is not None
    assert drift.last_repair is not None
    with stack.airflow_http("admin") as airflow:
        page = airflow.get(f"/integrations/instances/{INSTANCE}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert drift.last_repair.summary in page.text  # "repaired: 1 missing, 1 changed"
    assert "every 1 min" in page.text


def test_pause_pauses_the_repair_dag_and_remove_leaves_nothing(
    stack: StackHandle, service: InstanceService, foreign: dict[str, Any]
) -> None:
    repair_dag_id = service.dag_ids(INSTANCE)[REPAIR]
    service.pause(INSTANCE)
    assert service.airflow.get_dag(repair_dag_id).is_paused is True
    service.resume(INSTANCE)
    assert service.airflow.get_dag(repair_dag_id).is_paused is False

    removed = service.remove(INSTANCE)

    assert removed.removed, removed.reason
    assert stack.webhooks_of(INSTANCE) == {}
    assert service.airflow.get_dag(repair_dag_id).is_paused is True
    active = service.airflow.list_dag_runs(repair_dag_id, states=["queued", "running"])
    assert active == []
    assert next(h for h in stack.acme.list_webhooks() if h["id"] == foreign["id"]) == foreign
