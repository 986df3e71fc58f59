"""Route management: the registry, per-route secrets, rotation, pause/resume.

Open to the admin and the registrar token (see `auth`). A route that breaks the grammar is
a 400 naming the segment; an unknown route is a 404 and a retired one a 410. None of these
change anything.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field, model_validator

from integration_contracts.ids import InvalidId, check_segment
from webhook_relay.admin import refuse_nul
from webhook_relay.auth import require_registrar
from webhook_relay.routes import InvalidRoute, Route
from webhook_relay.store.routes_repo import RetiredRoute, RouteRepository, UnknownRoute

router = APIRouter(
    prefix="/admin",
    dependencies=[Depends(refuse_nul), Depends(require_registrar)],
    tags=["routes"],
)

ROUTE_PATH = "/routes/{integration}/{instance}/{flow}"
MAX_OVERLAP_SECONDS = 30 * 86400


def _repo(request: Request) -> RouteRepository:
    return request.app.state.routes_repo


RepoDep = Annotated[RouteRepository, Depends(_repo)]


def _parse(text: str) -> Route:
    try:
        return Route.parse(text)
    except InvalidRoute as exc:
        raise HTTPException(400, str(exc)) from None


def _path_route(integration: str, instance: str, flow: str) -> str:
    return _parse(f"{integration}/{instance}/{flow}").path


PathRoute = Annotated[str, Depends(_path_route)]


def _changed(request: Request) -> None:
    """This process sees its own change at once; others at their next version poll."""
    registry = getattr(request.app.state, "registry", None)
    if registry is not None:
        registry.invalidate()


async def _call(func: Any, *args: Any) -> Any:
    try:
        return await asyncio.to_thread(func, *args)
    except UnknownRoute as exc:
        raise HTTPException(404, f"unknown route {exc.args[0]!r}: not registered") from None
    except RetiredRoute as exc:
        raise HTTPException(410, f"route {exc.args[0]!r} is retired") from None


class RegisterRequest(BaseModel):
    routes: list[str] = Field(min_length=1, max_length=1000)


class RotateOne(BaseModel):
    overlap_seconds: int | None = Field(None, ge=0, le=MAX_OVERLAP_SECONDS)


class RotateMany(RotateOne):
    integration: str | None = None
    instance: str | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_selection(self) -> RotateMany:
        if self.all == (self.integration is not None):
            raise ValueError("give integration (and optionally instance), or all=true")
        if self.instance is not None and self.integration is None:
            raise ValueError("instance needs integration")
        return self


def _segments(**named: str | None) -> list[str]:
    """The given route segments, each checked against the grammar (400 naming it)."""
    try:
        return [check_segment(name, value) for name, value in named.items() if value is not None]
    except InvalidId as exc:
        raise HTTPException(400, str(exc)) from None


def _overlap(request: Request, given: int | None) -> int:
    return request.app.state.settings.rotation_overlap_seconds if given is None else given


@router.get("/routes")
async def list_routes(
    repo: RepoDep, integration: str | None = None, instance: str | None = None
) -> dict[str, Any]:
    if instance is not None and integration is None:
        raise HTTPException(400, "instance needs integration")
    _segments(integration=integration, instance=instance)
    rows = await asyncio.to_thread(repo.list_routes, integration=integration, instance=instance)
    return {"routes": rows}


@router.post("/routes")
async def register_many(repo: RepoDep, body: RegisterRequest, request: Request) -> dict[str, Any]:
    """Register routes (all or none): new ones get a fresh secret, active ones are left."""
    parsed = [_parse(text) for text in body.routes]  # every route checked before any write
    results = await asyncio.to_thread(repo.register, parsed, time.time())
    _changed(request)
    return {"routes": results}


@router.put(ROUTE_PATH)
async def register_one(repo: RepoDep, route: PathRoute, request: Request) -> dict[str, Any]:
    [result] = await asyncio.to_thread(repo.register, [Route.parse(route)], time.time())
    _changed(request)
    return result


@router.get(ROUTE_PATH)
async def describe(repo: RepoDep, route: PathRoute, request: Request) -> dict[str, Any]:
    """State, pause flag, held events, and where senders deliver for this route."""
    parsed = Route.parse(route)
    rows = await asyncio.to_thread(
        repo.list_routes, integration=parsed.integration, instance=parsed.instance
    )
    entry = next((r for r in rows if r["route"] == route), None)
    if entry is None:
        raise HTTPException(404, f"unknown route {route!r}: not registered")
    public_url = request.app.state.settings.public_url
    return {**entry, "webhook_url": parsed.webhook_url(public_url)}


@router.get(ROUTE_PATH + "/secret")
async def secret(repo: RepoDep, route: PathRoute, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "no-store"
    return await _call(repo.current_secret, route)


@router.post(ROUTE_PATH + "/retire")
async def retire(repo: RepoDep, route: PathRoute, request: Request) -> dict[str, Any]:
    result = await _call(repo.retire, route, time.time())
    _changed(request)
    return result


@router.post(ROUTE_PATH + "/rotate")
async def rotate_one(
    repo: RepoDep, route: PathRoute, request: Request, body: RotateOne | None = None
) -> dict[str, Any]:
    await _call(repo.current_secret, route)  # 404 / 410 before anything changes
    overlap = _overlap(request, body.overlap_seconds if body else None)
    now = time.time()
    rotated = await asyncio.to_thread(repo.rotate, [route], now, overlap)
    _changed(request)
    return {"rotated": rotated, "previous_secrets_expire_at": now + overlap}


@router.post("/rotate")
async def rotate_many(repo: RepoDep, body: RotateMany, request: Request) -> dict[str, Any]:
    """Rotate every active route of an integration or instance, or of the whole relay."""
    prefix = None
    if body.integration is not None:
        segments = _segments(integration=body.integration, instance=body.instance)
        prefix = "/".join(segments) + "/"
    overlap = _overlap(request, body.overlap_seconds)
    now = time.time()
    selected = await asyncio.to_thread(repo.active_routes, prefix)
    rotated = await asyncio.to_thread(repo.rotate, selected, now, overlap)
    _changed(request)
    return {"rotated": rotated, "previous_secrets_expire_at": now + overlap}


@router.post(ROUTE_PATH + "/pause")
async def pause(repo: RepoDep, route: PathRoute) -> dict[str, Any]:
    await _call(repo.set_paused, route, True, time.time())
    return {"route": route, "paused": True}


@router.post(ROUTE_PATH + "/resume")
async def resume(repo: RepoDep, route: PathRoute, request: Request) -> dict[str, Any]:
    await _call(repo.set_paused, route, False, time.time())
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()
    return {"route": route, "paused": False}
