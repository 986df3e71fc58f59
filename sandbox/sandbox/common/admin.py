"""`GET|PUT /_sandbox/faults`: the run-time switchboard of the fault knobs, and
`POST /_sandbox/reset`, which every simulator answers the same way.

No `from __future__ import annotations` here: FastAPI must see the real body model of the
route, which is only known when the router is built.
"""

from collections.abc import Callable

from fastapi import APIRouter, Response

from sandbox.common.faults import FaultsT, FaultState


def faults_router(state: FaultState[FaultsT], model: type[FaultsT]) -> APIRouter:
    """`GET|PUT /_sandbox/faults`: read or replace the settings (omitted fields = off)."""
    router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    @router.get("/faults", response_model=model)
    def get_faults() -> FaultsT:
        return state.settings

    @router.put("/faults", response_model=model)
    def put_faults(settings: model) -> FaultsT:  # type: ignore[valid-type]
        state.replace(settings)
        return settings

    return router


def reset_router(delete_all: Callable[[], None], faults: FaultState[FaultsT]) -> APIRouter:
    """`POST /_sandbox/reset`: delete every record (`delete_all`), restore start-up faults."""
    router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    @router.post("/reset", status_code=204, summary="Delete all data, restore start-up faults")
    def reset() -> Response:
        delete_all()
        faults.reset()
        return Response(status_code=204)

    return router
