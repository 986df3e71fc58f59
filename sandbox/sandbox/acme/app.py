"""The Acme ERP simulator's HTTP API (FastAPI; OpenAPI at `/docs`)."""

# No `from __future__ import annotations`: FastAPI must see the route-local Annotated types.

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Response, status

from sandbox.acme.delivery import DeliveryWorker, RetryPolicy
from sandbox.acme.models import AcmeBase, Customer, InventoryItem, WebhookSubscription
from sandbox.acme.schemas import (
    AcmeFaults,
    CustomerBatch,
    CustomerBatchOut,
    CustomerCreate,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    DeliveryOut,
    DeliveryPage,
    InventoryBatch,
    InventoryBatchOut,
    InventoryCreate,
    InventoryOut,
    InventoryPage,
    InventoryPatch,
    Stats,
    WebhookCreate,
    WebhookOut,
    WebhookPage,
    WebhookPatch,
)
from sandbox.acme.store import AcmeStore, Conflict, NotFound
from sandbox.common.admin import reset_router
from sandbox.common.app import build_app
from sandbox.common.auth import KeyRegistry, principal_dependency
from sandbox.common.body_limit import DEFAULT_MAX_BODY_BYTES
from sandbox.common.db import Database, iso
from sandbox.common.faults import FaultState
from sandbox.common.paging import ListParams, list_params, simple_params

DESCRIPTION = """
A local, real HTTP simulator of the Acme ERP API.

* Authenticate with `Authorization: Bearer <API key>`; every object belongs to the key's account.
* Lists answer `{"data": [...], "next_cursor": str|null}`. Without `updated_since` they are in
  creation order and a walk sees every record exactly once even while records are updated.
  With `updated_since` they are a change feed: records in the order of their latest write, so
  a record written during a walk shows up again later with its new `version`.
* `POST /v1/customers/batch` and `/v1/inventory/batch` apply up to 100 creates and updates in one
  transaction (all or none); each is still its own change and its own event.
* Every write bumps the record's integer `version` and `updated_at`, and emits a thin event
  (`customer.created`, `customer.updated`, `inventory.updated`) that is POSTed, signed with the
  Standard Webhooks scheme, to every matching subscription, at least once.
* `/_sandbox/*` endpoints (unauthenticated, for local use only) control fault injection.
"""


def not_found(kind: str, key: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"{kind} {key!r} not found")


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        company=customer.company,
        phone=customer.phone,
        version=customer.version,
        created_at=iso(customer.created_at),
        updated_at=iso(customer.updated_at),
    )


def item_out(item: InventoryItem) -> InventoryOut:
    return InventoryOut(
        sku=item.sku,
        name=item.name,
        warehouse=item.warehouse,
        quantity=item.quantity,
        version=item.version,
        created_at=iso(item.created_at),
        updated_at=iso(item.updated_at),
    )


def webhook_out(webhook: WebhookSubscription) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=webhook.events,
        secret_set=bool(webhook.secret),
        metadata=webhook.meta,
        enabled=webhook.enabled,
        created_at=iso(webhook.created_at),
        updated_at=iso(webhook.updated_at),
    )


