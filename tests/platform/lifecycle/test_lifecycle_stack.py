"""The lifecycle against the real local stack: Airflow standalone, relay, Acme and Progix.

One instance goes through deploy → unchanged redeploy → status → pause/resume → redeploy
while paused → test-flow → replay → remove; a second one fails its initialization (wrong Acme
API key), shows why, and is retried with the right key. Instances are removed at the end so other suites sharing the
session's stack see clean Acme accounts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from integration_platform.integrations.instances import InstanceState
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.relay_client import RelayRegistrar
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle

# Generous per-test deadline: the first test here may also pay for starting the whole stack.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTANCE = "lc-shop"
FAILING = "lc-broken"
WEBHOOK_FLOWS = ("sync-customer-data", "sync-inventory-data")


def request_data(stack: StackHandle, *, acme_key: str | None = None, tenant: str = "") -> dict:
    running = stack.stack
    account, progix_tenant = ACME_ACCOUNTS[0], PROGIX_TENANTS[0]
    return {
        "customer": "Lifecycle Test Shop",
        "config": {"progix_tenant": tenant or progix_tenant},
        "connections": {
            "acme_connection": {
                "host": running.acme_url,
                "password": acme_key or running.acme_keys[account],
            },
            "progix_connection": {
                "host": running.progix_url,
                "password": running.progix_keys[progix_tenant],
            },
        },
    }


def acme_cli(stack: StackHandle, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """The real console script, as a person runs it (env from the stack, --json output)."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "acme-erp"), "--json", *args],
        env=stack.stack.client_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = stack.acme_erp_service(run_timeout=180, with_relay=True)
    yield service
    # Leave the shared stack clean for other suites: no instances, no webhooks in Acme.
    if service.store.exists(FAILING):  # still holding the wrong key if its test failed early
        service.airflow.upsert_connection(
            f"acme_erp__{FAILING}",
            "acme_erp",
            {"password": stack.stack.acme_keys[ACME_ACCOUNTS[0]]},
        )
    for instance_id in (INSTANCE, FAILING):
        if service.store.exists(instance_id):
            service.remove(instance_id)
    service.close()


