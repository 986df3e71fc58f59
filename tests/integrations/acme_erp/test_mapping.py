"""Acme records → Progix items: fields, versions, the warehouse filter, clear errors."""

from __future__ import annotations

import pytest

from acme_erp_integration.mapping import (
    MappingError,
    customer_to_progix,
    in_warehouses,
    item_to_progix,
    to_progix,
)

CUSTOMER = {
    "id": "cus_1",
    "name": "Ann",
    "email": "ann@example.com",
    "company": "Ann Co",
    "phone": None,
    "version": 4,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-02T00:00:00Z",
}
ITEM = {
    "sku": "SKU-1",
    "name": "Widget",
    "warehouse": "north",
    "quantity": 7,
    "version": 2,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-02T00:00:00Z",
}


def test_customer_fields_and_version() -> None:
    assert customer_to_progix(CUSTOMER) == {
        "external_id": "cus_1",
        "version": 4,
        "name": "Ann",
        "email": "ann@example.com",
        "company": "Ann Co",
        "phone": None,
    }


def test_item_fields_and_version() -> None:
    assert item_to_progix(ITEM) == {
        "external_id": "SKU-1",
        "version": 2,
        "name": "Widget",
        "warehouse": "north",
        "quantity": 7,
    }
    assert item_to_progix({**ITEM, "quantity": None, "warehouse": None})["quantity"] == 0


@pytest.mark.parametrize(
    ("mapper", "record", "message"),
    [
        (
            customer_to_progix,
            {**CUSTOMER, "version": None},
            "Acme customer 'cus_1' has no 'version'",
        ),
        (customer_to_progix, {**CUSTOMER, "name": ""}, "Acme customer 'cus_1' has no 'name'"),
        (
            item_to_progix,
            {k: v for k, v in ITEM.items() if k != "sku"},
            "Acme inventory item None has no 'sku'",
        ),
    ],
)
def test_records_missing_required_fields_are_named(mapper, record, message) -> None:
    with pytest.raises(MappingError, match=message):
        mapper(record)


def test_warehouse_filter() -> None:
    assert in_warehouses(ITEM, ())
    assert in_warehouses(ITEM, ("north", "east"))
    assert not in_warehouses(ITEM, ("south",))
    assert not in_warehouses({**ITEM, "warehouse": None}, ("north",))


def test_batches_apply_the_filter_to_inventory_only() -> None:
    items = [ITEM, {**ITEM, "sku": "SKU-2", "warehouse": "south"}, {**ITEM, "sku": "SKU-3"}]
    batch = to_progix("inventory", items, warehouses=["north"])
    assert [i["external_id"] for i in batch.items] == ["SKU-1", "SKU-3"]
    assert batch.filtered == 1
    customers = to_progix("customers", [CUSTOMER], warehouses=["north"])
    assert (len(customers.items), customers.filtered) == (1, 0)
    with pytest.raises(ValueError, match="resource must be"):
        to_progix("orders", [])  # type: ignore[arg-type]
