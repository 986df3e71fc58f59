"""Quarantine through real processes: a signed event whose thin fields fail the event
contract is kept with its reason, answered 200, never batched, listed, and replayable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, update

from tests.relay.harness import (
    REGISTRAR_TOKEN,
    Relay,
    StubAirflow,
    dag_id_of,
    thin_event_body,
    unique_route,
)
from tests.relay.test_dispatch import assert_each_exactly_once, deliver_many
from webhook_relay.store.models import events


def _quarantined(relay: Relay, route: str) -> list[dict]:
    response = relay.admin("GET", "/quarantine", params={"route": route})
    response.raise_for_status()
    return response.json()["events"]


def test_one_malformed_event_among_99_genuine_ones(relay: Relay, stub_airflow: StubAirflow):
    """99 records reach Airflow, the one without object_id is quarantined with its reason."""
    route = unique_route()
    good = deliver_many(relay, route, 99, "msg_good")
    bad = relay.deliver(route, "msg_ping", body=b'{"type": "ping", "id": "msg_ping"}')
    assert bad.status_code == 200
    assert bad.headers["webhook-relay-result"] == "quarantined"
    relay.wait_all_dispatched(route, 99)
    assert_each_exactly_once(stub_airflow, dag_id_of(route), good)

    [listed] = _quarantined(relay, route)
    assert listed["webhook_id"] == "msg_ping"
    assert listed["reason"].startswith("object_id must be a non-empty string")
    [event] = relay.events(route, status="quarantined")
    assert event["batch_id"] is None
    assert event["quarantine_reason"] == listed["reason"]
    stats = relay.admin("GET", "/stats").json()
    assert stats["quarantined"] >= 1
    assert stats["events"]["quarantined"] >= 1
    # Redelivery of the same bad event is a duplicate, still one quarantined row.
    again = relay.deliver(route, "msg_ping", body=b'{"type": "ping", "id": "msg_ping"}')
    assert again.headers["webhook-relay-result"] == "duplicate"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (thin_event_body("msg_q", type=7), "type must be a non-empty string"),
        (thin_event_body("msg_q", object_id=""), "object_id must be a non-empty string"),
        (thin_event_body("msg_q", object_id="x" * 300), "object_id must be at most"),
        (b"{}", "type must be a non-empty string"),
    ],
)
def test_each_contract_failure_is_quarantined_with_its_reason(
    relay: Relay, body: bytes, reason: str
) -> None:
    route = unique_route()
    assert relay.deliver(route, "msg_q", body=body).status_code == 200
    [listed] = _quarantined(relay, route)
    assert reason in listed["reason"]


def test_replay_rechecks_quarantined_events(
    relay: Relay, stub_airflow: StubAirflow, database_url: str
) -> None:
    route = unique_route()
    relay.deliver(route, "msg_fix", body=b'{"type": "customer.updated", "id": "msg_fix"}')
    [listed] = _quarantined(relay, route)

    # Still bad: stays quarantined with its reason, nothing sent.
    response = relay.admin("POST", "/replay", json={"event_ids": [listed["id"]]})
    assert response.json() == {"replayed": 0, "still_quarantined": 1}
    assert _quarantined(relay, route)[0]["reason"] == listed["reason"]

    # An operator corrects the stored payload (the cause is fixed): the replay releases it.
    fixed = json.dumps({"type": "customer.updated", "object_id": "cust-9", "id": "msg_fix"})
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id == listed["id"]).values(payload=fixed))
    engine.dispose()
    response = relay.admin("POST", "/replay", json={"quarantined": True, "route": route})
    assert response.json() == {"replayed": 1}
    relay.wait_all_dispatched(route, 1)
    [run] = stub_airflow.runs_for(dag_id_of(route))
    assert run["conf"]["events"][0]["object_id"] == "cust-9"
    assert _quarantined(relay, route) == []


def test_cli_lists_and_replays_quarantined_events(relay: Relay) -> None:
    route = unique_route()
    relay.deliver(route, "msg_cli", body=b'{"type": "ping"}')

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "webhook_relay.cli", *args],
            env={**relay.env, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )

    listed = cli("quarantine", "list", "--route", route)
    assert listed.returncode == 0, listed.stderr
    [line] = [json.loads(x) for x in listed.stdout.splitlines()]
    assert line["webhook_id"] == "msg_cli"
    assert "object_id" in line["quarantine_reason"]
    replayed = cli("quarantine", "replay", "--event-id", str(line["id"]))
    assert json.loads(replayed.stdout) == {"released": 0, "still_quarantined": 1}
    refused = cli("quarantine", "replay")
    assert refused.returncode == 2
    assert "--all" in refused.stderr


def test_registrar_lists_quarantine_without_payloads_and_only_admin_rechecks(
    relay: Relay, stub_airflow: StubAirflow, database_url: str
) -> None:
    """The platform's registrar token reads what its instance page shows, nothing more; the
    admin re-checks by route or by id: what passes is dispatched, the rest keeps a reason."""
    route = unique_route()
    body = b'{"type": "customer.updated", "id": "msg_reg", "note": "payload-only-TOPSECRET"}'
    relay.deliver(route, "msg_reg", body=body)
    relay.deliver(route, "msg_reg2", body=b'{"type": "ping"}')
    listed = relay.admin("GET", "/quarantine", params={"route": route}, token=REGISTRAR_TOKEN)
    assert listed.status_code == 200
    assert "TOPSECRET" not in listed.text
    first, second = sorted(listed.json()["events"], key=lambda e: e["id"])
    assert (first["webhook_id"], second["webhook_id"]) == ("msg_reg", "msg_reg2")
    assert set(first) == {
        "id", "route", "webhook_id", "event_type", "object_id", "received_at", "reason"
    }  # fmt: skip
    refused = relay.admin(
        "POST", "/quarantine/replay", json={"route": route}, token=REGISTRAR_TOKEN
    )
    assert refused.status_code == 403
    assert _quarantined(relay, route)  # nothing changed

    fixed = json.dumps({"type": "customer.updated", "object_id": "cus-7", "id": "msg_reg"})
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id == first["id"]).values(payload=fixed))
    engine.dispose()
    answer = relay.admin("POST", "/quarantine/replay", json={"route": route})
    assert answer.json() == {"released": 1, "still_quarantined": 1}
    relay.wait_all_dispatched(route, 1)
    [run] = stub_airflow.runs_for(dag_id_of(route))
    assert [e["object_id"] for e in run["conf"]["events"]] == ["cus-7"]
    [left] = _quarantined(relay, route)
    assert (left["id"], left["reason"]) == (second["id"], second["reason"])
    by_id = relay.admin("POST", "/quarantine/replay", json={"event_ids": [left["id"]]})
    assert by_id.json() == {"released": 0, "still_quarantined": 1}


def test_a_bad_quarantine_replay_is_refused(relay: Relay) -> None:
    for body in ({}, {"event_ids": []}, {"event_ids": [1], "all": True}, {"route": "a/b/"}):
        response = relay.admin("POST", "/quarantine/replay", json=body)
        assert response.status_code in (400, 422), body
        assert response.json()["detail"]
