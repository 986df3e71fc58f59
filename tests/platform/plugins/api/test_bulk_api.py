"""`POST /bulk-deploy`: many deploys in one operation, an invalid instance reported with its
fields and not deployed, the caller's own permissions and visibility, and no second operation
on an instance a bulk deploy covers.

The fake REST API refuses connection writes, so a valid instance's deploy fails there: what
is asserted is that it was attempted while the invalid ones were not (the stack test deploys
for real).
"""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from integration_platform.plugins.api.operations import OperationRegistry, OperationRunning
from tests.platform.plugins.api.test_instance_api import API, VALID, _poll
from tests.platform.plugins.support import ADMIN, USER, deploy_fixture_instance


def test_invalid_instances_are_listed_and_the_valid_ones_attempted(client_as, fake_airflow):
    body = {
        "instances": {
            "shop-2": VALID,
            "shop-3": {**VALID, "config": {"progix_tenant": "", "warehouses": "main"}},
            "shop-4": {**VALID, "connections": {"acme_connection": {"password_env": "HOME"}}},
        }
    }
    client = client_as(ADMIN)

    started = client.post(f"{API}/bulk-deploy", json=body)

    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "bulk-deploy"
    assert started.json()["instances"] == ["shop-2", "shop-3", "shop-4"]
    done = _poll(client, started.headers["location"])
    assert done["status"] == "failed"
    assert done["result"]["counts"] == {"deployed": 0, "unchanged": 0, "failed": 1, "invalid": 2}
    items = {item["instance"]: item for item in done["result"]["items"]}
    assert {e["field"] for e in items["shop-3"]["errors"]} == {
        "config.progix_tenant",
        "config.warehouses",
    }
    assert [e["field"] for e in items["shop-4"]["errors"]] == [
        "connections.acme_connection.password_env"
    ]
    assert items["shop-2"]["outcome"] == "failed"  # attempted: it wrote to (fake) Airflow
    connection_writes = [path for _method, path in fake_airflow.writes if "connections" in path]
    assert connection_writes
    assert all("shop-3" not in p and "shop-4" not in p for p in connection_writes)
    assert "k-acme" not in str(done)


def test_bulk_deploy_needs_the_right_to_deploy_and_a_well_formed_body(client_as, fake_airflow):
    assert (
        client_as(USER)
        .post(f"{API}/bulk-deploy", json={"instances": {"shop-2": VALID}})
        .status_code
        == 403
    )
    assert client_as(ADMIN).post(f"{API}/bulk-deploy", json={"instances": {}}).status_code == 422
    assert fake_airflow.writes == []


def test_an_instance_the_caller_may_not_see_is_refused_as_unknown(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow, "shop-1")
    # Per-DAG roles: the auth manager lets this caller read none of the instance's DAGs.
    caller = replace(ADMIN, readable_dags=lambda _ids: set())
    client = client_as(caller)

    started = client.post(f"{API}/bulk-deploy", json={"instances": {"shop-1": VALID}})

    done = _poll(client, started.headers["location"])
    (item,) = done["result"]["items"]
    assert item["outcome"] == "invalid"
    assert item["errors"] == [{"field": "instance", "reason": "no instance 'shop-1'"}]
    assert fake_airflow.writes == []


def test_no_operation_starts_on_an_instance_a_running_bulk_deploy_covers() -> None:
    registry = OperationRegistry()
    release = threading.Event()

    def blocked(_progress):
        release.wait(10)
        return True, "done", {}

    bulk = registry.start("bulk-deploy", "", "admin", blocked, covers=frozenset({"a1", "b2"}))
    try:
        with pytest.raises(OperationRunning) as refused:
            registry.start("deploy", "b2", "admin", blocked)
        assert refused.value.operation is bulk
        assert "(bulk-deploy) of a1, b2 is still running" in str(refused.value)
        other = registry.start("deploy", "c3", "admin", lambda _p: (True, "", {}))
        assert other.covers == frozenset({"c3"})
    finally:
        release.set()
