"""Replay on the real stack: the CLI's filters, dry runs, clearing failed tasks, re-sending events.

One instance gets two customer-sync runs (one event each). One is then marked failed, as an
operator would in Airflow's UI. The CLI (the real console script) lists exactly that run in a
dry run, re-runs its failed task, and re-sends the other run's event as a new `replay__` run
that carries its link and syncs the record's current state into Progix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from integration_contracts.runs import RunKind, run_kind
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from tests.platform.lifecycle.test_lifecycle_stack import acme_cli, request_data
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTANCE = "rp-shop"
FLOW = "sync-customer-data"


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = stack.acme_erp_service(run_timeout=900)
    request = DeployRequest.from_mapping(request_data(stack), source="test")
    assert service.deploy(INSTANCE, request).outcome == "deployed"
    yield service
    if service.store.exists(INSTANCE):
        service.remove(INSTANCE)
    service.close()


def _event(event_id: str, event_type: str, object_id: str) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "object_id": object_id,
        "occurred_at": "2026-11-30T12:00:00+00:00",
    }


@pytest.fixture(scope="module")
def runs(stack: StackHandle, service: InstanceService) -> dict:
    """Two successful sync runs, one per customer; then the first marked failed."""
    first = stack.acme.create_customer(name="Replay One", email="one@example.com")
    second = stack.acme.create_customer(name="Replay Two", email="two@example.com")
    a = service.test_flow(
        INSTANCE, FLOW, payload={"events": [_event("evt_rp_1", "customer.updated", first["id"])]}
    )
    b = service.test_flow(
        INSTANCE, FLOW, payload={"events": [_event("evt_rp_2", "customer.created", second["id"])]}
    )
    assert a.run.succeeded
    assert b.run.succeeded
    dag_id = service.dag_ids(INSTANCE)[FLOW]
    base = f"/api/v2/dags/{dag_id}/dagRuns/{quote(a.run.run_id, safe='')}"
    service.airflow.request(
        "PATCH", f"{base}/taskInstances/sync_customers", json={"new_state": "failed"}
    )
    service.airflow.request("PATCH", base, json={"state": "failed"})
    assert service.airflow.get_dag_run(dag_id, a.run.run_id).state == "failed"
    return {"dag_id": dag_id, "failed": a.run.run_id, "ok": b.run.run_id, "second": second}


def _cli_json(stack: StackHandle, *args: str) -> dict:
    result = acme_cli(stack, "replay", INSTANCE, *args)
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_dry_run_lists_exactly_the_failed_run_and_changes_nothing(
    stack: StackHandle, service: InstanceService, runs: dict
) -> None:
    body = _cli_json(stack, "--state", "failed", "--since", "6h", "--dry-run")

    assert body["dry_run"] is True
    assert body["mode"] == "tasks"
    assert [(i["run_id"], i["tasks"]) for i in body["items"]] == [
        (runs["failed"], ["sync_customers"])
    ]
    assert body["new_runs"] == []
    assert service.airflow.get_dag_run(runs["dag_id"], runs["failed"]).state == "failed"


def test_filters_that_match_nothing_list_nothing(stack: StackHandle, runs: dict) -> None:
    assert _cli_json(stack, "--state", "failed", "--object-id", "nope", "--dry-run")["items"] == []
    assert (
        _cli_json(stack, "--state", "failed", "--until", "2020-01-01", "--dry-run")["items"] == []
    )
    typed = _cli_json(stack, "--state", "success", "--event-type", "customer.created", "--dry-run")
    ids = [i["run_id"] for i in typed["items"]]
    assert runs["ok"] in ids  # the relay's own runs of these customers' creation match too
    assert runs["failed"] not in ids  # its only event is customer.updated
    assert all(e["type"] == "customer.created" for i in typed["items"] for e in i["events"])


def test_bad_filters_are_refused_with_the_option_named(stack: StackHandle, runs: dict) -> None:
    result = acme_cli(stack, "replay", INSTANCE, "--state", "running")
    assert result.returncode == 2
    assert json.loads(result.stdout)["fields"][0]["field"] == "state"
    result = acme_cli(stack, "replay", INSTANCE, "--flow", "initialization", "--mode", "events")
    assert result.returncode == 2
    assert "webhook flows only" in json.loads(result.stdout)["message"]


def test_replaying_tasks_reruns_the_failed_task_and_notes_it(
    stack: StackHandle, service: InstanceService, runs: dict
) -> None:
    body = _cli_json(stack, "--state", "failed", "--flow", FLOW, "--wait")

    assert [i["run_id"] for i in body["items"]] == [runs["failed"]]
    run = service.airflow.get_dag_run(runs["dag_id"], runs["failed"])
    assert run.state == "success"
    data = service.airflow.get(f"/api/v2/dags/{runs['dag_id']}/dagRuns/{quote(run.run_id)}")
    assert "Re-run by replay" in data["note"]
    assert service.replay(INSTANCE, state="failed", dry_run=True).items == ()


def test_replaying_events_sends_them_as_a_new_linked_run(
    stack: StackHandle, service: InstanceService, runs: dict
) -> None:
    customer = runs["second"]
    stack.acme.update_customer(customer["id"], name="Replay Two, renamed")
    dry = _cli_json(
        stack, "--state", "success", "--mode", "events", "--object-id", customer["id"], "--dry-run"
    )
    [planned] = dry["new_runs"]
    assert runs["ok"] in planned["replays"]  # with the relay's run of the same customer
    assert service.airflow.get_dag_run(runs["dag_id"], dry["new_runs"][0]["run_id"]) is None

    body = _cli_json(
        stack, "--state", "success", "--mode", "events", "--object-id", customer["id"], "--wait"
    )

    [made] = body["new_runs"]
    assert run_kind(made["run_id"]) is RunKind.REPLAY
    assert made["state"] == "success"
    run = service.airflow.get_dag_run(runs["dag_id"], made["run_id"])
    assert _event("evt_rp_2", "customer.created", customer["id"]) in run.conf["events"]
    assert {e["object_id"] for e in run.conf["events"]} == {customer["id"]}
    assert run.conf["replay_of"]["run_ids"] == planned["replays"]
    data = service.airflow.get(f"/api/v2/dags/{runs['dag_id']}/dagRuns/{quote(run.run_id)}")
    assert runs["ok"] in data["note"]
    assert stack.progix.get("customers", customer["id"])["name"] == "Replay Two, renamed"


def test_events_go_out_in_bounded_batches(service: InstanceService, runs: dict) -> None:
    report = service.replay(
        INSTANCE, flow=FLOW, state="success", mode="events", batch_size=1, dry_run=True
    )
    sources = {item.run_id for item in report.items}
    events = {event["id"] for item in report.items for event in item.events}
    assert {runs["failed"], runs["ok"]} <= sources
    assert {"evt_rp_1", "evt_rp_2"} <= events  # and the relay's deliveries of the same changes
    assert len(report.new_runs) == len(events)  # one event per new run, none lost or repeated
    assert all(run.events == 1 for run in report.new_runs)
    assert len({run.run_id for run in report.new_runs}) == len(report.new_runs)


def test_the_ui_replays_through_airflows_auth(
    stack: StackHandle, service: InstanceService, runs: dict
) -> None:
    token = stack.stack.rest("admin").token()
    form = {"flow": FLOW, "state": "success", "mode": "events", "object_id": runs["second"]["id"]}
    with httpx.Client(base_url=stack.stack.airflow_url, timeout=60) as client:
        refused = client.post(f"/integrations/instances/{INSTANCE}/replay", data=form)
        page = client.post(
            f"/integrations/instances/{INSTANCE}/replay",
            data={**form, "action": "replay"},
            headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        )

    assert refused.status_code == 401
    assert page.status_code == 200, page.text
    [new_id] = re.findall(r'data-new-run="([^"]+)"', page.text)
    run = service.airflow.get_dag_run(runs["dag_id"], new_id)
    assert run is not None
    assert runs["ok"] in run.conf["replay_of"]["run_ids"]
    service._wait_for_run(runs["dag_id"], new_id, FLOW, lambda _line: None)
