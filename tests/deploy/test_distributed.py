"""The production shape, run for real on this machine without Docker.

`deploy.distributed` starts the services of `docker-compose.yaml` with the compose file's own
environment and commands (only addresses and paths moved to loopback): Airflow with the
CeleryExecutor and the FAB auth manager (api-server, scheduler, DAG processor, triggerer, two
Celery workers) on the local PostgreSQL and Redis, the relay as one ingest and two dispatchers
on PostgreSQL, and the demo simulators. The test deploys the demo instance with the lifecycle
CLI, as `docker compose run --rm acme-erp deploy ...` would, then changes records in
Acme and waits for them in Progix, and checks that both Celery workers ran tasks.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from acme_erp_integration.definition import ACME_ERP
from deploy.distributed import DistributedOptions, DistributedStack
from deploy.replicas import clean_environment
from sandbox.processes import ProcessFailed
from tests.support.polling import wait_until
from tests.support.simulators import AcmeSimulator, ProgixSimulator

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_REQUEST = REPO_ROOT / "deploy" / "airflow" / "demo-instance.yaml"
INSTANCE = "demo"
# The Celery task Airflow sends to workers logs the workload (task instance) it runs.
WORKLOAD_LINE = re.compile(r"Executing workload in Celery: .*?dag_id='(?P<dag_id>[^']+)'")


@pytest.fixture(scope="module")
def stack(artifacts_dir: Path) -> Iterator[DistributedStack]:
    state_dir = artifacts_dir / f"distributed-{time.strftime('%Y%m%d-%H%M%S')}"
    running = DistributedStack(DistributedOptions(state_dir, workers=2, dispatchers=2))
    try:
        running.start()
    except ProcessFailed as exc:
        pytest.fail(f"the distributed stack did not start: {exc}")
    yield running
    running.stop()


def _simulators(stack: DistributedStack) -> tuple[AcmeSimulator, ProgixSimulator]:
    acme = AcmeSimulator(
        stack.url("sandbox-acme", 8001),
        stack.variables["DEMO_ACME_API_KEY"],
        "",
        stack.replicas_of("sandbox-acme")[0].process,
        stack.variables["DEMO_ACME_ACCOUNT"],
    )
    progix = ProgixSimulator(
        stack.url("sandbox-progix", 8002),
        stack.variables["DEMO_PROGIX_API_KEY"],
        "",
        stack.replicas_of("sandbox-progix")[0].process,
        stack.variables["DEMO_PROGIX_TENANT"],
    )
    return acme, progix


def _deploy_demo_instance(stack: DistributedStack, tmp_path: Path) -> dict:
    """`docker compose run --rm acme-erp deploy demo --config FILE`, on loopback."""
    request = stack.loopback.rewrite_urls(DEMO_REQUEST.read_text())
    request_file = tmp_path / "demo-instance.yaml"
    request_file.write_text(request)
    env = clean_environment(stack.service_environment("acme-erp"))
    result = subprocess.run(
        stack.command_line(
            "acme-erp", ["--json", "deploy", INSTANCE, "--config", str(request_file)]
        ),
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert result.returncode == 0, (
        f"deploy failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
        + stack.log_tails()
    )
    return json.loads(result.stdout)


def _dags_run_by(stack: DistributedStack) -> dict[str, set[str]]:
    """Which DAGs' task instances each Celery worker executed, read from the worker logs."""
    return {
        replica.name: {
            match["dag_id"]
            for match in WORKLOAD_LINE.finditer(replica.process.log_path.read_text())
        }
        for replica in stack.worker_replicas()
    }


def test_relay_user_can_trigger_runs_and_nothing_else(stack: DistributedStack) -> None:
    token = httpx.post(
        f"{stack.airflow_url}/auth/token",
        json={
            "username": stack.variables["RELAY_AIRFLOW_USERNAME"],
            "password": stack.variables["RELAY_AIRFLOW_PASSWORD"],
        },
        timeout=30,
    )
    assert token.status_code == 201, token.text
    headers = {"authorization": f"Bearer {token.json()['access_token']}"}
    # Role WebhookRelay (deploy/airflow/roles.json): no connections, no variables, no users.
    for path in ("/api/v2/connections", "/api/v2/variables", "/api/v2/config"):
        response = httpx.get(f"{stack.airflow_url}{path}", headers=headers, timeout=30)
        assert response.status_code == 403, (path, response.status_code)
    # What the dispatcher's flow control reads: run states, and which runs have a started task.
    for path in ("/api/v2/dags/~/dagRuns/list", "/api/v2/dags/~/dagRuns/~/taskInstances/list"):
        response = httpx.post(f"{stack.airflow_url}{path}", json={}, headers=headers, timeout=30)
        assert response.status_code == 200, (path, response.status_code, response.text)


def test_acme_changes_reach_progix_through_celery_workers(
    stack: DistributedStack, tmp_path: Path
) -> None:
    acme, progix = _simulators(stack)
    deployed = _deploy_demo_instance(stack, tmp_path)
    relay_url = stack.url("relay-ingest", 8000)
    assert deployed["outcome"] != "failed", deployed
    assert set(deployed["webhook_urls"].values()) == {
        f"{relay_url}/hooks/acme-erp/{INSTANCE}/sync-customer-data",
        f"{relay_url}/hooks/acme-erp/{INSTANCE}/sync-inventory-data",
    }
    # Initialization registered the relay's URLs in the customer's Acme ERP.
    assert {hook["url"] for hook in acme.list_webhooks()} == set(deployed["webhook_urls"].values())

    customer = acme.create_customer(name="Distributed Ada", email="ada@distributed.example")
    acme.create_item("DIST-001", warehouse="PAR-1", quantity=3)
    synced_customer = wait_until(
        lambda: progix.get("customers", customer["id"]),
        timeout=180,
        what="the customer in Progix",
        details=stack.log_tails,
    )
    assert synced_customer["name"] == "Distributed Ada"
    synced_item = wait_until(
        lambda: progix.get("inventory", "DIST-001"),
        timeout=180,
        what="the item in Progix",
        details=stack.log_tails,
    )
    assert synced_item["quantity"] == 3

    # Both Celery workers executed task instances of this instance's DAGs.
    run_by = wait_until(
        lambda: (lambda r: r if all(r.values()) else None)(_dags_run_by(stack)),
        timeout=60,
        what="task instances on both workers",
        details=stack.log_tails,
    )
    every_dag = {ACME_ERP.dag_id(INSTANCE, flow.slug) for flow in ACME_ERP.flows}
    must_have_run = {
        ACME_ERP.dag_id(INSTANCE, flow)
        for flow in ("initialization", "sync-customer-data", "sync-inventory-data")
    }
    for worker, dag_ids in run_by.items():
        assert dag_ids <= every_dag, (worker, dag_ids)  # drift repair and teardown may run too
    assert set().union(*run_by.values()) >= must_have_run
