"""Thin events: de-duplicated object ids, ignored foreign types, clear errors, a trigger form."""

from __future__ import annotations

import pytest
from airflow.sdk import Param
from airflow.sdk.exceptions import ParamValidationError

from acme_erp_integration import ACME_ERP
from integration_platform.integrations.events import changed_objects, events_param


def event(object_id: str, type_: str = "customer.updated") -> dict:
    return {"id": f"evt_{object_id}", "type": type_, "object_id": object_id, "occurred_at": "x"}


def test_object_ids_are_unique_in_first_seen_order() -> None:
    events = [event("b"), event("a"), event("b"), event("c", "inventory.updated"), event("a")]
    changed = changed_objects(events, {"customer.created", "customer.updated"})
    assert changed.object_ids == ["b", "a"]
    assert changed.counts() == {"events": 5, "objects": 2, "ignored": 1}


def test_thousands_of_events() -> None:
    events = [event(f"cus_{n % 250}") for n in range(10_000)]
    assert len(changed_objects(events, {"customer.updated"}).object_ids) == 250


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ("cus_1", r"conf.events must be a list of events, got str"),
        ({"object_id": "x"}, r"conf.events must be a list of events, got dict"),
        ([event("a"), "b"], r"conf.events\[1\] must be an object, got str"),
        ([{"type": "customer.updated"}], r"conf.events\[0\].object_id must be a non-empty string"),
        ([{"object_id": "a", "type": 3}], r"conf.events\[0\].type must be a non-empty string"),
    ],
)
def test_malformed_batches_name_the_event_and_field(events, message) -> None:
    with pytest.raises(ValueError, match=message):
        changed_objects(events, {"customer.updated"})


def test_trigger_form_example_is_valid_and_typed() -> None:
    flow = ACME_ERP.flow("sync-inventory-data")
    param = events_param(flow)
    assert isinstance(param, Param)
    assert param.value[0]["type"] == "inventory.updated"
    assert param.resolve() == param.value
    assert changed_objects(param.value, flow.events).object_ids == [flow.sample_object_ids[0]]
    with pytest.raises(ParamValidationError, match="is not of type 'array'"):
        param.resolve({"object_id": "SKU-1"})
