"""Quarantined events on the instance page: the relay's (read from a real relay with the
registrar token, as the Airflow side holds it) and those the flows' runs set aside (their
XCom), with reasons and never a payload; the replay form re-sends only what runs set aside."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS, SYNC_INVENTORY
from integration_platform.integrations.events import SET_ASIDE_XCOM_KEY
from integration_platform.lifecycle.settings import LifecycleSettings
from sandbox.processes import free_port
from tests.platform.plugins.support import HTML, USER, VIEWER, deploy_fixture_instance
from tests.relay.harness import REGISTRAR_TOKEN, Relay

DAG = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
PING = {"id": "evt_ping", "type": "ping", "object_id": "cus_1", "occurred_at": "x"}
GOOD = {"id": "evt_good", "type": "customer.updated", "object_id": "cus_2", "occurred_at": "x"}
SET_ASIDE = [
    {"index": 1, "id": "evt_ping", "type": "ping", "object_id": "cus_1",
     "reason": "type 'ping' is not handled by this flow"},
]  # fmt: skip


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    tmp: Path = tmp_path_factory.mktemp("quarantine-page-relay")
    service = Relay(
        tmp,
        f"sqlite:///{tmp / 'relay.db'}",
        airflow_url=f"http://127.0.0.1:{free_port()}",
        no_dispatcher=True,
    ).start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def relay_url(relay: Relay) -> str:
    return relay.url


@pytest.fixture
def lifecycle_settings(instances_dir: Path, relay_url: str) -> LifecycleSettings:
    return LifecycleSettings(
        airflow_url="http://airflow.test",
        instances_dir=instances_dir,
        relay_url=relay_url,
        relay_registrar_token=REGISTRAR_TOKEN,
    )


def _run_that_set_one_aside(fake, dag: str = DAG) -> None:
    fake.add_run(dag, "relay__b9", "success", minutes_ago=2, conf={"events": [GOOD, PING]})
    fake.keyed_xcoms[(dag, "relay__b9", "sync_customers", SET_ASIDE_XCOM_KEY)] = SET_ASIDE


def test_the_page_lists_the_relays_and_the_runs_quarantined_events(
    client_as, store, fake_airflow, relay: Relay
) -> None:
    deploy_fixture_instance(store, fake_airflow, "shop-q1")
    dag = ACME_ERP.dag_id("shop-q1", SYNC_CUSTOMERS)
    _run_that_set_one_aside(fake_airflow, dag)
    route = f"acme-erp/shop-q1/{SYNC_INVENTORY}"
    body = b'{"type": "inventory.updated", "id": "msg_q", "note": "payload-TOPSECRET"}'
    assert relay.deliver(route, "msg_q", body=body).headers["webhook-relay-result"] == "quarantined"
    relay.register(f"acme-erp/shop-q1/{SYNC_CUSTOMERS}")

    page = client_as(VIEWER).get("/integrations/instances/shop-q1", headers=HTML).text

    rows = re.findall(r'<tr data-quarantined="(\w+)" data-flow="([a-z-]+)">(.*?)</tr>', page, re.S)
    assert [(source, flow) for source, flow, _ in rows] == [
        ("relay", SYNC_INVENTORY),
        ("flow", SYNC_CUSTOMERS),
    ]
    relay_row, flow_row = rows[0][2], rows[1][2]
    assert "msg_q" in relay_row
    assert "object_id must be a non-empty string" in relay_row
    assert f"#{relay.events(route)[0]['id']}" in relay_row  # the id a relay re-check takes
    assert "evt_ping" in flow_row
    assert "type &#39;ping&#39; is not handled" in flow_row
    assert f'href="/dags/{dag}/runs/relay__b9"' in flow_row
    assert "TOPSECRET" not in page
    assert "data-quarantine-problem" not in page
    assert fake_airflow.writes == []


@pytest.mark.parametrize("relay_url", [f"http://127.0.0.1:{free_port()}"])  # nobody listens
def test_a_source_that_cannot_be_read_is_named_and_the_page_still_renders(
    client_as, store, fake_airflow
) -> None:
    deploy_fixture_instance(store, fake_airflow)
    _run_that_set_one_aside(fake_airflow)
    fake_airflow.forbidden = ("/~/xcomEntries",)  # listing XComs refused

    response = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML)

    assert response.status_code == 200
    problems = re.findall(r"<p [^>]*data-quarantine-problem>(.*?)</p>", response.text)
    assert len(problems) == 2
    assert "relay" in problems[0]
    assert "403" in problems[1]
    assert "No quarantined events." in response.text


def test_a_quarantined_replay_preview_resends_only_what_runs_set_aside(
    client_as, store, fake_airflow
) -> None:
    deploy_fixture_instance(store, fake_airflow)
    _run_that_set_one_aside(fake_airflow)
    fake_airflow.add_run(DAG, "relay__b10", "success", minutes_ago=1, conf={"events": [GOOD]})
    form = {"flow": SYNC_CUSTOMERS, "state": "success", "mode": "quarantined"}

    response = client_as(USER).post(
        "/integrations/instances/shop-1/replay", data=form, headers=HTML
    )

    assert response.status_code == 200, response.text
    [replayed] = re.findall(r'<tr data-replayed="([^"]+)">(.*?)</tr>', response.text, re.S)
    assert replayed[0] == "relay__b9"  # relay__b10 set nothing aside
    assert "ping cus_1" in replayed[1]
    assert "cus_2" not in replayed[1]
    assert re.findall(
        r'<tr data-new-run="[^"]+"><td><code[^>]*>[^<]+</code></td><td>(\d+)<', response.text
    ) == ["1"]
    assert fake_airflow.writes == []


def test_a_quarantined_replay_of_a_flow_that_receives_no_events_is_refused(
    client_as, store, fake_airflow
) -> None:
    deploy_fixture_instance(store, fake_airflow)
    form = {"flow": "initialization", "state": "success", "mode": "quarantined"}

    response = client_as(USER).post(
        "/integrations/instances/shop-1/replay", data=form, headers=HTML
    )

    assert response.status_code == 400
    assert "--mode quarantined apply to webhook flows only" in response.text
    assert fake_airflow.writes == []
