"""The local stack starts as `make demo` starts it, and Airflow picks up instance files."""

from __future__ import annotations

import httpx
import pytest

from acme_erp_integration.definition import ACME_ERP
from tests.support.instance_files import acme_erp_instance_file
from tests.support.polling import wait_until
from tests.support.stack import StackHandle

pytestmark = pytest.mark.slow


def _wait_for_dags(stack: StackHandle, instance_id: str, timeout: float = 90.0) -> set[str]:
    rest = stack.stack.rest()

    def all_flows_found() -> set[str] | None:
        body = rest.get("/api/v2/dags", params={"tags": f"instance:{instance_id}", "limit": 100})
        found = {dag["dag_id"] for dag in body["dags"]}
        return found if len(found) == len(ACME_ERP.flows) else None

    return wait_until(all_flows_found, timeout=timeout, what=f"the DAGs of {instance_id}")


def test_every_service_answers_and_each_user_gets_a_token(stack: StackHandle) -> None:
    health = stack.stack.rest("viewer").get("/api/v2/monitor/health")
    assert {health[c]["status"] for c in ("scheduler", "dag_processor", "triggerer")} == {"healthy"}
    for user in ("admin", "relay", "viewer"):
        assert stack.stack.rest(user).token()
    for url in (stack.stack.relay_url, stack.stack.acme_url, stack.stack.progix_url):
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    # The simulators know the stack's accounts and tenants, and only their keys. (Not "they
    # are empty": the stack is shared by the session, other tests may have run first.)
    probes = [
        (f"{stack.stack.acme_url}/v1/webhooks", key) for key in stack.stack.acme_keys.values()
    ]
    probes += [
        (f"{stack.stack.progix_url}/v1/customers", key) for key in stack.stack.progix_keys.values()
    ]
    for url, key in probes:
        assert (
            httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=5).status_code == 200
        )
        bogus = {"Authorization": f"Bearer {key}-not-a-key"}
        assert httpx.get(url, headers=bogus, timeout=5).status_code == 401
    wrong = httpx.get(
        f"{stack.stack.acme_url}/v1/customers", headers={"authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401


def test_wrong_password_gets_no_token(stack: StackHandle) -> None:
    response = httpx.post(
        f"{stack.stack.airflow_url}/auth/token",
        json={"username": "admin", "password": "not-the-password"},
        timeout=10,
    )
    assert response.status_code == 401


def test_an_instance_file_makes_its_dags_appear(stack: StackHandle) -> None:
    instance_id = "stack-smoke"
    with acme_erp_instance_file(stack.stack.instances_dir, instance_id, "Smoke test"):
        expected = {ACME_ERP.dag_id(instance_id, flow.slug) for flow in ACME_ERP.flows}
        assert _wait_for_dags(stack, instance_id) == expected
