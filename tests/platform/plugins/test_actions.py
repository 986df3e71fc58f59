"""Lifecycle actions: who may run them, and that they go through the lifecycle service."""

from __future__ import annotations

import pytest

from acme_erp_integration.definition import ACME_ERP
from integration_platform.integrations.instances import InstanceState
from tests.platform.plugins.support import ADMIN, HTML, USER, VIEWER, deploy_fixture_instance

MUTATIONS = [
    ("post", "/integrations/instances/shop-1/pause", {}),
    ("post", "/integrations/instances/shop-1/resume", {}),
    ("post", "/integrations/instances/shop-1/redeploy", {}),
    ("post", "/integrations/instances/shop-1/rotate", {}),
    ("post", "/integrations/instances/shop-1/test", {"flow": "sync-customer-data"}),
    ("post", "/integrations/instances/shop-1/remove", {"confirm": "shop-1"}),
    ("post", "/integrations/instances/shop-1/edit", {"customer": "x"}),
]


@pytest.mark.parametrize(
    ("method", "path", "data"), MUTATIONS, ids=[m[1].rsplit("/", 1)[1] for m in MUTATIONS]
)
def test_viewer_gets_403_on_every_mutation_and_nothing_changes(
    client_as, store, fake_airflow, method, path, data
):
    deploy_fixture_instance(store, fake_airflow)
    before = store.path_for("shop-1").read_text()
    response = getattr(client_as(VIEWER), method)(path, data=data, headers=HTML)
    assert response.status_code == 403
    assert "may not trigger DAG runs" in response.text
    assert fake_airflow.writes == []
    assert store.path_for("shop-1").read_text() == before


def test_pause_and_resume_go_through_the_service_for_every_dag(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(USER)  # triggering is enough; no connection rights needed
    response = client.post("/integrations/instances/shop-1/pause", headers=HTML)
    assert response.status_code == 303
    assert response.headers["location"] == "/integrations/instances/shop-1?notice=paused"
    assert all(dag["is_paused"] for dag in fake_airflow.dags.values())
    assert store.get("shop-1").state is InstanceState.PAUSED
    page = client.get(response.headers["location"], headers=HTML).text
    assert "Paused: the relay keeps accepting events" in page
    assert "/integrations/instances/shop-1/resume" in page

    client.post("/integrations/instances/shop-1/resume", headers=HTML)
    assert not any(dag["is_paused"] for dag in fake_airflow.dags.values())
    assert store.get("shop-1").state is InstanceState.ACTIVE


def test_user_without_connection_rights_may_not_remove(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    response = client_as(USER).post(
        "/integrations/instances/shop-1/remove", data={"confirm": "shop-1"}, headers=HTML
    )
    assert response.status_code == 403
    assert "may not manage Airflow connections" in response.text
    assert store.exists("shop-1")


def test_remove_needs_the_typed_confirmation(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(ADMIN)
    confirm_page = client.get("/integrations/instances/shop-1/remove", headers=HTML)
    assert confirm_page.status_code == 200
    assert "Teardown" in confirm_page.text
    response = client.post(
        "/integrations/instances/shop-1/remove", data={"confirm": "shop"}, headers=HTML
    )
    assert response.status_code == 400
    assert "nothing was removed" in response.text
    assert store.exists("shop-1")
    assert fake_airflow.writes == []


def test_testing_an_unknown_flow_is_a_404_listing_the_flows(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    response = client_as(ADMIN).post(
        "/integrations/instances/shop-1/test", data={"flow": "nope"}, headers=HTML
    )
    assert response.status_code == 404
    for flow in ACME_ERP.flows:
        assert flow.slug in response.text
    assert fake_airflow.writes == []


def test_progress_without_a_job_here_follows_the_instance_file(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow, state=InstanceState.DEPLOYING)
    client = client_as(VIEWER)
    status = client.get("/integrations/instances/shop-1/progress.json").json()
    assert status["finished"] is False
    assert status["kind"] == "deploying"
    deploy_fixture_instance(store, fake_airflow, state=InstanceState.FAILED)
    status = client.get("/integrations/instances/shop-1/progress.json").json()
    assert status["finished"] is True
    assert status["failed"] is True
    assert status["next_url"] == "/integrations/instances/shop-1"


def test_progress_of_a_removed_instance_leads_back_to_the_list(client_as):
    status = client_as(VIEWER).get("/integrations/instances/gone/progress.json").json()
    assert status["finished"] is True
    assert status["next_url"] == "/integrations/"


def test_a_pasted_payload_is_checked_before_anything_runs(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(ADMIN)
    for payload, reason in [
        ("{not json", "not valid JSON"),
        (
            '{"events": [{"id": "e", "type": "inventory.updated", "object_id": "x", "occurred_at": "t"}]}',
            "does not trigger sync-customer-data",
        ),
    ]:
        response = client.post(
            "/integrations/instances/shop-1/test",
            data={"flow": "sync-customer-data", "payload": payload},
            headers=HTML,
        )
        assert response.status_code == 400
        assert reason in response.text
    assert fake_airflow.writes == []
