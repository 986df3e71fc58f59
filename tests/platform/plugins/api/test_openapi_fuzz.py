"""Schemathesis against the instance API's own OpenAPI document: no input makes it fail (5xx).

The real plugin app and lifecycle service on a temporary instances directory with one
deployed instance, the fake REST API behind it (see `conftest`); bounded examples per
operation so `make test` stays quick.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI

from integration_platform.plugins.urls import MOUNT_PATH
from tests.platform.plugins.api.fuzzing import no_server_errors
from tests.platform.plugins.support import ADMIN, deploy_fixture_instance

OPENAPI = f"{MOUNT_PATH}/api/v1/openapi.json"
MAX_EXAMPLES = 12


@pytest.fixture
def api_schema(plugin_app: FastAPI, client_as: Callable, store, fake_airflow):
    client_as(ADMIN)  # installs the caller on the plugin's apps
    deploy_fixture_instance(store, fake_airflow)
    root = FastAPI()
    root.mount(MOUNT_PATH, plugin_app)
    return schemathesis.openapi.from_asgi(OPENAPI, root)


def test_no_request_makes_the_api_fail(api_schema) -> None:
    """Every operation, valid and invalid inputs alike (see `fuzzing`)."""
    assert no_server_errors(api_schema, max_examples=MAX_EXAMPLES) == []
