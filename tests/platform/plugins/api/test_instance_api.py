"""The instance API (`/integrations/api/v1`) on the real service, with a fake REST API behind it."""

from __future__ import annotations

import time
from pathlib import Path

from acme_erp_integration.definition import ACME_ERP
from tests.platform.plugins.support import ADMIN, USER, VIEWER, deploy_fixture_instance

API = "/integrations/api/v1"
VALID = {
    "customer": "Shop Two",
    "config": {"progix_tenant": "tenant-2", "warehouses": ["main"]},
    "connections": {
        "acme_connection": {"host": "https://acme.example.com", "password": "k-acme"},
        "progix_connection": {"host": "https://progix.example.com", "password": "k-progix"},
    },
}


def _poll(client, url: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(url).json()
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_the_catalogue_lists_integrations_with_their_pages_and_variables(client_as):
    response = client_as(VIEWER).get(f"{API}/integrations")
    assert response.status_code == 200
    (acme,) = [i for i in response.json() if i["slug"] == ACME_ERP.slug]
    keys = [v["key"] for page in acme["pages"] for v in page["variables"]]
    assert keys == [v.key for v in ACME_ERP.variables]
    assert {f["slug"] for f in acme["flows"]} == {f.slug for f in ACME_ERP.flows}
    assert client_as(VIEWER).get(f"{API}/integrations/nope").status_code == 404


def test_the_openapi_document_is_served(client_as):
    document = client_as(VIEWER).get(f"{API}/openapi.json").json()
    assert f"{'/instances/{instance_id}'}" in document["paths"]
    assert set(document["paths"]["/instances/{instance_id}"]) == {"get", "put", "delete"}


def test_list_and_get_show_the_instance_without_secrets(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(VIEWER)
    assert [i["id"] for i in client.get(f"{API}/instances").json()] == ["shop-1"]
    body = client.get(f"{API}/instances/shop-1").json()
    assert body["customer"] == "Shop One"
    assert {f["slug"] for f in body["flows"]} == {f.slug for f in ACME_ERP.flows}
    assert "s3cret-api-key" not in client.get(f"{API}/instances/shop-1").text
    assert client.get(f"{API}/instances/shop-9").status_code == 404


def test_validate_only_checks_and_changes_nothing(client_as, instances_dir: Path, fake_airflow):
    response = client_as(ADMIN).put(f"{API}/instances/shop-2?validate_only=true", json=VALID)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "valid": True,
        "instance": "shop-2",
        "redeploy": False,
        "connections": {
            "acme_connection": "acme_erp__shop-2",
            "progix_connection": "progix__shop-2",
        },
    }
    assert fake_airflow.writes == []
    assert not (instances_dir / "shop-2.yaml").exists()


def test_an_invalid_deploy_lists_every_problem_and_changes_nothing(client_as, fake_airflow):
    bad = {**VALID, "config": {"progix_tenant": "", "warehouses": "main"}}
    bad["connections"] = {"acme_connection": {"host": "ftp://x", "password": "k"}}
    response = client_as(ADMIN).put(f"{API}/instances/shop-2", json=bad)
    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["errors"]}
    assert len(fields) >= 3, fields
    assert fake_airflow.writes == []


def test_the_api_never_reads_the_servers_environment(client_as, fake_airflow, monkeypatch):
    monkeypatch.setenv("SERVER_SECRET", "do-not-leak")
    body = {**VALID, "connections": {"acme_connection": {"password_env": "SERVER_SECRET"}}}
    response = client_as(ADMIN).put(f"{API}/instances/shop-2?validate_only=true", json=body)
    assert response.status_code == 400
    assert "password_env" in response.text
    assert fake_airflow.writes == []


def test_ids_that_are_not_ids_never_reach_a_path(client_as, instances_dir: Path, fake_airflow):
    client = client_as(ADMIN)
    for bad in ("..%2Fescape", "Shop_1", "a"):
        assert client.get(f"{API}/instances/{bad}").status_code in (404, 422)
        assert client.delete(f"{API}/instances/{bad}").status_code in (404, 422)
        assert client.put(f"{API}/instances/{bad}", json=VALID).status_code in (404, 422)
    assert fake_airflow.writes == []
    assert not (instances_dir.parent / "escape.yaml").exists()


def test_permissions_are_the_callers_own(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    viewer = client_as(VIEWER)
    assert viewer.post(f"{API}/instances/shop-1/pause").status_code == 403
    assert viewer.delete(f"{API}/instances/shop-1").status_code == 403
    assert client_as(USER).put(f"{API}/instances/shop-2", json=VALID).status_code == 403
    assert fake_airflow.writes == []


def test_pause_and_resume_answer_with_the_instance(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(USER)
    paused = client.post(f"{API}/instances/shop-1/pause")
    assert paused.status_code == 200
    assert paused.json()["paused"] is True
    assert all(dag["is_paused"] for dag in fake_airflow.dags.values())
    assert client.post(f"{API}/instances/shop-1/resume").json()["paused"] is False


def test_a_long_operation_is_a_resource_only_its_starter_can_poll(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    started = client_as(ADMIN).post(f"{API}/instances/shop-1/replay", json={"dry_run": True})
    assert started.status_code == 202
    location = started.headers["location"]
    assert location == f"{API}/operations/{started.json()['id']}"
    done = _poll(client_as(ADMIN), location)
    assert done["status"] in ("succeeded", "failed")
    assert done["kind"] == "replay"
    other = client_as(USER).get(location)
    assert other.status_code == 404


def test_a_bad_test_payload_is_refused_before_anything_runs(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    url = f"{API}/instances/shop-1/flows/sync-customer-data/test"
    response = client_as(USER).post(url, json={"payload": {"events": "nope"}})
    assert response.status_code == 400
    assert client_as(USER).post(f"{API}/instances/shop-1/flows/nope/test").status_code == 404
    assert fake_airflow.writes == []
