"""Request and response bodies of the Acme ERP API (they are also its OpenAPI documentation)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from sandbox.common.faults import ApiFaults

EventType = Literal["customer.created", "customer.updated", "inventory.updated"]
EVENT_TYPES: tuple[str, ...] = EventType.__args__  # type: ignore[attr-defined]

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SKU = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _email(value: str | None) -> str | None:
    if value is not None and not EMAIL.match(value):
        raise ValueError("not an email address")
    return value


def _http_url(value: str) -> str:
    AnyHttpUrl(value)  # raises a ValueError naming the problem
    return value


def _webhook_secret(value: str) -> str:
    prefix, _, encoded = value.partition("whsec_")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if prefix or not 16 <= len(key) <= 64:
        raise ValueError("must be 'whsec_' followed by base64 of 16 to 64 random bytes")
    return value


Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str | None, Field(max_length=254), AfterValidator(_email)]
ShortText = Annotated[str | None, Field(max_length=200)]
Quantity = Annotated[int, Field(ge=0, le=1_000_000_000)]
Url = Annotated[str, Field(max_length=2000), AfterValidator(_http_url)]
Secret = Annotated[str, AfterValidator(_webhook_secret)]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patch(Strict):
    """A PATCH body: only the fields given change, and at least one must be given."""

    @model_validator(mode="after")
    def _not_empty(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None and name in self.required_when_set():
                raise ValueError(f"{name} cannot be null")
        return self

    @classmethod
    def required_when_set(cls) -> set[str]:
        return set()


class CustomerCreate(Strict):
    name: Name
    email: Email = None
    company: ShortText = None
    phone: ShortText = None


class CustomerPatch(Patch):
    name: Name | None = None
    email: Email = None
    company: ShortText = None
    phone: ShortText = None

    @classmethod
    def required_when_set(cls) -> set[str]:
        return {"name"}


class CustomerOut(BaseModel):
    id: str
    name: str
    email: str | None
    company: str | None
    phone: str | None
    version: int
    created_at: str
    updated_at: str


class InventoryCreate(Strict):
    sku: Annotated[str, Field(pattern=SKU)]
    name: Name
    warehouse: ShortText = None
    quantity: Quantity = 0


class InventoryPatch(Patch):
    name: Name | None = None
    warehouse: ShortText = None
    quantity: Quantity | None = None

    @classmethod
    def required_when_set(cls) -> set[str]:
        return {"name", "quantity"}


class InventoryOut(BaseModel):
    sku: str
    name: str
    warehouse: str | None
    quantity: int
    version: int
    created_at: str
    updated_at: str


MAX_BATCH_CHANGES = 100


class Batch(Strict):
    """Creates then updates applied in one transaction, all or none; each one is still its own
    change (version, `updated_at`, change-feed position) and its own event."""

    @model_validator(mode="after")
    def _size(self) -> Batch:
        size = len(self.create) + len(self.update)  # type: ignore[attr-defined]
        if not 1 <= size <= MAX_BATCH_CHANGES:
            raise ValueError(f"give 1 to {MAX_BATCH_CHANGES} changes in total, got {size}")
        return self


class CustomerChange(Strict):
    id: str
    changes: CustomerPatch


class CustomerBatch(Batch):
    create: list[CustomerCreate] = Field(default_factory=list)
    update: list[CustomerChange] = Field(default_factory=list)


class CustomerBatchOut(BaseModel):
    created: list[CustomerOut]
    updated: list[CustomerOut] = Field(description="Each updated record once, in its final state.")


class InventoryChange(Strict):
    sku: str
    changes: InventoryPatch


class InventoryBatch(Batch):
    create: list[InventoryCreate] = Field(default_factory=list)
    update: list[InventoryChange] = Field(default_factory=list)


class InventoryBatchOut(BaseModel):
    created: list[InventoryOut]
    updated: list[InventoryOut] = Field(description="Each updated item once, in its final state.")


class WebhookCreate(Strict):
    url: Url
    events: Events
    secret: Secret = Field(description="Write-only signing secret, `whsec_<base64>`.")
    metadata: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True


class WebhookPatch(Patch):
    url: Url | None = None
    events: Events | None = None
    secret: Secret | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool | None = None

    @classmethod
    def required_when_set(cls) -> set[str]:
        return {"url", "events", "secret", "metadata", "enabled"}


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    secret_set: bool = Field(description="The secret itself is never returned.")
    metadata: dict[str, Any]
    enabled: bool
    created_at: str
    updated_at: str


class AttemptOut(BaseModel):
    number: int
    attempted_at: str
    status_code: int | None
    error: str | None
    duration_ms: float
    duplicate: bool


class DeliveryOut(BaseModel):
    id: str
    event_id: str
    event_type: str
    object_id: str
    status: Literal["pending", "delivered", "failed", "cancelled"]
    attempt_count: int
    next_attempt_at: str | None
    attempts: list[AttemptOut]


class CustomerPage(BaseModel):
    data: list[CustomerOut]
    next_cursor: str | None


class InventoryPage(BaseModel):
    data: list[InventoryOut]
    next_cursor: str | None


class WebhookPage(BaseModel):
    data: list[WebhookOut]
    next_cursor: str | None


class DeliveryPage(BaseModel):
    data: list[DeliveryOut]
    next_cursor: str | None


MAX_DELIVERY_CONCURRENCY = 32


class AcmeFaults(ApiFaults):
    """API faults plus webhook-delivery faults."""

    duplicate_rate: float = Field(
        0.0, ge=0.0, le=1.0, description="Probability that a delivered event is sent again."
    )
    reorder_window: int = Field(
        0,
        ge=0,
        le=1000,
        description="Hold up to this many due deliveries and send them shuffled (0/1 = off).",
    )
    reorder_hold_ms: int = Field(
        500, ge=0, le=60_000, description="Longest a delivery waits for its window to fill."
    )
    delivery_concurrency: int = Field(
        1,
        ge=1,
        le=MAX_DELIVERY_CONCURRENCY,
        description="Deliveries POSTed at the same time, as real senders do (1 = one at a time, "
        "in order). Above 1, arrival order within a round is not guaranteed.",
    )


class Stats(BaseModel):
    pending_deliveries: int
    delivered: int
    failed: int
    cancelled: int
    events: int
    attempts: int
