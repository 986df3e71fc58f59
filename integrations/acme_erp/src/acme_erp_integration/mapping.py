"""Acme ERP records → Progix upsert items. Pure functions: no I/O, no Airflow.

Progix keys records by `external_id` and keeps the highest `version`, so every item carries
Acme's `version`: replays, duplicates and reordered runs can never overwrite newer data.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Resource = Literal["customers", "inventory"]


class MappingError(ValueError):
    """An Acme record lacks a field Progix requires; names the record and the field."""


def _required(record: Mapping[str, Any], field: str, what: str) -> Any:
    value = record.get(field)
    if value is None or value == "":
        raise MappingError(f"{what} has no {field!r}")
    return value


def customer_to_progix(record: Mapping[str, Any]) -> dict[str, Any]:
    """`{id, name, email, company, phone, version}` → Progix customer upsert."""
    what = f"Acme customer {record.get('id')!r}"
    return {
        "external_id": str(_required(record, "id", what)),
        "version": int(_required(record, "version", what)),
        "name": _required(record, "name", what),
        "email": record.get("email"),
        "company": record.get("company"),
        "phone": record.get("phone"),
    }


def item_to_progix(record: Mapping[str, Any]) -> dict[str, Any]:
    """`{sku, name, warehouse, quantity, version}` → Progix inventory upsert."""
    what = f"Acme inventory item {record.get('sku')!r}"
    return {
        "external_id": str(_required(record, "sku", what)),
        "version": int(_required(record, "version", what)),
        "name": _required(record, "name", what),
        "warehouse": record.get("warehouse"),
        "quantity": int(record.get("quantity") or 0),
    }


def in_warehouses(record: Mapping[str, Any], warehouses: Collection[str]) -> bool:
    """Whether an inventory item is synced: no warehouse filter, or its warehouse is listed."""
    return not warehouses or record.get("warehouse") in warehouses


@dataclass(frozen=True)
class MappedBatch:
    items: list[dict[str, Any]]
    filtered: int  # records left out by the instance's config (e.g. other warehouses)
    invalid: list[str] = field(default_factory=list)  # why each skipped record was unusable


def to_progix(
    resource: Resource,
    records: Iterable[Mapping[str, Any]],
    *,
    warehouses: Collection[str] = (),
    skip_invalid: bool = False,
) -> MappedBatch:
    """Map one batch of Acme records to Progix items, applying the instance's filters.

    A record Progix cannot take raises `MappingError`, or with `skip_invalid` (the
    instance's `invalid_records: skip`) is left out and its reason kept in `invalid`."""
    if resource not in ("customers", "inventory"):
        raise ValueError(f"resource must be 'customers' or 'inventory', got {resource!r}")
    mapper = customer_to_progix if resource == "customers" else item_to_progix
    items: list[dict[str, Any]] = []
    invalid: list[str] = []
    filtered = 0
    for record in records:
        if resource == "inventory" and not in_warehouses(record, warehouses):
            filtered += 1
            continue
        try:
            items.append(mapper(record))
        except (MappingError, TypeError, ValueError) as error:
            if not skip_invalid:
                raise MappingError(str(error)) from error
            invalid.append(str(error))
    return MappedBatch(items, filtered, invalid)
