"""The instance API's FastAPI app, mounted by the plugin at `/integrations/api/v1`.

Its OpenAPI document is served at `openapi.json` (interactive docs at `docs`). Every answer is
JSON; every error is `{"detail": ..., "errors": [...]}` with a 4xx for bad input.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from integration_platform.lifecycle.errors import (
    AirflowApiError,
    AirflowUnavailable,
    InstanceBusy,
    InvalidRequest,
    LifecycleError,
    UnknownName,
)
from integration_platform.plugins.api import routes
from integration_platform.plugins.api.operations import OperationRunning
from integration_platform.plugins.visibility import unknown_name_message

API_PATH = "/api/v1"
DESCRIPTION = """Manage integration instances from another system (Progix's backend, a script).

Authenticate as with Airflow's REST API: `POST /auth/token` on Airflow, then
`Authorization: Bearer <token>`. Everything runs with that user's Airflow permissions:
reading needs read access to the instance's DAGs, pause/resume/test/replay need the right
to trigger DAG runs, deploy/redeploy/remove also need to manage connections.

Deploy, redeploy, remove, test, replay and bulk deploy answer `202` with an operation: poll
`GET /operations/{id}` until its `status` is `succeeded` or `failed`.
"""


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status)


async def _http_error(_request: Request, error: HTTPException) -> JSONResponse:
    response = _problem(error.status_code, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _lifecycle_error(_request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, InvalidRequest):
        fields = [{"field": e.field, "reason": e.reason} for e in error.errors]
        return _problem(400, str(error), fields)
    if isinstance(error, UnknownName):
        return _problem(404, unknown_name_message(_request, error))
    if isinstance(error, InstanceBusy | OperationRunning):
        return _problem(409, str(error))
    if isinstance(error, AirflowApiError) and error.status_code in (401, 403):
        return _problem(403, str(error))
    if isinstance(error, AirflowApiError) and error.status_code == 404:
        return _problem(404, str(error))
    if isinstance(error, AirflowUnavailable | AirflowApiError):
        return _problem(502, str(error))
    return _problem(500, str(error))


def create_api() -> FastAPI:
    api = FastAPI(
        title="Integration instances API",
        version="1",
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    api.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    api.add_exception_handler(LifecycleError, _lifecycle_error)
    api.add_exception_handler(OperationRunning, _lifecycle_error)
    api.include_router(routes.catalog)
    api.include_router(routes.instances)
    api.include_router(routes.bulk)
    api.include_router(routes.operations)
    return api
