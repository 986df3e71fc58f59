"""The per-instance pool on the real stack: deploy creates it with the configured slots, the
instance's tasks run in it, and removal deletes it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from integration_platform.integrations.limits import pool_name
from integration_platform.lifecycle.request import DeployRequest
from tests.platform.lifecycle.test_lifecycle_stack import request_data
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

INSTANCE = "lm-shop"


def test_an_instance_pool_is_created_used_and_removed(stack: StackHandle) -> None:
    data = request_data(stack)
    data["config"].update(pool_slots=2, fifo__sync_customer_data=True)
    service = stack.acme_erp_service(run_timeout=900)
    try:
        result = service.deploy(INSTANCE, DeployRequest.from_mapping(data, source="test"))
        assert result.ok, result.instance.status.reason
        pool = service.airflow.get(f"/api/v2/pools/{pool_name(INSTANCE)}")
        assert pool["slots"] == 2
        init = service.dag_ids(INSTANCE)["initialization"]
        [run] = service.airflow.list_dag_runs(init, limit=1)
        tis = service.airflow.get(
            f"/api/v2/dags/{init}/dagRuns/{quote(run.run_id, safe='')}/taskInstances"
        )
        assert {ti["pool"] for ti in tis["task_instances"]} == {pool_name(INSTANCE)}
        sync = service.airflow.get(
            f"/api/v2/dags/{service.dag_ids(INSTANCE)['sync-customer-data']}/details"
        )
        assert sync["max_active_runs"] == 1
    finally:
        if service.store.exists(INSTANCE):
            assert service.remove(INSTANCE).removed
    missing = service.airflow.request(
        "GET", f"/api/v2/pools/{pool_name(INSTANCE)}", expected=(404,)
    )
    assert missing.status_code == 404
    service.close()
