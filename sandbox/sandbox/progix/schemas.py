"""Request and response bodies of the Progix API."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_BATCH = 500

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
Version = Annotated[int, Field(ge=0, description="The source record's version; newer wins.")]
Text = Annotated[str | None, Field(max_length=200)]


class Upsert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    external_id: ExternalId
    version: Version


class CustomerUpsert(Upsert):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Text = None
    company: Text = None
    phone: Text = None


class InventoryUpsert(Upsert):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    warehouse: Text = None
    quantity: Annotated[int, Field(ge=0)]


ItemT = TypeVar("ItemT", bound=Upsert)


class BatchUpsert(BaseModel, Generic[ItemT]):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[ItemT], Field(min_length=1, max_length=MAX_BATCH)]

    @model_validator(mode="after")
    def _unique_ids(self) -> BatchUpsert[ItemT]:
        counts = Counter(item.external_id for item in self.items)
        repeated = sorted(external_id for external_id, n in counts.items() if n > 1)
        if repeated:
            raise ValueError(f"external_id given more than once in one batch: {repeated[:10]}")
        return self


class UpsertResult(BaseModel):
    external_id: str
    status: Literal["created", "updated", "stale"]
    version: int = Field(description="The version Progix holds after this request.")


class BatchResult(BaseModel):
    results: list[UpsertResult]


class RecordOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    external_id: str
    version: int
    created_at: str
    updated_at: str


class RecordPage(BaseModel):
    data: list[dict[str, Any]]
    next_cursor: str | None
    total: int
