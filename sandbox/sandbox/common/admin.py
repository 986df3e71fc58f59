"""`GET|PUT /_sandbox/faults`: the run-time switchboard of the fault knobs.

No `from __future__ import annotations` here: FastAPI must see the real body model of the
route, which is only known when the router is built.
"""

from fastapi import APIRouter

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
