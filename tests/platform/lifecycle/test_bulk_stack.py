"""Bulk deploy on the real stack: three instances from a directory through the CLI (with one
bad file beside them, reported and not deployed) and one through the instance API, each
ending with its DAGs in Airflow and its webhooks in Acme."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from integration_platform.lifecycle.service import InstanceService
from tests.platform.lifecycle.test_concurrent_deploys_stack import service_for
from tests.platform.lifecycle.test_lifecycle_stack import acme_cli, request_data
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

FROM_FILES = ("bulk-shop-1", "bulk-shop-2", "bulk-shop-3")
FROM_API = "bulk-api-shop"
API = "/integrations/api/v1"


@pytest.fixture(scope="module")
def service(stack: StackHandle) -> Iterator[InstanceService]:
    service = service_for(stack)
    yield service
    for instance_id in (*FROM_FILES, FROM_API):  # leave the shared stack clean
        if service.store.exists(instance_id):
            service.remove(instance_id)
    service.close()


def assert_deployed(service: InstanceService, stack: StackHandle, instance_id: str) -> None:
    for dag_id in service.dag_ids(instance_id).values():
        dag = service.airflow.get_dag(dag_id)
        assert dag is not None, dag_id
        assert not dag.is_stale
    assert len(stack.webhooks_of(instance_id)) == 2, instance_id


def test_a_directory_deploys_through_the_cli_and_a_bad_file_is_reported(
    stack: StackHandle, service: InstanceService, tmp_path: Path
) -> None:
    directory = tmp_path / "requests"
    directory.mkdir()
    for instance_id in FROM_FILES:
        (directory / f"{instance_id}.yaml").write_text(yaml.safe_dump(request_data(stack)))
    bad = {**request_data(stack), "config": {"progix_tenant": "", "warehouses": "main"}}
    (directory / "bulk-bad.yaml").write_text(yaml.safe_dump(bad))

    result = acme_cli(stack, "bulk-deploy", str(directory), "--concurrency", "3", timeout=1200)

    assert result.returncode == 2, result.stderr  # every deploy worked, one file was bad
    body = json.loads(result.stdout)
    assert body["counts"] == {"deployed": 3, "unchanged": 0, "failed": 0, "invalid": 1}
    items = {item["instance"]: item for item in body["items"]}
    assert items["bulk-bad"]["source"] == str(directory / "bulk-bad.yaml")
    assert {e["field"] for e in items["bulk-bad"]["errors"]} == {
        "config.progix_tenant",
        "config.warehouses",
    }
    assert not service.store.exists("bulk-bad")
    for instance_id in FROM_FILES:
        assert items[instance_id]["outcome"] == "deployed", items[instance_id]
        assert_deployed(service, stack, instance_id)


def test_the_instance_api_deploys_in_bulk(stack: StackHandle, service: InstanceService) -> None:
    token = stack.stack.rest("admin").token()
    with httpx.Client(
        base_url=stack.stack.airflow_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        started = client.post(
            f"{API}/bulk-deploy", json={"instances": {FROM_API: request_data(stack)}}
        )
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 900
        while (done := client.get(started.headers["location"]).json())["status"] == "running":
            assert time.monotonic() < deadline, done["steps"][-5:]
            time.sleep(2)

    assert done["status"] == "succeeded", done
    (item,) = done["result"]["items"]
    assert item["outcome"] == "deployed"
    assert set(item["webhook_urls"]) == {"sync-customer-data", "sync-inventory-data"}
    assert_deployed(service, stack, FROM_API)
