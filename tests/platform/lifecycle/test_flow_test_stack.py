"""`test-flow` on the real stack: a webhook flow tested without a payload syncs the customer's
most recently changed records, and the CLI and the UI show what the run counted.

The instance is deployed with a page size of 1 record per Acme request, so the run's
`batches` count also proves that a NUMBER setting reaches the flow at run time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from integration_platform.lifecycle.service import InstanceService
from tests.support.stack import ACME_ACCOUNTS, PROGIX_TENANTS, StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

INSTANCE = "ft-shop"
FLOW = "sync-customer-data"
ACCOUNT, TENANT = ACME_ACCOUNTS[1], PROGIX_TENANTS[1]


def acme_cli(stack: StackHandle, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "acme-erp"), *args],
        env=stack.stack.client_environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def deployed(stack: StackHandle, tmp_path_factory) -> Iterator[InstanceService]:
    request = stack.acme_erp_request(
        "Flow Test Shop",
        account=ACCOUNT,
        tenant=TENANT,
        sync_page_size=1,
        invalid_records="skip",
    )
    path = tmp_path_factory.mktemp("flow-test") / f"{INSTANCE}.yaml"
    path.write_text(yaml.safe_dump(request))
    result = acme_cli(stack, "deploy", INSTANCE, "--config", str(path))
    assert result.returncode == 0, result.stderr + result.stdout
    service = stack.acme_erp_service(run_timeout=600, with_relay=True)
    yield service
    if service.store.exists(INSTANCE):
        service.remove(INSTANCE)
    service.close()


def test_test_flow_syncs_the_latest_real_records_and_prints_the_counts(
    stack: StackHandle, deployed: InstanceService
) -> None:
    assert deployed.get_instance(INSTANCE).config["sync_page_size"] == 1
    acme = stack.acme_for(ACCOUNT)
    newest = [acme.create_customer(name=f"Recent {n}")["id"] for n in range(2)]

    result = acme_cli(stack, "test-flow", INSTANCE, FLOW)

    assert result.returncode == 0, result.stderr + result.stdout
    line = re.search(r"^sync_customers: (.*)$", result.stdout, re.M)
    assert line, result.stdout
    counts = {name: int(n) for name, n in re.findall(r"(\w+) (\d+)", line.group(1))}
    assert list(counts)[:6] == ["fetched", "created", "updated", "stale", "missing", "quarantined"]
    assert counts["fetched"] >= 2
    assert counts["missing"] == 0
    assert counts["created"] + counts["updated"] + counts["stale"] == counts["fetched"]
    assert counts["batches"] == counts["fetched"]  # sync_page_size 1: one record per request
    assert "most recently changed" in result.stdout
    progix = stack.progix_for(TENANT)
    assert all(progix.get("customers", customer) is not None for customer in newest)

    run_id = re.search(r"run (test__\S+)", result.stdout).group(1)
    run = deployed.airflow.get_dag_run(deployed.integration.dag_id(INSTANCE, FLOW), run_id)
    assert run.conf == {"events": [], "sample_recent": 3}  # the ids were chosen in the worker

    # The UI's page for the same run shows the same counts.
    with stack.airflow_http("admin") as airflow:
        page = airflow.get(
            f"/integrations/instances/{INSTANCE}/tests/{FLOW}/{run_id}",
            headers={"Accept": "text/html"},
        )
    assert page.status_code == 200, page.text[:500]
    table = page.text.split('class="counts"')[1].split("</table>")[0]
    assert re.findall(r"<th>(\w+)</th>", table)[:6] == list(counts)[:6]
    assert [int(n) for n in re.findall(r"<td>(\d+)</td>", table)][:6] == list(counts.values())[:6]


def test_a_given_payload_is_used_instead_of_samples(
    stack: StackHandle, deployed: InstanceService, tmp_path: Path
) -> None:
    payload = tmp_path / "payload.yaml"
    event = {"id": "evt_ft", "type": "customer.updated", "object_id": "cus_gone_forever"}
    payload.write_text(yaml.safe_dump({"events": [{**event, "occurred_at": "2026-12-01T00:00Z"}]}))

    result = acme_cli(stack, "test-flow", INSTANCE, FLOW, "--payload", str(payload))

    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(r"sync_customers: fetched 0, .*missing 1", result.stdout), result.stdout
