"""What each background job does: exactly one lifecycle service call, and where to go next.

The UI never re-implements a lifecycle step; it calls the same `InstanceService` methods as
the `integrations` CLI, passing the job's progress callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from typing import Any

from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import InstanceService, Progress
from integration_platform.plugins.deps import ServiceFactory
from integration_platform.plugins.jobs import Outcome, Work


def redeploy_request(service: InstanceService, instance_id: str) -> DeployRequest:
    """The instance's current config again: connection hosts from Airflow, secrets kept."""
    instance = service.get_instance(instance_id)
    connections = {}
    for variable in service.integration.connection_variables:
        assert variable.connection is not None
        stored = service.airflow.get_connection(instance.connections.get(variable.key, "")) or {}
        connections[variable.key] = {
            spec.name: str(stored.get(spec.name) or "")
            for spec in variable.connection.fields
            if not spec.secret
        }
    data = {"customer": instance.customer, "config": instance.config, "connections": connections}
    return DeployRequest.from_mapping(data, source="Redeploy")


DEPLOY_NOTICES = {"deployed": "deployed", "unchanged": "unchanged", "failed": "deploy-failed"}


def deploy(
    services: ServiceFactory,
    instance_id: str,
    request: DeployRequest,
    detail_url: str,
    *,
    force: bool = False,
) -> Work:
    def work(progress: Progress) -> Outcome:
        with closing(services()) as service:
            result = service.deploy(instance_id, request, progress=progress, force=force)
        return result.ok, result.message, f"{detail_url}?notice={DEPLOY_NOTICES[result.outcome]}"

    return work


def rotate(services: ServiceFactory, instance_id: str, detail_url: str) -> Work:
    def work(progress: Progress) -> Outcome:
        with closing(services()) as service:
            result = service.rotate(instance_id, progress=progress)
        notice = "rotated" if result.ok else DEPLOY_NOTICES[result.outcome]
        return result.ok, result.message, f"{detail_url}?notice={notice}"

    return work


def remove(services: ServiceFactory, instance_id: str, list_url: str, detail_url: str) -> Work:
    def work(progress: Progress) -> Outcome:
        with closing(services()) as service:
            result = service.remove(instance_id, progress=progress)
        if result.removed:
            return True, f"{instance_id} removed", f"{list_url}?notice=removed"
        return False, result.reason or "Teardown failed", f"{detail_url}?notice=remove-failed"

    return work


def flow_test(
    services: ServiceFactory,
    instance_id: str,
    flow_slug: str,
    payload: Mapping[str, Any] | None,
    payload_source: str,
    detail_url: str,
) -> Work:
    def work(progress: Progress) -> Outcome:
        with closing(services()) as service:
            result = service.test_flow(
                instance_id,
                flow_slug,
                payload=payload,
                payload_source=payload_source,
                progress=progress,
            )
        ok = result.run.succeeded
        counted = "; ".join(
            f"{task}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
            for task, counts in result.counts.items()
        )
        message = f"Test run {result.run.run_id} of {flow_slug}: {result.run.state}" + (
            f" ({counted})" if counted else ""
        )
        return ok, message, f"{detail_url}/tests/{flow_slug}/{result.run.run_id}"

    return work
