"""The plugin's trust boundaries: who sees what, which writes are accepted, where it calls."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from acme_erp_integration.definition import ACME_ERP
from integration_platform.plugins.app import create_app
from integration_platform.plugins.auth import get_caller
from integration_platform.plugins.urls import MOUNT_PATH
from tests.platform.plugins.support import ADMIN, HTML, VIEWER, deploy_fixture_instance

SHOP_1_DAGS = frozenset(ACME_ERP.dag_id("shop-1", f.slug) for f in ACME_ERP.flows)
SCOPED = replace(VIEWER, name="scoped", readable_dags=lambda ids: set(ids) & SHOP_1_DAGS)


def _scoped_to_shop_1(store, fake_airflow) -> None:
    deploy_fixture_instance(store, fake_airflow, "shop-1", "Shop One")
    deploy_fixture_instance(store, fake_airflow, "shop-2", "Secret Customer")
    fake_airflow.readable = set(SHOP_1_DAGS)  # Airflow's REST API filters by the same role


def test_a_scoped_viewer_sees_only_instances_whose_dags_they_may_read(
    client_as, store, fake_airflow
):
    _scoped_to_shop_1(store, fake_airflow)
    client = client_as(SCOPED)
    page = client.get("/integrations/", headers=HTML).text
    assert "Shop One" in page
    assert "Secret Customer" not in page
    assert "shop-2" not in page
    assert [i["id"] for i in client.get("/integrations/api/v1/instances").json()] == ["shop-1"]
    for path in ("/integrations/instances/shop-2", "/integrations/api/v1/instances/shop-2"):
        hidden = client.get(path)
        assert hidden.status_code == 404
        assert "Secret Customer" not in hidden.text
    assert client.get("/integrations/api/v1/instances/shop-1").status_code == 200


def test_an_unknown_id_lists_only_the_instances_the_caller_may_see(client_as, store, fake_airflow):
    _scoped_to_shop_1(store, fake_airflow)
    for path in ("/integrations/instances/shop-9", "/integrations/api/v1/instances/shop-9"):
        scoped = client_as(SCOPED).get(path)
        assert scoped.status_code == 404
        assert "shop-1" in scoped.text
        assert "shop-2" not in scoped.text
        assert "shop-2" in client_as(VIEWER).get(path).text  # who may see it is told of it


def test_a_hidden_instance_is_refused_exactly_as_an_unknown_one(client_as, store, fake_airflow):
    _scoped_to_shop_1(store, fake_airflow)
    client = client_as(SCOPED)
    hidden = client.get("/integrations/api/v1/instances/shop-2")
    unknown = client.get("/integrations/api/v1/instances/shop-9")
    assert (hidden.status_code, unknown.status_code) == (404, 404)
    assert hidden.json()["detail"].replace("shop-2", "ID") == unknown.json()["detail"].replace(
        "shop-9", "ID"
    )


def test_one_unreadable_dag_hides_the_instance(client_as, store, fake_airflow):
    """Its page would show that DAG's runs: every DAG of the instance must be readable."""
    _scoped_to_shop_1(store, fake_airflow)
    one_short = replace(SCOPED, readable_dags=lambda ids: set(ids) & set(sorted(SHOP_1_DAGS)[1:]))
    client = client_as(one_short)
    assert client.get("/integrations/api/v1/instances").json() == []
    assert client.get("/integrations/api/v1/instances/shop-1").status_code == 404


def test_broken_files_are_reported_only_to_who_may_see_that_instance(
    client_as, store, fake_airflow, instances_dir: Path
):
    _scoped_to_shop_1(store, fake_airflow)
    (instances_dir / "shop-3.yaml").write_text("id: shop-3\ncustomer: [\n")
    (instances_dir / "Not An Id.yaml").write_text("customer: [\n")
    scoped = client_as(SCOPED).get("/integrations/", headers=HTML).text
    assert "shop-3.yaml" not in scoped
    assert "Not An Id.yaml" not in scoped
    viewer = client_as(VIEWER).get("/integrations/", headers=HTML).text
    assert "shop-3.yaml" in viewer
    assert "Not An Id.yaml" in viewer


