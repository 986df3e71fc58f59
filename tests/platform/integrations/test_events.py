"""Thin events: de-duplicated object ids, bad events quarantined with reasons, a trigger form."""

from __future__ import annotations

import pytest
from airflow.sdk import Param
from airflow.sdk.exceptions import ParamValidationError

from acme_erp_integration import ACME_ERP
from integration_platform.integrations.events import (
    MAX_RECORDED_CHARS,
    changed_objects,
    events_param,
)


def event(object_id: str, type_: str = "customer.updated") -> dict:
    return {"id": f"evt_{object_id}", "type": type_, "object_id": object_id, "occurred_at": "x"}


def test_object_ids_are_unique_in_first_seen_order() -> None:
    events = [event("b"), event("a"), event("b"), event("c", "inventory.updated"), event("a")]
    changed = changed_objects(events, {"customer.created", "customer.updated"})
    assert changed.object_ids == ["b", "a"]
    assert changed.counts() == {"events": 5, "objects": 2, "quarantined": 1}
    assert changed.quarantined[0].reason == "type 'inventory.updated' is not handled by this flow"


def test_thousands_of_events() -> None:
    events = [event(f"cus_{n % 250}") for n in range(10_000)]
    assert len(changed_objects(events, {"customer.updated"}).object_ids) == 250


@pytest.mark.parametrize("events", ["cus_1", {"object_id": "x"}, None])
def test_a_conf_that_is_not_a_list_is_refused_whole(events) -> None:
    with pytest.raises(ValueError, match=r"conf.events must be a list of events"):
        changed_objects(events, {"customer.updated"})


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("b", "must be an object, got str"),
        ({"id": "evt_1", "type": "customer.updated"}, "object_id must be a non-empty string"),
        ({"id": "evt_1", "object_id": "a", "type": 3}, "type must be a non-empty string"),
        ({"object_id": "a", "type": "customer.deleted"}, "type 'customer.deleted' is not handled"),
    ],
)
def test_a_bad_event_is_quarantined_with_its_reason_and_the_rest_kept(bad, reason) -> None:
    changed = changed_objects([event("a"), bad, event("c")], {"customer.updated"})
    assert changed.object_ids == ["a", "c"]
    [quarantined] = changed.quarantined
    assert quarantined.index == 1
    assert reason in quarantined.reason


def test_a_set_aside_record_keeps_thin_fields_only_and_stays_small() -> None:
    """What a run records of an event it set aside (XCom): never other keys, bounded text."""
    long_type = {"id": "evt_9", "type": "x" * 5000, "object_id": "a", "secret": "TOPSECRET"}
    long_value = {"id": "evt_10", "type": "customer.updated", "object_id": ["y"] * 5000}
    first, second = changed_objects([long_type, long_value], {"customer.updated"}).quarantined
    record = first.record()
    assert set(record) == {"index", "id", "type", "object_id", "reason"}
    assert (record["index"], record["id"], record["object_id"]) == (0, "evt_9", "a")
    assert len(record["type"]) == MAX_RECORDED_CHARS
    assert "TOPSECRET" not in repr(record)
    assert second.record()["object_id"] is None
    assert len(second.record()["reason"]) == MAX_RECORDED_CHARS
    not_an_object = changed_objects(["evt"], set()).quarantined[0].record()
    assert (not_an_object["id"], not_an_object["type"]) == (None, None)


def test_trigger_form_example_is_valid_and_typed() -> None:
    flow = ACME_ERP.flow("sync-inventory-data")
    param = events_param(flow)
    assert isinstance(param, Param)
    assert param.value[0]["type"] == "inventory.updated"
    assert param.resolve() == param.value
    assert changed_objects(param.value, flow.events).object_ids == [flow.sample_object_ids[0]]
    with pytest.raises(ParamValidationError, match="is not of type 'array'"):
        param.resolve({"object_id": "SKU-1"})
