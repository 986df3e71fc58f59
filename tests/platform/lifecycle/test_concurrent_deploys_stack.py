"""Deploys of different instances at the same time never fail because of each other.

Two instances in one DAG-file shard ask Airflow to re-parse the same file; the second request
finds the first still queued and Airflow answers 409 "Unique constraint violation". That
answer means the re-parse wanted is already coming, so each deploy goes on. Shown on the
real stack: the 409 itself, then two deploys (and two removals) running at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import httpx
import pytest

from acme_erp_integration.dags import FACTORY
from acme_erp_integration.definition import INITIALIZATION
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService
from tests.platform.lifecycle.test_lifecycle_stack import request_data
from tests.support.stack import StackHandle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def same_shard_ids(n: int) -> list[str]:
    """The first `n` ids `cc-shop-<k>` that the factory puts in one shard."""
    by_shard: dict[int, list[str]] = {}
    for k in count(1):
        instance_id = f"cc-shop-{k}"
        ids = by_shard.setdefault(FACTORY.shard_of(instance_id), [])
        ids.append(instance_id)
        if len(ids) == n:
            return ids
    raise AssertionError("unreachable")


SEED, FIRST, SECOND = same_shard_ids(3)


class ReparseRecorder(httpx.HTTPTransport):
    """A real transport that notes the status of every `parseDagFile` answer."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "/parseDagFile/" in request.url.path:
            self.statuses.append(response.status_code)
        return response


def service_for(stack: StackHandle, recorder: ReparseRecorder | None = None) -> InstanceService:
    settings = stack.lifecycle_settings(run_timeout=300)
    client = AirflowClient(
        settings.airflow_url,
        settings.airflow_username,
        settings.airflow_password,
        transport=recorder,
    )
    return InstanceService(settings, integration="acme-erp", client=client)


def deploy(service: InstanceService, stack: StackHandle, instance_id: str) -> str:
    request = DeployRequest.from_mapping(request_data(stack), source=f"{instance_id}.yaml")
    return service.deploy(instance_id, request).outcome


@pytest.fixture(scope="module")
def seeded(stack: StackHandle) -> Iterator[InstanceService]:
    """SEED deployed, so the shard file has DAGs (a file token) for deploys to re-parse."""
    service = service_for(stack)
    assert deploy(service, stack, SEED) == "deployed"
    yield service
    for instance_id in (SEED, FIRST, SECOND):  # leave the shared stack clean
        if service.store.exists(instance_id):
            service.remove(instance_id)
    service.close()


def test_a_reparse_already_queued_answers_409_and_counts_as_requested(
    stack: StackHandle, seeded: InstanceService
) -> None:
    dag = seeded.airflow.get_dag(seeded.dag_ids(SEED)[INITIALIZATION])
    assert dag is not None
    assert dag.file_token
    recorder = ReparseRecorder()
    with AirflowClient(
        stack.stack.airflow_url, "admin", stack.stack.airflow_password("admin"), transport=recorder
    ) as client:
        for _ in range(5):  # the DAG processor may take the first request in between: again
            client.request_reparse(dag.file_token)
            client.request_reparse(dag.file_token)
            if 409 in recorder.statuses:
                break

    assert 409 in recorder.statuses
    assert set(recorder.statuses) <= {201, 409}


def test_two_instances_of_one_shard_deploy_and_remove_at_once(
    stack: StackHandle, seeded: InstanceService
) -> None:
    recorders = [ReparseRecorder(), ReparseRecorder()]
    services = [service_for(stack, recorder) for recorder in recorders]
    ids = (FIRST, SECOND)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(lambda s, i: deploy(s, stack, i), services, ids))

        assert outcomes == ["deployed", "deployed"]
        for instance_id in ids:
            for dag_id in seeded.dag_ids(instance_id).values():
                dag = seeded.airflow.get_dag(dag_id)
                assert dag is not None
                assert not dag.is_stale
            assert len(stack.webhooks_of(instance_id)) == 2

        with ThreadPoolExecutor(max_workers=2) as pool:
            removed = list(pool.map(lambda s, i: s.remove(i).removed, services, ids))

        assert removed == [True, True]
        for instance_id in ids:
            assert stack.webhooks_of(instance_id) == {}
            assert not seeded.store.exists(instance_id)
    finally:
        for service in services:
            service.close()
    statuses = [status for recorder in recorders for status in recorder.statuses]
    assert statuses, "the deploys re-parsed the shard file"
    assert set(statuses) <= {201, 404, 409}
