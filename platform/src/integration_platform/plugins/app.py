"""The Integrations FastAPI app that the plugin mounts on Airflow's API server.

Every route depends on Airflow's authentication (see `auth`); errors become pages for
browsers and JSON for scripts; unauthenticated browsers are sent to Airflow's login page.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from integration_platform.lifecycle.errors import (
    AirflowApiError,
    AirflowUnavailable,
    InstanceBusy,
    InvalidRequest,
    LifecycleError,
    UnknownName,
)
from integration_platform.plugins.airflow_access import AirflowUrlMissing, configured_airflow_url
from integration_platform.plugins.api.app import API_PATH, create_api
from integration_platform.plugins.rendering import render
from integration_platform.plugins.routes import actions, flow_tests, pages, replay, wizard
from integration_platform.plugins.visibility import unknown_name_message

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _login_url(request: Request) -> str:
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().get_url_login(next_url=str(request.url))


def _error(request: Request, status_code: int, title: str, message: str) -> Response:
    if _wants_html(request):
        return render(request, "error.html", status_code=status_code, title=title, message=message)
    return JSONResponse({"detail": message}, status_code=status_code)


async def _http_error(request: Request, error: HTTPException) -> Response:
    if error.status_code == 401 and request.method == "GET" and _wants_html(request):
        return RedirectResponse(_login_url(request), status_code=303)
    titles = {401: "Not logged in", 403: "Not allowed", 404: "Not found", 409: "Busy"}
    title = titles.get(error.status_code, "Error")
    response = _error(request, error.status_code, title, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _lifecycle_error(request: Request, error: Exception) -> Response:
    if isinstance(error, UnknownName):
        return _error(request, 404, "Not found", unknown_name_message(request, error))
    if isinstance(error, InvalidRequest):
        return _error(request, 400, "Invalid request", str(error))
    if isinstance(error, InstanceBusy):
        return _error(request, 409, "Busy", str(error))
    if isinstance(error, AirflowApiError) and error.status_code in (401, 403):
        return _error(request, 403, "Airflow refused", str(error))
    if isinstance(error, AirflowUnavailable | AirflowApiError):
        return _error(request, 502, "Airflow unavailable", str(error))
    return _error(request, 500, "Error", str(error))


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _cookie_authenticated(request: Request) -> bool:
    """A browser's session cookie, not an explicit bearer token: the kind a forged form carries."""
    has_bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    return COOKIE_NAME_JWT_TOKEN in request.cookies and not has_bearer


def cross_site_refusal(request: Request) -> str | None:
    """Why a state-changing request looks forged, or None.

    A foreign `Origin` is always refused. Without one, a cookie-authenticated request must
    say `Sec-Fetch-Site: same-origin` (every current browser sends one of the two); API
    calls with a bearer token need neither, since no other site can make a browser add it.
    """
    if request.method not in UNSAFE_METHODS:
        return None
    origin = request.headers.get("origin")
    if origin is not None:
        if origin != "null" and urlsplit(origin).netloc == request.headers.get("host"):
            return None
        return "cross-site form submissions are refused"
    if not _cookie_authenticated(request):
        return None
    if request.headers.get("sec-fetch-site") == "same-origin":
        return None
    return (
        "cross-site form submissions are refused: a request authenticated by the session "
        "cookie needs a same-origin Origin or Sec-Fetch-Site header"
    )


async def _reject_cross_site_writes(request: Request, call_next):  # type: ignore[no-untyped-def]
    if (reason := cross_site_refusal(request)) is not None:
        return _error(request, 403, "Not allowed", reason)
    return await call_next(request)


def _check_airflow_url() -> None:
    """Say at start, once, when the REST API's address is not configured (routes answer 503)."""
    try:
        configured_airflow_url()
    except AirflowUrlMissing as error:
        log.error("%s", error)


def create_app() -> FastAPI:
    app = FastAPI(
        title="Integrations",
        description="Integration instances: status, webhook URLs, executions, config wizard.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.middleware("http")(_reject_cross_site_writes)
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(LifecycleError, _lifecycle_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(wizard.router)
    app.include_router(actions.router)
    app.include_router(replay.router)
    app.include_router(flow_tests.router)
    app.state.api = create_api()  # its own app: its own OpenAPI document and error format
    app.mount(API_PATH, app.state.api)
    _check_airflow_url()
    return app
