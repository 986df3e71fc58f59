"""Deploy validates everything, including what only Airflow knows, before changing anything."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from integration_platform.integrations.instances import Instance, InstanceState, InstanceStore
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings
from integration_platform.registry import integrations


def test_a_redeploy_omitting_a_secret_airflow_does_not_hold_changes_nothing(tmp_path: Path):
    store = InstanceStore(tmp_path, integrations())
    store.save(
        Instance(
            id="shop-1",
            integration="acme-erp",
            customer="Shop One",
            generation=3,
            state=InstanceState.ACTIVE,
            config={"progix_tenant": "shop-1"},
            connections={
                "acme_connection": "acme_erp__shop-1",
                "progix_connection": "progix__shop-1",
            },
        )
    )
    before = store.path_for("shop-1").read_bytes()
    requests: list[tuple[str, str]] = []

    def airflow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            return httpx.Response(201, json={"access_token": "t"})
        requests.append((request.method, request.url.path))
        return httpx.Response(404, json={"detail": "The Connection was not found"})

    client = AirflowClient(
        "http://airflow.test", "admin", "pw", transport=httpx.MockTransport(airflow)
    )
    service = InstanceService(LifecycleSettings(instances_dir=tmp_path), client=client)
    request = DeployRequest.from_mapping(
        {
            "customer": "Shop One",
            "config": {"progix_tenant": "shop-1b"},
            "connections": {
                "acme_connection": {"host": "https://acme.example.com"},
                "progix_connection": {"host": "https://progix.example.com", "password": "pk"},
            },
        },
        source="redeploy.yaml",
    )

    with pytest.raises(InvalidRequest) as error:
        service.deploy("shop-1", request)

    assert str(error.value) == (
        "redeploy.yaml: connections.acme_connection.password: required "
        "(connection 'acme_erp__shop-1' does not exist in Airflow)"
    )
    assert requests == [("GET", "/api/v2/connections/acme_erp__shop-1")]
    assert store.path_for("shop-1").read_bytes() == before
