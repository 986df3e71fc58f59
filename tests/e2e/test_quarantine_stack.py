"""Quarantine on the real stack: one bad event never costs the genuine ones, and every event
set aside is listed with its reason (relay admin API, relay CLI, the platform, the instance
page) and can be replayed.

Acme makes 99 genuine customer changes (its own signed webhooks) while two more events are
delivered to the same route, signed with the route's secret: one without `object_id` (the
relay quarantines it at ingest) and one well-formed `ping` (the relay accepts it, the flow
sets it aside). Progix must then hold exactly the 99 customers.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from integration_contracts.runs import RunKind, run_id
from integration_platform.integrations.events import SET_ASIDE_XCOM_KEY
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from sandbox.load import LoadGenerator, LoadPlan
from tests.e2e.scenario import wait_quiet
from tests.support.polling import wait_until
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle
from webhook_relay.signatures import secret_to_key, sign
from webhook_relay.store.models import events as relay_events

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

ACCOUNT, TENANT = ACME_ACCOUNTS[1], PROGIX_TENANTS[1]
INSTANCE = "quarantine-one"
ROUTE = f"acme-erp/{INSTANCE}/{SYNC_CUSTOMERS}"
DAG_ID = ACME_ERP.dag_id(INSTANCE, SYNC_CUSTOMERS)
RELAY_CLI = str(Path(sys.executable).parent / "webhook-relay")
NO_OBJECT = {"id": "msg_no_object", "type": "customer.updated", "note": "payload-only-TOPSECRET"}
PING = {"id": "msg_ping", "type": "ping", "object_id": "cus_ping", "occurred_at": "2026-01-01"}


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = stack.acme_erp_service(run_timeout=240, with_relay=True)
    data = stack.acme_erp_request("Quarantine test", account=ACCOUNT, tenant=TENANT)
    request = DeployRequest.from_mapping(data, source="test")
    try:
        result = service.deploy(INSTANCE, request)
        assert result.ok, result.message
        yield service
    finally:
        if service.store.exists(INSTANCE):
            service.remove(INSTANCE)
        service.close()


def admin(stack: StackHandle, method: str, path: str, **kwargs: Any) -> httpx.Response:
    running = stack.stack
    return httpx.request(
        method,
        f"{running.relay_url}/admin{path}",
        headers={"Authorization": f"Bearer {running.relay_admin_token}"},
        timeout=30,
        **kwargs,
    )


def deliver(stack: StackHandle, secret: str, event: dict[str, Any]) -> httpx.Response:
    """One delivery signed with the route's secret, as a sender with a bug would send it."""
    body = json.dumps(event).encode()
    ts = int(time.time())
    headers = {
        "webhook-id": event["id"],
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret_to_key(secret), event["id"], ts, body),
    }
    return httpx.post(f"{stack.stack.relay_url}/hooks/{ROUTE}", content=body, headers=headers)


def relay_cli(stack: StackHandle, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RELAY_CLI, *args],
        env=stack.stack.relay_cli_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def progix_ids(stack: StackHandle) -> set[str]:
    return {c["external_id"] for c in stack.progix_for(TENANT).list_all("customers")}


def relay_event(stack: StackHandle, webhook_id: str) -> dict[str, Any]:
    params = {"route": ROUTE, "webhook_id": webhook_id}
    [event] = admin(stack, "GET", "/events", params=params).json()["events"]
    return event


@pytest.fixture(scope="module")
def delivered(stack: StackHandle, service: InstanceService) -> dict[str, Any]:
    """99 genuine changes from Acme with the two bad events in their midst, all settled."""
    acme = stack.acme_for(ACCOUNT)
    wait_quiet(stack, acme, [INSTANCE])
    before_acme = {c["id"] for c in acme.list_all("/v1/customers", limit=200)}
    before_progix = progix_ids(stack)
    secret = httpx.get(
        f"{stack.stack.relay_url}/admin/routes/{ROUTE}/secret",
        headers={"Authorization": f"Bearer {stack.stack.relay_registrar_token}"},
        timeout=30,
    ).json()["secret"]
    plan = LoadPlan(99, 0, 0, concurrency=4, batch_size=1)
    generator = LoadGenerator(stack.stack.acme_url, stack.stack.acme_keys[ACCOUNT], plan)
    summary: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: summary.update(generator.run()), daemon=True)
    thread.start()
    wait_until(  # in the midst of the genuine changes
        lambda: len(admin(stack, "GET", "/events", params={"route": ROUTE}).json()["events"]) >= 30,
        timeout=120,
        what="30 genuine events in the relay",
        interval=0.2,
    )
    answers = {e["id"]: deliver(stack, secret, e) for e in (NO_OBJECT, PING)}
    thread.join(timeout=300)
    wait_quiet(stack, acme, [INSTANCE])
    created = {c["id"] for c in acme.list_all("/v1/customers", limit=200)} - before_acme
    return {
        "answers": answers,
        "summary": summary,
        "created": created,
        "new_in_progix": progix_ids(stack) - before_progix,
    }


