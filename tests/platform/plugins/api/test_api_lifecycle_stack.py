"""The README's walkthrough through the instance API on the real stack: deploy, redeploy, remove.

Progix's backend only speaks HTTP, so this drives the plugin inside the real Airflow API
server with a bearer token, as the `curl` calls in the README do. The redeploy must run
Initialization again even though nothing changed (it re-applies webhooks and secrets), as the
UI's Redeploy button does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from acme_erp_integration.definition import ACME_ERP, INITIALIZATION
from tests.e2e.scenario import dag_runs
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

API = "/integrations/api/v1"
INSTANCE = "api-walk"
QUERY = {"integration": ACME_ERP.slug}
WEBHOOK_FLOWS = ("sync-customer-data", "sync-inventory-data")


def _finished(client: httpx.Client, started: httpx.Response, timeout: float = 400) -> dict:
    """Poll the operation the 202 points at until it is no longer running."""
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(location).json()
        if body["status"] != "running":
            return body
        assert time.monotonic() < deadline, f"operation still running: {body}"
        time.sleep(1)


@pytest.fixture(scope="module")
def admin(stack: StackHandle) -> Iterator[httpx.Client]:
    token = stack.stack.rest("admin").token()
    client = httpx.Client(
        base_url=stack.stack.airflow_url,
        headers={"Authorization": f"Bearer {token}"},
        params=QUERY,
        timeout=60,
    )
    yield client
    # Leave the shared stack clean even if a step failed half-way.
    if client.get(f"{API}/instances/{INSTANCE}").status_code == 200:
        _finished(client, client.delete(f"{API}/instances/{INSTANCE}"))
    client.close()


def test_deploy_redeploy_and_remove_through_the_api(stack: StackHandle, admin: httpx.Client):
    init_dag = ACME_ERP.dag_id(INSTANCE, INITIALIZATION)

    deployed = _finished(
        admin,
        admin.put(
            f"{API}/instances/{INSTANCE}", json=stack.acme_erp_request("API Walkthrough Shop")
        ),
    )
    assert deployed["status"] == "succeeded", deployed
    assert deployed["result"]["outcome"] == "deployed"
    assert sorted(deployed["result"]["webhook_urls"]) == sorted(WEBHOOK_FLOWS)
    assert len(stack.webhooks_of(INSTANCE)) == len(WEBHOOK_FLOWS)
    assert len(dag_runs(stack, init_dag)) == 1

    # Someone deletes a webhook in Acme; the unchanged redeploy re-runs Initialization anyway.
    stack.acme.delete_webhook(next(iter(stack.webhooks_of(INSTANCE).values()))["id"])
    redeployed = _finished(admin, admin.post(f"{API}/instances/{INSTANCE}/redeploy"))
    assert redeployed["status"] == "succeeded", redeployed
    assert redeployed["result"]["run"]["state"] == "success"
    assert len(dag_runs(stack, init_dag)) == 2
    assert len(stack.webhooks_of(INSTANCE)) == len(WEBHOOK_FLOWS)

    removed = _finished(admin, admin.delete(f"{API}/instances/{INSTANCE}"))
    assert removed["status"] == "succeeded", removed
    assert removed["result"]["removed"] is True
    assert stack.webhooks_of(INSTANCE) == {}
    assert admin.get(f"{API}/instances/{INSTANCE}").status_code == 404