@pytest.fixture(scope="module")
def deployed(stack: StackHandle, service: InstanceService, tmp_path_factory) -> dict:
    """`acme-erp deploy` of INSTANCE through the console script; its JSON result."""
    path = tmp_path_factory.mktemp("lifecycle") / f"{INSTANCE}.yaml"
    path.write_text(yaml.safe_dump(request_data(stack)))
    result = acme_cli(stack, "deploy", INSTANCE, "--config", str(path))
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_deploy_runs_initialization_and_registers_one_webhook_per_flow(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    relay = stack.stack.relay_url
    expected_urls = {flow: f"{relay}/hooks/acme-erp/{INSTANCE}/{flow}" for flow in WEBHOOK_FLOWS}

    assert deployed["outcome"] == "deployed"
    assert deployed["instance"]["state"] == "active"
    assert deployed["instance"]["generation"] == 1
    assert deployed["run"]["succeeded"] is True
    assert deployed["webhook_urls"] == expected_urls
    assert sorted(hook["url"] for hook in stack.webhooks_of(INSTANCE).values()) == sorted(
        expected_urls.values()
    )
    for dag_id in service.dag_ids(INSTANCE).values():
        dag = service.airflow.get_dag(dag_id)
        assert dag is not None
        assert f"instance:{INSTANCE}" in dag.tags
    assert service.airflow.get_connection(f"acme_erp__{INSTANCE}")["host"] == stack.stack.acme_url
    assert (
        stack.stack.acme_keys[ACME_ACCOUNTS[0]] not in service.store.path_for(INSTANCE).read_text()
    )


def test_redeploying_unchanged_config_is_a_no_op(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    request = DeployRequest.from_mapping(request_data(stack), source="same.yaml")

    result = service.deploy(INSTANCE, request)

    assert result.outcome == "unchanged"
    assert result.instance.generation == 1
    init_dag = service.dag_ids(INSTANCE)["initialization"]
    assert len(service.airflow.list_dag_runs(init_dag)) == 1


def test_status_shows_flows_webhook_urls_and_recent_runs(
    service: InstanceService, deployed: dict
) -> None:
    report = service.status(INSTANCE)

    flows = {flow.slug: flow for flow in report.flows}
    assert report.instance.state is InstanceState.ACTIVE
    assert all(flow.exists and flow.paused is False for flow in report.flows)
    assert {slug: flows[slug].webhook_url for slug in WEBHOOK_FLOWS} == deployed["webhook_urls"]
    assert [run.state for run in flows["initialization"].recent_runs] == ["success"]


def test_pause_and_resume_flip_every_dag_and_relay_route(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    relay = RelayRegistrar(stack.stack.relay_url, stack.stack.relay_registrar_token)
    paused = service.pause(INSTANCE)
    assert paused.paused
    assert service.get_instance(INSTANCE).state is InstanceState.PAUSED
    assert all(service.airflow.get_dag(d).is_paused for d in service.dag_ids(INSTANCE).values())
    routes = relay.routes("acme-erp", INSTANCE)
    assert sorted(r["route"].rsplit("/", 1)[1] for r in routes) == sorted(WEBHOOK_FLOWS)
    assert all(r["paused"] and r["state"] == "active" for r in routes)
    assert [flow.held_events for flow in paused.flows if flow.slug in WEBHOOK_FLOWS] == [0, 0]

    resumed = service.resume(INSTANCE)
    assert not any(flow.paused for flow in resumed.flows)
    assert service.get_instance(INSTANCE).state is InstanceState.ACTIVE
    assert not any(r["paused"] for r in relay.routes("acme-erp", INSTANCE))
    relay.close()


def test_a_test_run_works_while_paused_and_creates_no_other_run(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    dag_id = service.dag_ids(INSTANCE)["sync-customer-data"]
    service.pause(INSTANCE)
    try:
        before = {run.run_id for run in service.airflow.list_dag_runs(dag_id)}
        result = service.test_flow(INSTANCE, "sync-customer-data")
        assert result.run.succeeded
        after = {run.run_id for run in service.airflow.list_dag_runs(dag_id)}
        assert after - before == {result.run.run_id}  # the test run, and nothing the relay held
        assert service.airflow.get_dag(dag_id).is_paused  # paused again afterwards
        assert service.get_instance(INSTANCE).state is InstanceState.PAUSED
    finally:
        service.resume(INSTANCE)


def test_redeploying_a_paused_instance_runs_initialization_and_keeps_it_paused(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    generation = service.get_instance(INSTANCE).generation
    service.pause(INSTANCE)
    changed = {**request_data(stack), "customer": "Lifecycle Test Shop (renamed)"}

    result = service.deploy(INSTANCE, DeployRequest.from_mapping(changed, source="renamed.yaml"))

    assert result.outcome == "deployed"
    assert result.run is not None
    assert result.run.succeeded
    assert result.instance.generation == generation + 1
    assert result.instance.state is InstanceState.PAUSED
    assert "kept paused" in result.message
    assert all(service.airflow.get_dag(d).is_paused for d in service.dag_ids(INSTANCE).values())
    assert len(stack.webhooks_of(INSTANCE)) == len(WEBHOOK_FLOWS)

    service.resume(INSTANCE)
    assert service.get_instance(INSTANCE).state is InstanceState.ACTIVE


def test_test_flow_runs_only_that_flow_with_a_real_record(
    stack: StackHandle, service: InstanceService, deployed: dict, tmp_path: Path
) -> None:
    customer = stack.acme.create_customer(name="Ada Tester", email="ada@example.com")
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            {
                "events": [
                    {
                        "id": "evt_lifecycle_test",
                        "type": "customer.updated",
                        "object_id": customer["id"],
                        "occurred_at": "2026-11-28T12:00:00+00:00",
                    }
                ]
            }
        )
    )
    inventory_dag = service.dag_ids(INSTANCE)["sync-inventory-data"]
    inventory_runs_before = {r.run_id for r in service.airflow.list_dag_runs(inventory_dag)}

    result = acme_cli(stack, "test-flow", INSTANCE, "sync-customer-data", "--payload", str(payload))

    assert result.returncode == 0, result.stderr + result.stdout
    body = json.loads(result.stdout)
    assert body["run"]["state"] == "success"
    assert [(t["task_id"], t["state"]) for t in body["run"]["tasks"]] == [
        ("sync_customers", "success")
    ]
    assert stack.progix.get("customers", customer["id"]) is not None
    test_runs = {
        r.run_id
        for r in service.airflow.list_dag_runs(inventory_dag)
        if r.run_id.startswith("test__")
    }
    assert test_runs <= inventory_runs_before  # the other flow got no test run


def test_replay_dry_run_lists_matching_runs_and_changes_nothing(
    service: InstanceService, deployed: dict
) -> None:
    customers_dag = service.dag_ids(INSTANCE)["sync-customer-data"]
    successful = {
        r.run_id for r in service.airflow.list_dag_runs(customers_dag, states=["success"])
    }

    items = service.replay(INSTANCE, flow="sync-customer-data", state="success", dry_run=True).items

    assert successful
    assert {item.run_id for item in items} == successful
    assert all(item.dry_run and item.tasks == ("sync_customers",) for item in items)
    assert {r.run_id for r in service.airflow.list_dag_runs(customers_dag, states=["success"])} == (
        successful
    )


def test_a_failed_initialization_is_visible_and_a_fixed_redeploy_retries(
    stack: StackHandle, service: InstanceService
) -> None:
    bad = DeployRequest.from_mapping(
        request_data(stack, acme_key="sk_wrong_key"), source="bad.yaml"
    )
    # The factory gives every task 3 retries (20 s, 40 s, 80 s apart): a failure takes minutes.
    patient = InstanceService(
        replace(service.settings, run_timeout=600), integration="acme-erp", client=service.airflow
    )

    failed = patient.deploy(FAILING, bad)

    assert failed.outcome == "failed"
    stored = service.get_instance(FAILING)
    assert stored.state is InstanceState.FAILED
    reason = stored.status.reason or ""
    assert "failed in task ensure_webhooks" in reason
    assert "HTTP 401" in reason  # the operator fails at once on a rejected key, no retries
    assert stored.status.log_url is not None
    assert "/tasks/ensure_webhooks" in stored.status.log_url
    assert "sk_wrong_key" not in service.store.path_for(FAILING).read_text()
    assert stack.webhooks_of(FAILING) == {}

    fixed = service.deploy(FAILING, DeployRequest.from_mapping(request_data(stack), source="ok"))

    assert fixed.outcome == "deployed"
    assert fixed.instance.generation == 2
    assert len(stack.webhooks_of(FAILING)) == 2


def test_remove_tears_down_then_deletes_file_and_connections(
    stack: StackHandle, service: InstanceService, deployed: dict
) -> None:
    result = acme_cli(stack, "remove", INSTANCE)

    assert result.returncode == 0, result.stderr + result.stdout
    removed = json.loads(result.stdout)
    assert removed["removed"] is True
    assert {"discarded_events", "cleared_runs", "failed_runs"} <= set(removed)
    assert stack.webhooks_of(INSTANCE) == {}
    relay = RelayRegistrar(stack.stack.relay_url, stack.stack.relay_registrar_token)
    assert {r["state"] for r in relay.routes("acme-erp", INSTANCE)} == {"retired"}
    relay.close()
    assert not service.store.exists(INSTANCE)
    assert service.airflow.get_connection(f"acme_erp__{INSTANCE}") is None
    assert service.airflow.get_connection(f"progix__{INSTANCE}") is None
