"""ProgixHook against a faked Progix API (`responses`): auth, chunking, retries, typed errors."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses
from airflow.providers.http.hooks.http import HttpHook

from acme_erp_integration.errors import ProgixApiError, ProgixConnectionConfigError
from acme_erp_integration.progix import MAX_ITEMS_PER_REQUEST, ProgixHook, UpsertSummary
from acme_provider.hooks.retry import RetryPolicy
from tests.support.connections import PROGIX_KEY, PROGIX_URL, SetConnection

UPSERT_URL = f"{PROGIX_URL}/v1/customers:batchUpsert"


def items(count: int, version: int = 1) -> list[dict]:
    return [{"external_id": f"c{i}", "version": version, "name": f"C{i}"} for i in range(count)]


def statuses(request: requests.PreparedRequest, status: str = "created") -> tuple[int, dict, str]:
    sent = json.loads(request.body)["items"]
    results = [{"external_id": i["external_id"], "status": status} for i in sent]
    return 200, {}, json.dumps({"results": results})


@pytest.fixture
def progix(set_connection: SetConnection, fast_policy: RetryPolicy) -> ProgixHook:
    conn_id = set_connection("progix_unit", conn_type="http", host=PROGIX_URL, password=PROGIX_KEY)
    return ProgixHook(conn_id, retry_policy=fast_policy)


def test_is_an_http_hook_on_an_http_connection() -> None:
    hook = ProgixHook()
    assert isinstance(hook, HttpHook)
    assert (hook.http_conn_id, hook.method, hook.conn_type) == ("progix_default", "POST", "http")


@responses.activate
def test_key_is_sent_as_bearer_not_basic_auth(progix: ProgixHook) -> None:
    responses.add_callback(responses.POST, UPSERT_URL, callback=statuses)
    assert progix.batch_upsert("customers", items(2)) == UpsertSummary(created=2)
    request = responses.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {PROGIX_KEY}"
    assert json.loads(request.body) == {"items": items(2)}


@responses.activate
def test_large_batches_are_chunked_at_500_and_summed(progix: ProgixHook) -> None:
    answers = iter(["created", "updated", "stale"])
    responses.add_callback(
        responses.POST, UPSERT_URL, callback=lambda r: statuses(r, next(answers))
    )
    summary = progix.batch_upsert("customers", items(1200))
    sizes = [len(json.loads(c.request.body)["items"]) for c in responses.calls]
    assert sizes == [MAX_ITEMS_PER_REQUEST, MAX_ITEMS_PER_REQUEST, 200]
    assert summary == UpsertSummary(created=500, updated=500, stale=200)
    assert summary.as_counts() == {"created": 500, "updated": 500, "stale": 200}


@responses.activate
def test_429_and_5xx_are_retried_through_run_with_advanced_retry(
    progix: ProgixHook, sleeps: list[float]
) -> None:
    responses.post(UPSERT_URL, status=429, headers={"Retry-After": "2"})
    responses.post(UPSERT_URL, status=503)
    responses.post(UPSERT_URL, body=requests.ConnectionError("reset"))
    responses.add_callback(responses.POST, UPSERT_URL, callback=statuses)
    assert progix.batch_upsert("customers", items(3)).created == 3
    assert len(responses.calls) == 4
    assert sleeps[0] == 2.0
    assert len(sleeps) == 3


@responses.activate
def test_client_errors_raise_typed_errors_without_retrying(
    progix: ProgixHook, sleeps: list[float]
) -> None:
    responses.post(
        UPSERT_URL,
        status=422,
        json={"detail": [{"loc": ["body", "items", 0, "version"], "msg": "bad"}]},
    )
    with pytest.raises(ProgixApiError) as caught:
        progix.batch_upsert("customers", items(1))
    assert caught.value.status_code == 422
    assert caught.value.path == "/v1/customers:batchUpsert"
    assert "body.items.0.version: bad" in str(caught.value)
    assert sleeps == []
    assert len(responses.calls) == 1


@responses.activate
def test_a_short_or_unknown_answer_is_an_error(progix: ProgixHook) -> None:
    responses.post(UPSERT_URL, json={"results": [{"external_id": "c0", "status": "created"}]})
    with pytest.raises(ProgixApiError, match="different number of results"):
        progix.batch_upsert("customers", items(2))
    responses.replace(
        responses.POST, UPSERT_URL, json={"results": [{"external_id": "c0", "status": "merged"}]}
    )
    with pytest.raises(ProgixApiError, match="unexpected upsert status 'merged'"):
        progix.batch_upsert("customers", items(1))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"version": 1}, r"items\[1\].external_id"),
        ({"external_id": "x", "version": "2"}, r"items\[1\].version must be an integer"),
        ({"external_id": "x", "version": True}, r"items\[1\].version must be an integer"),
    ],
)
def test_items_are_validated_before_anything_is_sent(
    progix: ProgixHook, bad: dict, message: str
) -> None:
    with responses.RequestsMock():  # no request may be made
        with pytest.raises(ValueError, match=message):
            progix.batch_upsert("customers", [items(1)[0], bad])
        with pytest.raises(ValueError, match="resource must be"):
            progix.batch_upsert("orders", items(1))  # type: ignore[arg-type]


def test_missing_key_names_connection_and_field(set_connection: SetConnection) -> None:
    conn_id = set_connection("progix_nokey", conn_type="http", host=PROGIX_URL, password=None)
    with pytest.raises(ProgixConnectionConfigError) as caught:
        ProgixHook(conn_id).batch_upsert("customers", items(1))
    assert (
        str(caught.value)
        == "Connection 'progix_nokey': field 'password' (Progix API key) is empty."
    )
    assert ProgixHook(conn_id).test_connection() == (False, str(caught.value))


def test_test_connection_of_an_undefined_connection_says_so() -> None:
    assert ProgixHook("progix_never_defined").test_connection() == (
        False,
        "Connection 'progix_never_defined' is not defined.",
    )


@responses.activate
def test_test_connection_checks_the_key_with_a_read(progix: ProgixHook) -> None:
    responses.get(f"{PROGIX_URL}/v1/customers", json={"data": [], "next_cursor": None})
    assert progix.test_connection() == (True, f"Connected to Progix at {PROGIX_URL}.")
    responses.replace(
        responses.GET, f"{PROGIX_URL}/v1/customers", status=401, json={"detail": "unknown key"}
    )
    ok, message = progix.test_connection()
    assert not ok
    assert "HTTP 401: unknown key" in message


@responses.activate
def test_the_key_never_reaches_logs_or_errors(
    progix: ProgixHook, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(UPSERT_URL, status=500, body="internal error")
    with pytest.raises(ProgixApiError) as caught:
        progix.batch_upsert("customers", items(1))
    assert caught.value.status_code == 500
    assert len(responses.calls) == 4
    assert PROGIX_KEY not in caplog.text
    assert PROGIX_KEY not in str(caught.value)
    assert PROGIX_KEY not in repr(progix.get_conn().auth)
