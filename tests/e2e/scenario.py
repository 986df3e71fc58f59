"""Helpers for the end-to-end scenario: run `acme-erp`, make changes, wait for convergence.

Everything polls with a deadline; nothing sleeps a fixed time and hopes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from acme_erp_integration.definition import ACME_ERP
from tests.support.polling import wait_until
from tests.support.simulators import AcmeSimulator, ProgixSimulator
from tests.support.stack import StackHandle

T = TypeVar("T")
ACME_ERP_CLI = str(Path(sys.executable).parent / "acme-erp")
WEBHOOK_FLOWS = {flow.slug: flow for flow in ACME_ERP.flows if flow.events}


def retry_injected_5xx(call: Callable[[], T], attempts: int = 20) -> T:
    """Run a simulator write that an injected 5xx may refuse (nothing is written then)."""
    for attempt in range(attempts):
        try:
            return call()
        except httpx.HTTPStatusError as error:
            if error.response.status_code < 500 or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


class AcmeErpCli:
    """Runs the real `acme-erp` console script against the stack, as an operator would."""

    def __init__(self, stack: StackHandle, secrets_env: Mapping[str, str]) -> None:
        self.env = {**stack.stack.client_environment(), **secrets_env}

    def run(self, *args: str, timeout: float = 240.0) -> tuple[int, Any, str]:
        """`acme-erp --json ARGS`: (exit code, parsed stdout JSON or None, stderr)."""
        done = subprocess.run(
            [ACME_ERP_CLI, "--json", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        try:
            document = json.loads(done.stdout) if done.stdout.strip() else None
        except json.JSONDecodeError:
            document = None
        return done.returncode, document, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"

    def ok(self, *args: str, timeout: float = 240.0) -> Any:
        code, document, output = self.run(*args, timeout=timeout)
        assert code == 0, f"acme-erp {' '.join(args)} exited {code}\n{output}"
        return document


def write_deploy_request(
    path: Path,
    *,
    customer: str,
    stack: StackHandle,
    tenant: str,
    acme_key_env: str,
    progix_key_env: str,
    warehouses: list[str] | None = None,
) -> Path:
    """A deploy request file whose secrets come from environment variables (never the file)."""
    config: dict[str, Any] = {"progix_tenant": tenant}
    if warehouses is not None:
        config["warehouses"] = warehouses
    request = {
        "customer": customer,
        "config": config,
        "connections": {
            "acme_connection": {"host": stack.stack.acme_url, "password_env": acme_key_env},
            "progix_connection": {"host": stack.stack.progix_url, "password_env": progix_key_env},
        },
    }
    path.write_text(yaml.safe_dump(request))
    return path


def expected_webhooks(stack: StackHandle, instance_id: str) -> dict[str, tuple[str, ...]]:
    """`{url: sorted events}` that Initialization must register for `instance_id`."""
    urls = ACME_ERP.webhook_urls(stack.stack.relay_url, instance_id)
    return {urls[slug]: tuple(sorted(flow.events)) for slug, flow in WEBHOOK_FLOWS.items()}


def registered_webhooks(acme: AcmeSimulator) -> dict[str, tuple[str, ...]]:
    """`{url: sorted events}` of every webhook in this Acme account (a duplicate URL fails)."""
    hooks = acme.list_webhooks()
    by_url = {hook["url"]: tuple(sorted(hook["events"])) for hook in hooks}
    assert len(by_url) == len(hooks), f"two webhooks share a URL: {hooks}"
    return by_url


def acme_versions(acme: AcmeSimulator) -> dict[str, dict[str, int]]:
    """`{collection: {external id: version}}` of everything in the Acme account."""
    return {
        "customers": {c["id"]: c["version"] for c in acme.list_all("/v1/customers", limit=200)},
        "inventory": {i["sku"]: i["version"] for i in acme.list_all("/v1/inventory", limit=200)},
    }


def progix_versions(progix: ProgixSimulator) -> dict[str, dict[str, int]]:
    return {
        collection: {r["external_id"]: r["version"] for r in progix.list_all(collection)}
        for collection in ("customers", "inventory")
    }


def relay_queue_depth(stack: StackHandle) -> int:
    response = httpx.get(
        f"{stack.stack.relay_url}/admin/stats",
        headers={"authorization": f"Bearer {stack.stack.relay_admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return int(response.json()["queue_depth"])


def dag_runs(stack: StackHandle, dag_id: str) -> list[dict[str, Any]]:
    body = stack.stack.rest().get(f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})
    return body["dag_runs"]


def unfinished_runs(stack: StackHandle, instance_id: str) -> list[str]:
    """Run ids of the instance's DAGs that are still queued or running."""
    pending = []
    for flow in ACME_ERP.flows:
        for run in dag_runs(stack, ACME_ERP.dag_id(instance_id, flow.slug)):
            if run["state"] in ("queued", "running"):
                pending.append(f"{run['dag_id']}/{run['dag_run_id']}")
    return pending


def wait_quiet(stack: StackHandle, acme: AcmeSimulator, instance_ids: list[str]) -> None:
    """Wait until Acme delivered everything, the relay dispatched it and every run finished."""
    acme.wait_deliveries_drained(timeout=120)
    wait_until(lambda: relay_queue_depth(stack) == 0, timeout=120, what="relay queue empty")
    wait_until(
        lambda: not any(unfinished_runs(stack, i) for i in instance_ids) or None,
        timeout=180,
        what="every DAG run finished",
        interval=2.0,
    )
