"""A second integration through the same platform and relay: deploy, webhook, run, remove.

`audit-log` (tests/support/audit_log_integration) is registered only through the
`integration_platform.integrations` entry point; nothing in the platform, the relay or the CLI
names it. The generic `integrations` console script deploys it, its deploy flow registers a
webhook in the Acme simulator, Acme signs a delivery to the relay, the relay triggers the
webhook flow's DAG, the UI lists the instance, and `remove` tears everything down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from audit_log_integration.definition import AUDIT_LOG, LOG_CHANGES
from tests.support.polling import wait_until
from tests.support.stack import ACME_ACCOUNTS, StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CLI = str(Path(sys.executable).parent / "integrations")
INSTANCE = "audit-one"
KEY_ENV = "AUDIT_ONE_ACME_KEY"


def _cli(stack: StackHandle, *args: str) -> tuple[int, Any, str]:
    account = ACME_ACCOUNTS[1]
    env = {**stack.stack.client_environment(), KEY_ENV: stack.stack.acme_keys[account]}
    done = subprocess.run(
        [CLI, "--integration", AUDIT_LOG.slug, "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    document = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, document, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"


def _our_webhooks(stack: StackHandle) -> dict[str, tuple[str, ...]]:
    hooks = stack.acme_for(ACME_ACCOUNTS[1]).list_webhooks()
    return {
        h["url"]: tuple(sorted(h["events"]))
        for h in hooks
        if f"/hooks/{AUDIT_LOG.slug}/" in h["url"]
    }


def _logged_ids(stack: StackHandle, dag_id: str) -> list[str]:
    """Object ids returned by every successful relay-triggered run of the webhook flow."""
    rest = stack.stack.rest()
    ids: list[str] = []
    for run in rest.list_dag_runs(dag_id, states=["success"]):
        if run.run_id.startswith("relay__"):
            value = rest.xcom_return_value(dag_id, run.run_id, "log_changes") or {}
            ids.extend(value.get("object_ids", []))
    return ids


def test_a_second_integration_goes_from_deploy_to_remove(
    stack: StackHandle, tmp_path: Path
) -> None:
    request = tmp_path / "audit-one.yaml"
    request.write_text(
        yaml.safe_dump(
            {
                "customer": "Audit One",
                "connections": {
                    "source_connection": {"host": stack.stack.acme_url, "password_env": KEY_ENV}
                },
            }
        )
    )
    code, deployed, output = _cli(stack, "deploy", INSTANCE, "--config", str(request))
    assert code == 0, output
    urls = AUDIT_LOG.webhook_urls(stack.stack.relay_url, INSTANCE)
    assert deployed["outcome"] == "deployed"
    assert deployed["webhook_urls"] == urls
    assert _our_webhooks(stack) == {urls[LOG_CHANGES]: ("customer.created", "customer.updated")}
    assert stack.stack.acme_keys[ACME_ACCOUNTS[1]] not in output

    # The UI serves the second integration with the same pages.
    token = stack.stack.rest("admin").token()
    page = httpx.get(
        f"{stack.stack.airflow_url}/integrations/",
        params={"integration": AUDIT_LOG.slug},
        headers={"Authorization": f"Bearer {token}", "Accept": "text/html"},
        timeout=60,
    )
    assert page.status_code == 200
    assert f'/integrations/instances/{INSTANCE}"' in page.text
    assert AUDIT_LOG.name in page.text

    # Acme signs a delivery to the relay, which triggers the webhook flow's DAG.
    customer = stack.acme_for(ACME_ACCOUNTS[1]).create_customer(name="Audited customer")
    dag_id = AUDIT_LOG.dag_id(INSTANCE, LOG_CHANGES)
    wait_until(
        lambda: customer["id"] in _logged_ids(stack, dag_id) or None,
        timeout=180,
        interval=2.0,
        what="a relay-triggered audit-log run that logged the new customer",
    )

    code, removed, output = _cli(stack, "remove", INSTANCE)
    assert code == 0, output
    assert removed["removed"] is True
    assert set(removed["deleted_connections"]) == {f"audit_acme__{INSTANCE}"}
    assert _our_webhooks(stack) == {}
    assert not (stack.stack.instances_dir / f"{INSTANCE}.yaml").exists()
