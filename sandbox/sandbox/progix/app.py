"""The Progix simulator's HTTP API (FastAPI; OpenAPI at `/docs`)."""

# No `from __future__ import annotations`: FastAPI must see the route-local Annotated types.

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, status

from sandbox.common.admin import reset_router
from sandbox.common.app import build_app
from sandbox.common.auth import KeyRegistry, principal_dependency
from sandbox.common.body_limit import DEFAULT_MAX_BODY_BYTES
from sandbox.common.db import Database
from sandbox.common.faults import ApiFaults, FaultState
from sandbox.common.paging import ListParams, simple_params
from sandbox.progix.models import ProgixBase
from sandbox.progix.schemas import (
    MAX_BATCH,
    BatchResult,
    BatchUpsert,
    CustomerUpsert,
    InventoryUpsert,
    RecordPage,
    Upsert,
)
from sandbox.progix.store import ProgixStore, record_view

DESCRIPTION = f"""
A local, real HTTP simulator of the Progix API (the destination of the Acme ERP integration).

* Authenticate with `Authorization: Bearer <API key>`; the key selects the tenant, and every
  tenant's data is separate.
* `POST /v1/<collection>:batchUpsert` takes `{{"items": [...]}}` (1 to {MAX_BATCH} items, each
  `external_id` at most once) and answers one result per item, in order. A record is replaced
  only by a strictly newer `version`; an equal or older one is reported `stale` and changes
  nothing. A batch is one transaction: an invalid item rejects the whole batch with 422.
* `GET /v1/me` answers `{{"tenant": ...}}`: the tenant of the calling key.
* Lists answer `{{"data": [...], "next_cursor": str|null, "total": int}}` in creation order.
* `/_sandbox/*` endpoints (unauthenticated, for local use only) control fault injection.
"""

COLLECTIONS: dict[str, type[Upsert]] = {"customers": CustomerUpsert, "inventory": InventoryUpsert}


def collection_router(store: ProgixStore, keys: KeyRegistry, name: str) -> APIRouter:
    """Batch upsert, list and get for one collection."""
    router = APIRouter(prefix=f"/v1/{name}", tags=[name])
    Tenant = Annotated[str, Depends(principal_dependency(keys))]
    Simple = Annotated[ListParams, Depends(simple_params)]
    Batch = BatchUpsert[COLLECTIONS[name]]  # type: ignore[index]

    @router.post(":batchUpsert", response_model=BatchResult, summary=f"Upsert {name}")
    def batch_upsert(tenant: Tenant, body: Batch) -> BatchResult:  # type: ignore[valid-type]
        return BatchResult(results=store.batch_upsert(tenant, name, body.items))  # type: ignore[attr-defined]

    @router.get("", response_model=RecordPage, summary=f"List {name}")
    def list_records(tenant: Tenant, params: Simple) -> RecordPage:
        rows, cursor, total = store.list(tenant, name, params)
        return RecordPage(data=[record_view(r) for r in rows], next_cursor=cursor, total=total)

    @router.get("/{external_id}", summary=f"Get one of {name}")
    def get_record(tenant: Tenant, external_id: str) -> dict[str, Any]:
        record = store.get(tenant, name, external_id)
        if record is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"{name} record {external_id!r} not found"
            )
        return record_view(record)

    return router


def me_router(keys: KeyRegistry) -> APIRouter:
    """`GET /v1/me`: which tenant the API key belongs to (as real SaaS APIs' "whoami")."""
    router = APIRouter(prefix="/v1", tags=["account"])
    Tenant = Annotated[str, Depends(principal_dependency(keys))]

    @router.get("/me", summary="The tenant of the calling API key")
    def me(tenant: Tenant) -> dict[str, str]:
        return {"tenant": tenant}

    return router


def create_app(
    *,
    db_path: Path,
    keys: KeyRegistry,
    faults: ApiFaults,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    db = Database(db_path, ProgixBase)
    fault_state: FaultState[ApiFaults] = FaultState(faults)
    store = ProgixStore(db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            db.close()

    app = build_app(
        title="Progix API (sandbox)",
        description=DESCRIPTION,
        keys=keys,
        faults=fault_state,
        faults_model=ApiFaults,
        max_body_bytes=max_body_bytes,
        lifespan=lifespan,
    )
    for name in COLLECTIONS:
        app.include_router(collection_router(store, keys, name))
    app.include_router(me_router(keys))
    app.include_router(reset_router(store.reset, fault_state))
    return app
