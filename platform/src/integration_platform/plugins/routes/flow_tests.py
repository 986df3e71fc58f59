"""The result of one test run: its tasks and what they counted, read back from Airflow.

Test runs started from the instance page end here (the job's last step links to this
page), so the person who pressed "Run test" sees fetched, created, updated, stale, missing
and quarantined without opening the task's XCom in Airflow.
"""

from __future__ import annotations

import json
from contextlib import closing

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from integration_platform.plugins.auth import CallerDep
from integration_platform.plugins.deps import ServiceFactoryDep
from integration_platform.plugins.rendering import render
from integration_platform.plugins.urls import mount_base
from integration_platform.plugins.visibility import VisibleInstance

router = APIRouter(dependencies=[VisibleInstance])


def result_path(base: str, instance_id: str, flow_slug: str, run_id: str) -> str:
    return f"{base}/instances/{instance_id}/tests/{flow_slug}/{run_id}"


@router.get("/instances/{instance_id}/tests/{flow_slug}/{run_id}", response_class=HTMLResponse)
def flow_test_result(
    instance_id: str,
    flow_slug: str,
    run_id: str,
    request: Request,
    caller: CallerDep,
    services: ServiceFactoryDep,
) -> HTMLResponse:
    with closing(services()) as service:
        result = service.flow_test_result(instance_id, flow_slug, run_id)
        flow = service.flow(flow_slug)
    return render(
        request,
        "test_result.html",
        flow=flow,
        instance_id=instance_id,
        result=result,
        payload=json.dumps(dict(result.conf), indent=2, default=str),
        crumbs=[
            (instance_id, f"{mount_base(request)}/instances/{instance_id}"),
            (f"Test of {flow.name}", None),
        ],
    )
