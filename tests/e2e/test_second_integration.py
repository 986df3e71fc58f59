"""A second integration through the same platform and relay: deploy, webhook, run, remove.

`audit-log` (tests/support/audit_log_integration) is registered only through the
`integration_platform.integrations` entry point; nothing in the platform, the relay or the CLI
names it. The generic `integrations` console script deploys it, its deploy flow registers a
webhook in the Acme simulator, Acme signs a delivery to the relay, the relay triggers the
webhook flow's DAG, the UI lists the instance, and `remove` tears everything down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from audit_log_integration.definition import AUDIT_LOG, ID_HASH_KEY, LOG_CHANGES
from tests.support.polling import wait_until
from tests.support.stack import ACME_ACCOUNTS, StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

CLI = str(Path(sys.executable).parent / "integrations")
INSTANCE = "audit-one"
KEY_ENV = "AUDIT_ONE_ACME_KEY"
HASH_KEY = "audit-one-hmac-key-7c1e0f"  # the SECRET config variable, given in a file


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


def _task_log(stack: StackHandle, dag_id: str, run_id: str, task_id: str) -> str:
    """The task's whole log through the REST API, as a support engineer would read it."""
    rest = stack.stack.rest()
    response = httpx.get(
        f"{stack.stack.airflow_url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/"
        f"{task_id}/logs/1",
        params={"full_content": "true"},
        headers={"Authorization": f"Bearer {rest.token()}", "Accept": "application/json"},
        timeout=60,
    )
    response.raise_for_status()
    return response.text


def _check_secret_used_and_kept_secret(stack: StackHandle, tmp_path: Path, customer: str) -> None:
    """A test run with the customer's id: the flow hashed it with the secret key, and the
    key is in no instance file, DAG run conf, XCom or task log."""
    payload = tmp_path / "payload.json"
    event = {"id": "evt_t1", "type": "customer.updated", "object_id": customer}
    payload.write_text(json.dumps({"events": [{**event, "occurred_at": "2026-01-01T00:00:00Z"}]}))
    code, tested, output = _cli(
        stack, "test-flow", INSTANCE, LOG_CHANGES, "--payload", str(payload)
    )
    assert code == 0, output
    dag_id, run_id = tested["run"]["dag_id"], tested["run"]["run_id"]
    rest = stack.stack.rest()
    result = rest.xcom_return_value(dag_id, run_id, "log_changes")
    expected = hmac.new(HASH_KEY.encode(), customer.encode(), hashlib.sha256).hexdigest()[:32]
    assert result["object_refs"] == [expected]  # the flow read the secret and used it

    log = _task_log(stack, dag_id, run_id, "log_changes")
    assert f"changed objects: {expected} (key ***)" in log  # logged, and masked by Airflow
    assert HASH_KEY not in log
    assert HASH_KEY not in json.dumps(result)
    assert HASH_KEY not in json.dumps(rest.get_dag_run(dag_id, run_id).conf)
    assert HASH_KEY not in (stack.stack.instances_dir / f"{INSTANCE}.yaml").read_text()
    assert HASH_KEY not in output


def test_a_second_integration_goes_from_deploy_to_remove(
    stack: StackHandle, tmp_path: Path
) -> None:
    key_file = tmp_path / "hash.key"
    key_file.write_text(HASH_KEY + "\n")
    request = tmp_path / "audit-one.yaml"
    request.write_text(
        yaml.safe_dump(
            {
                "customer": "Audit One",
                "config": {f"{ID_HASH_KEY}_file": str(key_file)},
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
    _check_secret_used_and_kept_secret(stack, tmp_path, customer["id"])

    code, removed, output = _cli(stack, "remove", INSTANCE)
    assert code == 0, output
    assert removed["removed"] is True
    assert set(removed["deleted_connections"]) == {
        f"audit_acme__{INSTANCE}",
        f"audit_log_id_hash_key__{INSTANCE}",
    }
    assert _our_webhooks(stack) == {}
    assert not (stack.stack.instances_dir / f"{INSTANCE}.yaml").exists()