def test_the_caller_asks_the_auth_manager_dag_by_dag(monkeypatch) -> None:
    """The real wiring with Airflow's SimpleAuthManager: a viewer reads every DAG asked about."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    from integration_platform.plugins import auth

    asked: list[set[str]] = []

    class Recording(SimpleAuthManager):
        def filter_authorized_dag_ids(self, *, dag_ids, user, method="GET", team_name=None):
            asked.append(set(dag_ids))
            return super().filter_authorized_dag_ids(dag_ids=dag_ids, user=user, method=method)

    monkeypatch.setattr(auth, "get_auth_manager", Recording)
    viewer = auth._caller_for(SimpleAuthManagerUser(username="v", role="viewer"), "t")
    assert viewer.readable_dags({"a__x__y", "b__x__y"}) == {"a__x__y", "b__x__y"}
    assert asked == [{"a__x__y", "b__x__y"}]
    nobody = auth._caller_for(SimpleAuthManagerUser(username="n", role=None), "t")
    assert nobody.readable_dags({"a__x__y"}) == set()


# -- cross-site writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Cookie": "_token=t"}, False),  # a cookie and neither header: a forged form
        ({"Cookie": "_token=t", "Origin": "https://evil.example"}, False),
        ({"Cookie": "_token=t", "Origin": "null"}, False),
        ({"Cookie": "_token=t", "Sec-Fetch-Site": "cross-site"}, False),
        ({"Cookie": "_token=t", "Origin": "http://airflow.test"}, True),
        ({"Cookie": "_token=t", "Sec-Fetch-Site": "same-origin"}, True),
        ({"Authorization": "Bearer t"}, True),  # an API call: no browser adds this for a site
        ({"Authorization": "Bearer t", "Origin": "https://evil.example"}, False),
    ],
)
def test_state_changing_requests_must_come_from_this_site(
    client_as, store, fake_airflow, headers, allowed
):
    deploy_fixture_instance(store, fake_airflow)
    client = client_as(ADMIN)
    cookie = headers.pop("Cookie", None)
    if cookie:
        client.cookies.set("_token", cookie.split("=", 1)[1])
    response = client.post("/integrations/api/v1/instances/shop-1/pause", headers=headers)
    client.cookies.clear()
    if allowed:
        assert response.status_code == 200, response.text
        assert fake_airflow.writes
    else:
        assert response.status_code == 403
        assert "cross-site" in response.json()["detail"]
        assert fake_airflow.writes == []


# -- where Airflow is ----------------------------------------------------------------------


class Listener:
    """A TCP port that records every connection it gets (and answers nothing useful)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listeners() -> Iterator[tuple[Listener, Listener]]:
    airflow, canary = Listener(), Listener()
    yield airflow, canary
    airflow.close()
    canary.close()


def _real_plugin(caller) -> FastAPI:
    """The plugin as Airflow mounts it: only the authentication is replaced."""
    app = create_app()
    for target in (app, app.state.api):
        target.dependency_overrides[get_caller] = lambda: caller
    root = FastAPI()
    root.mount(MOUNT_PATH, app)
    return root


def test_the_host_header_never_chooses_where_airflow_is(
    listeners, store, fake_airflow, instances_dir: Path, monkeypatch
):
    airflow, canary = listeners
    deploy_fixture_instance(store, fake_airflow)
    # As in the demo: no INTEGRATION_AIRFLOW_URL, only Airflow's own [api] base_url.
    monkeypatch.delenv("INTEGRATION_AIRFLOW_URL", raising=False)
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{airflow.port}")
    monkeypatch.setenv("INTEGRATION_INSTANCES_DIR", str(instances_dir))
    client = TestClient(_real_plugin(ADMIN), base_url=f"http://127.0.0.1:{canary.port}")
    for path in (
        "/integrations/",
        "/integrations/instances/shop-1",
        "/integrations/api/v1/instances/shop-1",
    ):
        response = client.get(path, headers={**HTML, "Host": f"127.0.0.1:{canary.port}"})
        assert response.status_code >= 500  # the configured Airflow answered 503
    assert canary.connections == 0
    assert airflow.connections > 0  # the requests did go to Airflow: the configured one


def test_without_a_configured_airflow_every_route_says_what_to_set(
    store, fake_airflow, instances_dir: Path, monkeypatch
):
    deploy_fixture_instance(store, fake_airflow)
    monkeypatch.delenv("INTEGRATION_AIRFLOW_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__API__BASE_URL", raising=False)
    monkeypatch.setenv("INTEGRATION_INSTANCES_DIR", str(instances_dir))
    client = TestClient(_real_plugin(ADMIN), base_url="http://127.0.0.1:9")
    response = client.get("/integrations/api/v1/instances")
    assert response.status_code == 503
    assert "INTEGRATION_AIRFLOW_URL" in response.json()["detail"]
    assert "[api] base_url" in response.json()["detail"]
