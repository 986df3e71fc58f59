"""Record fetching: argument handling (faked API) and end-to-end syncs into the real simulators."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import DagSerialization

from acme_erp_integration.progix import ProgixHook
from acme_provider.hooks.acme_erp import AcmeErpHook
from acme_provider.operators.records import (
    AcmeFetchRecordsOperator,
    fetch_records,
    normalize_ids,
    normalize_updated_since,
)
from tests.support.connections import BASE_URL
from tests.support.simulators import AcmeSimulator, ProgixSimulator


class Collect:
    """An `on_batch` that keeps the batches and reports one count per record."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []

    def __call__(self, records: list[dict]) -> dict[str, int]:
        self.batches.append(records)
        return {"handled": len(records)}

    @property
    def records(self) -> list[dict]:
        return [r for batch in self.batches for r in batch]


def test_ids_are_deduplicated_strings_and_a_rendered_string_is_refused() -> None:
    assert normalize_ids(None) is None
    assert normalize_ids(["b", "a", "b", 7, None, ""]) == ["b", "a", "7"]
    with pytest.raises(ValueError, match="ids must be a list of ids, got str"):
        normalize_ids("['a', 'b']")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05+00:00"),
        (datetime(2026, 1, 2, tzinfo=UTC), "2026-01-02T00:00:00+00:00"),
    ],
)
def test_updated_since_is_normalised(value: object, expected: str | None) -> None:
    assert normalize_updated_since(value) == expected


@pytest.mark.parametrize("value", ["None", "yesterday", 1700000000])
def test_updated_since_garbage_is_refused_before_any_request(value: object) -> None:
    with pytest.raises(ValueError, match="updated_since must be an ISO 8601 timestamp"):
        normalize_updated_since(value)


def test_operator_validates_arguments_when_the_dag_is_built() -> None:
    with pytest.raises(ValueError, match="resource must be one of"):
        AcmeFetchRecordsOperator(task_id="t", resource="orders", on_batch=Collect())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be between 1 and 100"):
        AcmeFetchRecordsOperator(
            task_id="t", resource="customers", on_batch=Collect(), batch_size=500
        )
    with pytest.raises(TypeError, match="on_batch must be callable"):
        AcmeFetchRecordsOperator(task_id="t", resource="customers", on_batch=None)  # type: ignore[arg-type]


def test_templated_fields_render_and_the_dag_serializes() -> None:
    with DAG("fetch_check", schedule=None, render_template_as_native_obj=True) as dag:
        operator = AcmeFetchRecordsOperator(
            task_id="fetch",
            resource="customers",
            ids="{{ params.ids }}",
            updated_since=None,
            on_batch=Collect(),
        )
    assert AcmeFetchRecordsOperator.template_fields == ("ids", "updated_since")
    DagSerialization.to_dict(dag)  # a callable on_batch must not break serialization
    operator.render_template_fields({"params": {"ids": ["c1", "c2"]}}, dag.get_template_env())
    assert operator.ids == ["c1", "c2"]


@responses.activate
def test_counts_are_summed_missing_ids_counted_and_records_never_returned(
    hook: AcmeErpHook,
) -> None:
    def answer(request):
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        data = [{"id": i, "version": 1} for i in ids if not i.startswith("gone")]
        return 200, {}, json.dumps({"data": data, "next_cursor": None})

    responses.add_callback(responses.GET, f"{BASE_URL}/v1/customers", callback=answer)
    collect = Collect()
    ids = ["c1", "gone1", "c2", "c1", "gone2", "c3"]
    result = fetch_records(hook, "customers", on_batch=collect, ids=ids, batch_size=2)
    assert result == {"fetched": 3, "missing": 2, "batches": 3, "handled": 3}
    assert [len(b) for b in collect.batches] == [1, 1, 1]
    assert len(responses.calls) == 3


@responses.activate
def test_batches_with_only_missing_ids_do_not_call_on_batch(hook: AcmeErpHook) -> None:
    responses.get(f"{BASE_URL}/v1/customers", json={"data": [], "next_cursor": None})
    collect = Collect()
    assert fetch_records(hook, "customers", on_batch=collect, ids=["x", "y"]) == {
        "fetched": 0,
        "missing": 2,
        "batches": 1,
    }
    assert collect.batches == []


@responses.activate
def test_on_batch_counts_are_checked(hook: AcmeErpHook) -> None:
    responses.get(
        f"{BASE_URL}/v1/customers", json={"data": [{"id": "c1", "version": 1}], "next_cursor": None}
    )
    with pytest.raises(ValueError, match="reserved count 'fetched'"):
        fetch_records(hook, "customers", on_batch=lambda r: {"fetched": 1}, ids=["c1"])
    with pytest.raises(ValueError, match="non-integer count 'created'"):
        fetch_records(hook, "customers", on_batch=lambda r: {"created": "1"}, ids=["c1"])
    with pytest.raises(ValueError, match="either ids or updated_since"):
        fetch_records(
            hook, "customers", on_batch=Collect(), ids=["c1"], updated_since="2026-01-01T00:00:00Z"
        )


def test_operator_fetches_ids_from_the_simulator(
    acme_simulator: AcmeSimulator, acme_conn: str
) -> None:
    created = [acme_simulator.create_customer(name=f"N{i}") for i in range(5)]
    collect = Collect()
    operator = AcmeFetchRecordsOperator(
        task_id="fetch",
        resource="customers",
        ids=[c["id"] for c in created] + ["cus_does_not_exist", created[0]["id"]],
        on_batch=collect,
        batch_size=2,
        acme_conn_id=acme_conn,
    )
    result = operator.execute(context={})
    assert result == {"fetched": 5, "missing": 1, "batches": 3, "handled": 5}
    assert sorted(r["id"] for r in collect.records) == sorted(c["id"] for c in created)
    assert json.loads(json.dumps(result)) == result  # a small JSON-safe XCom


def test_backfill_under_concurrent_writes_converges_in_progix(
    acme_simulator: AcmeSimulator,
    acme_conn: str,
    progix_simulator: ProgixSimulator,
    progix_conn: str,
) -> None:
    """Page through a change feed while records keep changing; Progix ends up current."""
    customers = [acme_simulator.create_customer(name=f"Start {i}") for i in range(25)]
    since = customers[0]["updated_at"]
    progix = ProgixHook(progix_conn)

    def upsert(records: list[dict]) -> dict[str, int]:
        items = [
            {"external_id": r["id"], "version": r["version"], "name": r["name"]} for r in records
        ]
        return progix.batch_upsert("customers", items).as_counts()

    stop = threading.Event()
    writes: list[str] = []

    def writer() -> None:
        rng = random.Random(7)
        while not stop.is_set() and len(writes) < 60:
            target = rng.choice(customers)["id"]
            acme_simulator.update_customer(target, name=f"Changed {len(writes)}")
            writes.append(target)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        walk = fetch_records(
            AcmeErpHook(acme_conn), "customers", on_batch=upsert, updated_since=since, batch_size=5
        )
    finally:
        stop.set()
        thread.join()
    assert walk["fetched"] >= 25  # every record at least once (some again, newer)
    assert writes  # the walk really raced with writes

    # One more pass picks up writes that landed after the walk ended; then Progix is current.
    fetch_records(AcmeErpHook(acme_conn), "customers", on_batch=upsert, updated_since=since)
    acme_now = {c["id"]: c["version"] for c in acme_simulator.list_all("/v1/customers", limit=200)}
    progix_now = {c["external_id"]: c["version"] for c in progix_simulator.list_all("customers")}
    assert progix_now == acme_now
    assert max(acme_now.values()) > 1
