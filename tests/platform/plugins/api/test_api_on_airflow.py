"""The instance API and the plugin's boundaries inside a real Airflow API server (`stack`)."""

from __future__ import annotations

import pytest

from tests.platform.plugins.test_trust_boundaries import Listener
from tests.support.stack import StackHandle

pytestmark = pytest.mark.slow
API = "/integrations/api/v1"


def test_the_api_needs_airflows_token_and_serves_its_openapi(stack: StackHandle) -> None:
    with stack.airflow_http() as anonymous:
        assert anonymous.get(f"{API}/instances").status_code == 401
        document = anonymous.get(f"{API}/openapi.json").json()
    assert "/instances/{instance_id}" in document["paths"]
    with stack.airflow_http("viewer") as viewer:
        slugs = [i["slug"] for i in viewer.get(f"{API}/integrations").json()]
        assert "acme-erp" in slugs
        assert viewer.get(f"{API}/instances").status_code == 200


def test_validate_only_on_the_real_server(stack: StackHandle) -> None:
    body = {
        "customer": "API Shop",
        "config": {"progix_tenant": "progix-one"},
        "connections": {
            "acme_connection": {"host": stack.stack.acme_url, "password": "k" * 12},
            "progix_connection": {"host": stack.stack.progix_url, "password": "k" * 12},
        },
    }
    with stack.airflow_http("admin") as admin:
        response = admin.put(f"{API}/instances/api-shop?validate_only=true", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["valid"] is True


def test_a_cookie_post_without_origin_is_refused(stack: StackHandle) -> None:
    with stack.airflow_http() as client:
        client.cookies.set("_token", stack.stack.rest("admin").token())
        response = client.post(f"{API}/instances/no-such/pause")
    assert response.status_code == 403
    assert "cross-site" in response.json()["detail"]


def test_a_forged_host_header_reaches_nothing(stack: StackHandle) -> None:
    canary = Listener()
    try:
        with stack.airflow_http("admin") as admin:
            host = {"Host": f"127.0.0.1:{canary.port}", "Accept": "text/html"}
            for path in ("/integrations/", f"{API}/instances"):
                assert admin.get(path, headers=host).status_code < 500, path
    finally:
        canary.close()
    assert canary.connections == 0
