"""test-flow's conf: the source's latest changes where the integration can name them, else
thin events with sample ids; a given payload is checked field by field; counts read back."""

from __future__ import annotations

import pytest

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from audit_log_integration.definition import AUDIT_LOG, LOG_CHANGES
from integration_platform.integrations.sampling import SampleUnavailable, sample_size, thin_events
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.run_counts import as_counts
from integration_platform.lifecycle.samples import check_payload, sample_payload


def test_a_flow_with_a_sample_source_asks_for_the_latest_changes() -> None:
    assert sample_payload(ACME_ERP.flow(SYNC_CUSTOMERS)) == {"events": [], "sample_recent": 3}


def test_a_flow_without_one_gets_thin_events_with_its_sample_ids() -> None:
    conf = sample_payload(AUDIT_LOG.flow(LOG_CHANGES))
    [event] = conf["events"]
    assert event["object_id"] == "cus_audit_example"
    assert event["type"] == "customer.created"
    assert set(event) == {"id", "type", "object_id", "occurred_at"}


def test_thin_events_name_each_object_once_per_event() -> None:
    events = thin_events(ACME_ERP.flow(SYNC_CUSTOMERS), ["cus_1", "cus_2"])
    assert [e["object_id"] for e in events] == ["cus_1", "cus_2"]
    assert len({e["id"] for e in events}) == 2


@pytest.mark.parametrize("bad", [0, 101, "3", True, 2.5])
def test_a_bad_sample_size_is_refused(bad) -> None:
    with pytest.raises(SampleUnavailable, match="whole number from 1 to 100"):
        sample_size({"sample_recent": bad})
    with pytest.raises(InvalidRequest, match="sample_recent"):
        check_payload(ACME_ERP.flow(SYNC_CUSTOMERS), {"sample_recent": bad}, source="p.json")


def test_a_payload_may_ask_for_samples_only_where_the_flow_can_take_them() -> None:
    flow = ACME_ERP.flow(SYNC_CUSTOMERS)
    assert check_payload(flow, {"sample_recent": 5}, source="p.json") == {
        "events": [],
        "sample_recent": 5,
    }
    with pytest.raises(InvalidRequest, match="cannot ask its source"):
        check_payload(AUDIT_LOG.flow(LOG_CHANGES), {"sample_recent": 5}, source="p.json")
    with pytest.raises(InvalidRequest, match="either events or sample_recent"):
        check_payload(flow, {"sample_recent": 5, "events": [{"id": "e"}]}, source="p.json")


def test_counts_are_whole_numbers_headline_first_and_anything_else_is_not_counts() -> None:
    counts = as_counts({"batches": 1, "missing": 0, "fetched": 2, "created": 2})
    assert list(counts) == ["fetched", "created", "missing", "batches"]
    assert as_counts({"object_ids": ["a"], "events": 1}) is None
    assert as_counts({"ok": True}) is None
    assert as_counts(None) is None
    assert as_counts({}) is None