def test_one_malformed_event_among_99_genuine_changes_costs_none_of_them(
    stack: StackHandle, delivered: dict[str, Any]
) -> None:
    assert delivered["summary"].get("failed", 0) == 0
    assert len(delivered["created"]) == 99
    assert delivered["new_in_progix"] == delivered["created"]  # exactly the 99
    answers = delivered["answers"]
    assert answers["msg_no_object"].headers["webhook-relay-result"] == "quarantined"
    assert answers["msg_ping"].headers["webhook-relay-result"] == "accepted"

    [listed] = admin(stack, "GET", "/quarantine", params={"route": ROUTE}).json()["events"]
    assert listed["webhook_id"] == "msg_no_object"
    assert listed["reason"].startswith("object_id must be a non-empty string")
    cli = relay_cli(stack, "quarantine", "list", "--route", ROUTE)
    assert cli.returncode == 0, cli.stderr
    [line] = [json.loads(text) for text in cli.stdout.splitlines()]
    assert (line["id"], line["quarantine_reason"]) == (listed["id"], listed["reason"])
    for dag_run in stack.stack.rest().list_dag_runs(DAG_ID):
        assert dag_run.state == "success", dag_run.run_id  # no run failed for a bad event


def test_an_event_the_flow_cannot_use_is_counted_and_recorded_by_a_successful_run(
    stack: StackHandle, delivered: dict[str, Any]
) -> None:
    ping = relay_event(stack, "msg_ping")
    assert ping["status"] == "dispatched"
    relay_run = run_id(RunKind.RELAY, ping["batch_id"])
    rest = stack.stack.rest()
    assert rest.get_dag_run(DAG_ID, relay_run).state == "success"
    counts = rest.xcom_return_value(DAG_ID, relay_run, "sync_customers")
    assert counts["quarantined"] == 1
    assert counts["objects"] == counts["events"] - 1
    [(found, _task, records)] = rest.xcom_values(DAG_ID, SET_ASIDE_XCOM_KEY, 10, run_id=relay_run)
    assert found == relay_run
    assert [(r["id"], r["reason"]) for r in records] == [
        ("msg_ping", "type 'ping' is not handled by this flow")
    ]
    assert "cus_ping" not in delivered["new_in_progix"]


def test_the_platform_and_the_instance_page_show_both_with_their_reasons(
    stack: StackHandle, service: InstanceService, delivered: dict[str, Any]
) -> None:
    report = service.quarantined(INSTANCE)
    assert report.relay_known
    assert [(e.event_id, e.flow) for e in report.relay] == [("msg_no_object", SYNC_CUSTOMERS)]
    assert [(e.event_id, e.reason) for e in report.flows] == [
        ("msg_ping", "type 'ping' is not handled by this flow")
    ]
    with stack.airflow_http("viewer") as airflow:
        page = airflow.get(f"/integrations/instances/{INSTANCE}", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text[:500]
    assert 'data-quarantined="relay"' in page.text
    assert 'data-quarantined="flow"' in page.text
    assert "msg_no_object" in page.text
    assert "msg_ping" in page.text
    assert "TOPSECRET" not in page.text
    assert "data-quarantine-problem" not in page.text


def test_replays_recheck_the_relays_and_resend_the_runs_set_aside_events(
    stack: StackHandle, service: InstanceService, delivered: dict[str, Any]
) -> None:
    [listed] = admin(stack, "GET", "/quarantine", params={"route": ROUTE}).json()["events"]
    # Not fixed yet: a re-check keeps it, with its reason.
    still = relay_cli(stack, "quarantine", "replay", "--route", ROUTE)
    assert json.loads(still.stdout) == {"released": 0, "still_quarantined": 1}, still.stderr

    # The sender's bug is fixed and the stored event corrected: the re-check dispatches it.
    customer = sorted(delivered["created"])[0]
    fixed = json.dumps({**NO_OBJECT, "object_id": customer})
    engine = create_engine(stack.stack.relay_cli_environment()["RELAY_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            update(relay_events).where(relay_events.c.id == listed["id"]).values(payload=fixed)
        )
    engine.dispose()
    answer = admin(stack, "POST", "/quarantine/replay", json={"event_ids": [listed["id"]]})
    assert answer.json() == {"released": 1, "still_quarantined": 0}
    released = wait_until(
        lambda: (e := relay_event(stack, "msg_no_object"))["status"] == "dispatched" and e,
        timeout=120,
        what="the released event dispatched",
    )
    rest = stack.stack.rest()
    run = wait_until(
        lambda: (
            (r := rest.get_dag_run(DAG_ID, run_id(RunKind.RELAY, released["batch_id"])))
            and r.state in ("success", "failed")
            and r
        ),
        timeout=240,
        what="the released event's run finished",
        interval=2.0,
    )
    assert run.state == "success"
    assert admin(stack, "GET", "/quarantine", params={"route": ROUTE}).json()["events"] == []

    # The flow's set-aside event, re-sent: the new run carries only it and sets it aside again.
    report = service.replay(
        INSTANCE, flow=SYNC_CUSTOMERS, state="success", mode="quarantined", wait=True
    )
    [new_run] = report.new_runs
    assert (new_run.events, new_run.state) == (1, "success")
    replayed = rest.get_dag_run(DAG_ID, new_run.run_id)
    assert [e["id"] for e in replayed.conf["events"]] == ["msg_ping"]
    counts = rest.xcom_return_value(DAG_ID, new_run.run_id, "sync_customers")
    assert (counts["events"], counts["quarantined"]) == (1, 1)