def delivery_out(view: dict[str, Any]) -> DeliveryOut:
    delivery, event = view["delivery"], view["event"]
    return DeliveryOut(
        id=delivery.id,
        event_id=event.id,
        event_type=event.type,
        object_id=event.object_id,
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        next_attempt_at=iso(delivery.next_attempt_at) if delivery.status == "pending" else None,
        attempts=[
            {
                "number": a.number,
                "attempted_at": iso(a.attempted_at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
                "duplicate": a.duplicate,
            }
            for a in view["attempts"]
        ],
    )


Listing = Annotated[ListParams, Depends(list_params)]
Simple = Annotated[ListParams, Depends(simple_params)]
Principal = Callable[..., str]  # the dependency that authenticates a request to its account


def api_router(store: AcmeStore, keys: KeyRegistry) -> APIRouter:
    """The public `/v1` API, one group of explicit routes per resource."""
    router = APIRouter(prefix="/v1")
    account = principal_dependency(keys)
    add_customer_routes(router, store, account)
    add_inventory_routes(router, store, account)
    add_webhook_routes(router, store, account)
    return router


def add_customer_routes(router: APIRouter, store: AcmeStore, account: Principal) -> None:
    Account = Annotated[str, Depends(account)]

    @router.get("/customers", response_model=CustomerPage, tags=["customers"])
    def list_customers(account: Account, params: Listing) -> CustomerPage:
        rows, cursor = store.list_customers(account, params)
        return CustomerPage(data=[customer_out(c) for c in rows], next_cursor=cursor)

    @router.post("/customers", status_code=201, response_model=CustomerOut, tags=["customers"])
    def create_customer(account: Account, body: CustomerCreate) -> CustomerOut:
        return customer_out(store.create_customer(account, body))

    @router.post(
        "/customers/batch",
        response_model=CustomerBatchOut,
        tags=["customers"],
        summary="Create and update customers in one transaction (all or none)",
    )
    def change_customers(account: Account, body: CustomerBatch) -> CustomerBatchOut:
        updates = [(change.id, change.changes) for change in body.update]
        try:
            created, updated = store.change_customers(account, body.create, updates)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
        return CustomerBatchOut(
            created=[customer_out(c) for c in created], updated=[customer_out(c) for c in updated]
        )

    @router.get("/customers/{customer_id}", response_model=CustomerOut, tags=["customers"])
    def get_customer(account: Account, customer_id: str) -> CustomerOut:
        customer = store.get_customer(account, customer_id)
        if customer is None:
            raise not_found("customer", customer_id)
        return customer_out(customer)

    @router.patch("/customers/{customer_id}", response_model=CustomerOut, tags=["customers"])
    def update_customer(account: Account, customer_id: str, body: CustomerPatch) -> CustomerOut:
        customer = store.update_customer(account, customer_id, body)
        if customer is None:
            raise not_found("customer", customer_id)
        return customer_out(customer)


def add_inventory_routes(router: APIRouter, store: AcmeStore, account: Principal) -> None:
    Account = Annotated[str, Depends(account)]

    @router.get("/inventory", response_model=InventoryPage, tags=["inventory"])
    def list_items(account: Account, params: Listing) -> InventoryPage:
        rows, cursor = store.list_items(account, params)
        return InventoryPage(data=[item_out(i) for i in rows], next_cursor=cursor)

    @router.post("/inventory", status_code=201, response_model=InventoryOut, tags=["inventory"])
    def create_item(account: Account, body: InventoryCreate) -> InventoryOut:
        try:
            return item_out(store.create_item(account, body))
        except Conflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc

    @router.post(
        "/inventory/batch",
        response_model=InventoryBatchOut,
        tags=["inventory"],
        summary="Create and update inventory items in one transaction (all or none)",
    )
    def change_items(account: Account, body: InventoryBatch) -> InventoryBatchOut:
        updates = [(change.sku, change.changes) for change in body.update]
        try:
            created, updated = store.change_items(account, body.create, updates)
        except NotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
        except Conflict as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
        return InventoryBatchOut(
            created=[item_out(i) for i in created], updated=[item_out(i) for i in updated]
        )

    @router.get("/inventory/{sku}", response_model=InventoryOut, tags=["inventory"])
    def get_item(account: Account, sku: str) -> InventoryOut:
        item = store.get_item(account, sku)
        if item is None:
            raise not_found("inventory item", sku)
        return item_out(item)

    @router.patch("/inventory/{sku}", response_model=InventoryOut, tags=["inventory"])
    def update_item(account: Account, sku: str, body: InventoryPatch) -> InventoryOut:
        item = store.update_item(account, sku, body)
        if item is None:
            raise not_found("inventory item", sku)
        return item_out(item)


def add_webhook_routes(router: APIRouter, store: AcmeStore, account: Principal) -> None:
    Account = Annotated[str, Depends(account)]

    @router.get("/webhooks", response_model=WebhookPage, tags=["webhooks"])
    def list_webhooks(account: Account, params: Simple) -> WebhookPage:
        rows, cursor = store.list_webhooks(account, params)
        return WebhookPage(data=[webhook_out(w) for w in rows], next_cursor=cursor)

    @router.post("/webhooks", status_code=201, response_model=WebhookOut, tags=["webhooks"])
    def create_webhook(account: Account, body: WebhookCreate) -> WebhookOut:
        return webhook_out(store.create_webhook(account, body))

    @router.get("/webhooks/{webhook_id}", response_model=WebhookOut, tags=["webhooks"])
    def get_webhook(account: Account, webhook_id: str) -> WebhookOut:
        webhook = store.get_webhook(account, webhook_id)
        if webhook is None:
            raise not_found("webhook", webhook_id)
        return webhook_out(webhook)

    @router.patch("/webhooks/{webhook_id}", response_model=WebhookOut, tags=["webhooks"])
    def update_webhook(account: Account, webhook_id: str, body: WebhookPatch) -> WebhookOut:
        webhook = store.update_webhook(account, webhook_id, body)
        if webhook is None:
            raise not_found("webhook", webhook_id)
        return webhook_out(webhook)

    @router.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"])
    def delete_webhook(account: Account, webhook_id: str) -> Response:
        if not store.delete_webhook(account, webhook_id):
            raise not_found("webhook", webhook_id)
        return Response(status_code=204)

    @router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage, tags=["webhooks"])
    def list_deliveries(account: Account, webhook_id: str, params: Simple) -> DeliveryPage:
        found = store.list_deliveries(account, webhook_id, params)
        if found is None:
            raise not_found("webhook", webhook_id)
        views, cursor = found
        return DeliveryPage(data=[delivery_out(v) for v in views], next_cursor=cursor)


def stats_router(store: AcmeStore) -> APIRouter:
    router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])

    @router.get("/stats", response_model=Stats, summary="Delivery counters (pending = not done)")
    def stats() -> Stats:
        return store.stats()

    return router


def create_app(
    *,
    db_path: Path,
    keys: KeyRegistry,
    faults: AcmeFaults,
    retry: RetryPolicy,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """The whole simulator: API, admin endpoints and the delivery worker (run by the lifespan)."""
    db = Database(db_path, AcmeBase)
    fault_state: FaultState[AcmeFaults] = FaultState(faults)
    worker = DeliveryWorker(db, fault_state, retry)
    store = AcmeStore(db, on_enqueue=worker.wake)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            db.close()

    app = build_app(
        title="Acme ERP (sandbox)",
        description=DESCRIPTION,
        keys=keys,
        faults=fault_state,  # type: ignore[arg-type]
        faults_model=AcmeFaults,
        max_body_bytes=max_body_bytes,
        lifespan=lifespan,
    )
    app.include_router(api_router(store, keys))
    app.include_router(stats_router(store))
    app.include_router(reset_router(store.reset, fault_state))
    return app
