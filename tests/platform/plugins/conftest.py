"""The plugin app mounted at /integrations, as in Airflow, with the caller chosen by the test.

Airflow's own authentication is replaced by a fixed `Caller` (unit level); the lifecycle
service is the real one, on a temporary instances directory, talking to `FakeAirflow`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from integration_platform.integrations.instances import InstanceStore
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings
from integration_platform.plugins.app import create_app
from integration_platform.plugins.auth import Caller, get_caller
from integration_platform.plugins.deps import IntegrationDep, get_service_factory
from integration_platform.plugins.urls import MOUNT_PATH
from integration_platform.registry import integrations
from tests.platform.plugins.fake_airflow import FakeAirflow


@pytest.fixture
def fake_airflow() -> FakeAirflow:
    return FakeAirflow()


@pytest.fixture
def instances_dir(tmp_path: Path) -> Path:
    return tmp_path / "instances"


@pytest.fixture
def store(instances_dir: Path) -> InstanceStore:
    return InstanceStore(instances_dir, integrations())


@pytest.fixture
def lifecycle_settings(instances_dir: Path) -> LifecycleSettings:
    """No relay configured (a test module may override this with a real relay)."""
    return LifecycleSettings(airflow_url="http://airflow.test", instances_dir=instances_dir)


@pytest.fixture
def plugin_app(fake_airflow: FakeAirflow, lifecycle_settings: LifecycleSettings) -> FastAPI:
    app = create_app()
    settings = lifecycle_settings

    def services(integration: IntegrationDep) -> Callable[[], InstanceService]:
        return lambda: InstanceService(
            settings,
            integration=integration.slug,
            client=AirflowClient(
                settings.airflow_url, "admin", "pw", transport=fake_airflow.transport()
            ),
        )

    for target in (app, app.state.api):  # the instance API is a mounted app of its own
        target.dependency_overrides[get_service_factory] = services
    return app


@pytest.fixture
def client_as(plugin_app: FastAPI) -> Iterator[Callable[[Caller], TestClient]]:
    """`client_as(VIEWER)`: a TestClient whose requests come from that Airflow user."""
    root = FastAPI()
    root.mount(MOUNT_PATH, plugin_app)
    clients: list[TestClient] = []

    def make(caller: Caller) -> TestClient:
        for target in (plugin_app, plugin_app.state.api):
            target.dependency_overrides[get_caller] = lambda: caller
        client = TestClient(root, base_url="http://airflow.test", follow_redirects=False)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
