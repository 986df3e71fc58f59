"""What each API operation does: one lifecycle service call, and the result document it leaves."""

from __future__ import annotations

from contextlib import closing
from dataclasses import asdict
from typing import Any

from fastapi.encoders import jsonable_encoder

from integration_platform.lifecycle.bulk import BulkRequest, deploy_many
from integration_platform.lifecycle.request import DeployRequest
from integration_platform.lifecycle.service import Progress, RunOutcome
from integration_platform.plugins.api.operations import Result, Work
from integration_platform.plugins.deps import ServiceFactory


def _run(run: RunOutcome | None) -> dict[str, Any] | None:
    return jsonable_encoder(asdict(run)) if run is not None else None


def deploy(
    services: ServiceFactory, instance_id: str, request: DeployRequest, *, force: bool = False
) -> Work:
    """`force`: run Initialization even if nothing changed (what a redeploy asks for)."""

    def work(progress: Progress) -> Result:
        with closing(services()) as service:
            result = service.deploy(instance_id, request, progress=progress, force=force)
        document = {
            "outcome": result.outcome,
            "generation": result.instance.generation,
            "state": str(result.instance.state),
            "webhook_urls": dict(result.webhook_urls),
            "run": _run(result.run),
        }
        return result.ok, result.message or result.outcome, document

    return work


def remove(services: ServiceFactory, instance_id: str) -> Work:
    def work(progress: Progress) -> Result:
        with closing(services()) as service:
            result = service.remove(instance_id, progress=progress)
        document = {
            "removed": result.removed,
            "reason": result.reason,
            "log_url": result.log_url,
            "deleted_connections": list(result.deleted_connections),
            "run": _run(result.run),
        }
        message = f"{instance_id} removed" if result.removed else result.reason or "not removed"
        return result.removed, message, document

    return work


def flow_test(
    services: ServiceFactory, instance_id: str, flow: str, payload: dict[str, Any] | None
) -> Work:
    def work(progress: Progress) -> Result:
        with closing(services()) as service:
            result = service.test_flow(
                instance_id, flow, payload=payload, payload_source="payload", progress=progress
            )
        message = f"Test run {result.run.run_id} of {flow}: {result.run.state}"
        return result.run.succeeded, message, {"run": _run(result.run)}

    return work


def replay(services: ServiceFactory, instance_id: str, **options: Any) -> Work:
    """`options` are `InstanceService.replay`'s filters and mode (the API's `ReplayBody`)."""

    def work(progress: Progress) -> Result:
        with closing(services()) as service:
            report = service.replay(instance_id, progress=progress, **options)
        verb = "would re-run" if report.dry_run else "re-running"
        return (
            True,
            f"{verb} {len(report.items)} run(s)",
            {"runs": jsonable_encoder(report.items), "new_runs": jsonable_encoder(report.new_runs)},
        )

    return work


def bulk_deploy(
    services: ServiceFactory,
    requests: list[BulkRequest],
    *,
    concurrency: int,
    force: bool = False,
) -> Work:
    """Deploy many instances, `concurrency` at a time; succeeded only if every one did. The
    result lists each instance's outcome (invalid ones with their fields) and the counts."""

    def work(progress: Progress) -> Result:
        report = deploy_many(
            services,
            requests,
            concurrency=concurrency,
            force=force,
            progress=lambda instance, line: progress(f"{instance}: {line}"),
            done=lambda item: progress(f"{item.instance}: {item.outcome}"),
        )
        counts = report.counts
        items = [
            {
                "instance": item.instance,
                "outcome": item.outcome,
                "message": item.message,
                "errors": [{"field": e.field, "reason": e.reason} for e in item.errors],
                "generation": item.generation,
                "webhook_urls": dict(item.webhook_urls),
            }
            for item in report.items
        ]
        message = ", ".join(f"{n} {outcome}" for outcome, n in counts.items())
        return report.ok, message, {"counts": counts, "items": items}

    return work
