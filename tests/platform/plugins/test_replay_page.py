"""The instance page's replay form: a preview lists exactly what would re-run, changing nothing."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from tests.platform.plugins.support import HTML, USER, VIEWER, deploy_fixture_instance

DAG = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)


def _event(event_id: str, object_id: str) -> dict:
    return {"id": event_id, "type": "customer.updated", "object_id": object_id}


def _runs(fake) -> None:
    fake.add_run(DAG, "relay__b1", "success", minutes_ago=9, conf={"events": [_event("e1", "c1")]})
    fake.add_run(DAG, "relay__b2", "success", minutes_ago=8, conf={"events": [_event("e2", "c2")]})
    fake.add_run(DAG, "relay__b3", "failed", minutes_ago=7, conf={"events": [_event("e3", "c1")]})


def test_an_events_preview_lists_the_matching_runs_and_batches_and_writes_nothing(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    _runs(fake_airflow)
    form = {"flow": SYNC_CUSTOMERS, "state": "success", "mode": "events", "object_id": "c1"}

    response = client_as(USER).post(
        "/integrations/instances/shop-1/replay", data=form, headers=HTML
    )

    assert response.status_code == 200, response.text
    assert 'data-replayed="relay__b1"' in response.text
    assert "relay__b2" not in response.text  # another object
    assert "relay__b3" not in response.text  # another state
    assert response.text.count("data-new-run=") == 1
    assert 'value="replay"' in response.text  # the confirm button carries the same filters
    assert fake_airflow.writes == []


def test_bad_filters_are_a_400_naming_the_field(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    response = client_as(USER).post(
        "/integrations/instances/shop-1/replay", data={"state": "running"}, headers=HTML
    )
    assert response.status_code == 400
    assert "state" in response.text
    assert fake_airflow.writes == []


def test_viewers_may_not_replay(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    response = client_as(VIEWER).post(
        "/integrations/instances/shop-1/replay", data={"action": "replay"}, headers=HTML
    )
    assert response.status_code == 403
    assert fake_airflow.writes == []


def test_a_replay_run_shows_what_it_replays_on_the_instance_page(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    conf = {"events": [_event("e1", "c1")], "replay_of": {"dag_id": DAG, "run_ids": ["relay__b1"]}}
    fake_airflow.add_run(DAG, "replay__x_1_abcd", "success", minutes_ago=1, conf=conf)

    page = client_as(USER).get("/integrations/instances/shop-1", headers=HTML).text

    assert "replay of relay__b1" in page
    assert 'action="/integrations/instances/shop-1/replay"' in page
