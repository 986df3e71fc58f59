"""The FastAPI application shell both simulators are built on."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from sandbox.common.admin import faults_router
from sandbox.common.auth import KeyRegistry
from sandbox.common.body_limit import DEFAULT_MAX_BODY_BYTES, BodyLimitMiddleware
from sandbox.common.faults import ApiFaults, FaultMiddleware, FaultState


def build_app(
    *,
    title: str,
    description: str,
    keys: KeyRegistry,
    faults: FaultState[ApiFaults],
    faults_model: type[ApiFaults],
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
) -> FastAPI:
    """An app with auth-aware fault injection, a body cap, `/healthz` and `/_sandbox/faults`."""
    app = FastAPI(title=title, description=description, version="1.0", lifespan=lifespan)
    app.add_middleware(FaultMiddleware, state=faults, keys=keys)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.include_router(faults_router(faults, faults_model))

    @app.get("/healthz", tags=["sandbox admin"], summary="Liveness (never faulted)")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
