"""AcmeErpHook against a faked Acme API (`responses`): retries, typed errors, paging, batching."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from acme_provider.exceptions import (
    AcmeApiError,
    AcmeAuthError,
    AcmeConnectionConfigError,
    AcmeNotFound,
    AcmeRateLimited,
    AcmeServerError,
    AcmeValidationError,
)
from acme_provider.hooks.acme_erp import AcmeErpHook, is_retryable
from acme_provider.hooks.retry import RetryPolicy
from tests.support.connections import API_KEY, BASE_URL, SetConnection

CUSTOMERS = f"{BASE_URL}/v1/customers"


def customer(customer_id: str, version: int = 1) -> dict:
    return {"id": customer_id, "name": f"C {customer_id}", "version": version}


def query(call: responses.Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


def test_init_needs_no_connection_and_no_network() -> None:
    with responses.RequestsMock():  # any request would fail with ConnectionError
        hook = AcmeErpHook("not_defined_anywhere")
    assert hook.acme_conn_id == "not_defined_anywhere"
    assert hook._session is None


def test_hook_follows_airflow_hook_conventions() -> None:
    assert AcmeErpHook.conn_name_attr == "acme_conn_id"
    assert AcmeErpHook.default_conn_name == "acme_erp_default"
    assert AcmeErpHook.conn_type == "acme_erp"
    assert AcmeErpHook.hook_name == "Acme ERP"
    assert AcmeErpHook().acme_conn_id == "acme_erp_default"


@responses.activate
def test_session_is_lazy_reused_and_sends_the_key_as_bearer(hook: AcmeErpHook) -> None:
    responses.get(f"{CUSTOMERS}/c1", json=customer("c1"))
    responses.get(f"{CUSTOMERS}/c2", json=customer("c2"))
    session = hook.get_conn()
    assert hook.get_customer("c1") == customer("c1")
    assert hook.get_customer("c2")["id"] == "c2"
    assert hook.get_conn() is session
    assert all(c.request.headers["Authorization"] == f"Bearer {API_KEY}" for c in responses.calls)


@responses.activate
def test_get_is_retried_on_5xx_and_connection_errors(
    hook: AcmeErpHook, sleeps: list[float]
) -> None:
    url = f"{CUSTOMERS}/c1"
    responses.get(url, status=503, json={"detail": "maintenance"})
    responses.get(url, body=requests.ConnectionError("reset by peer"))
    responses.get(url, status=502)
    responses.get(url, json=customer("c1", 7))
    assert hook.get_customer("c1")["version"] == 7
    assert len(responses.calls) == 4
    assert len(sleeps) == 3
    assert all(0 < s <= 5.0 for s in sleeps)


@responses.activate
def test_retry_after_of_a_429_is_honoured(hook: AcmeErpHook, sleeps: list[float]) -> None:
    responses.get(f"{CUSTOMERS}/c1", status=429, headers={"Retry-After": "3"})
    responses.get(f"{CUSTOMERS}/c1", json=customer("c1"))
    hook.get_customer("c1")
    assert sleeps == [3.0]


@responses.activate
def test_retry_after_is_bounded_by_the_policy(hook: AcmeErpHook, sleeps: list[float]) -> None:
    responses.get(f"{CUSTOMERS}/c1", status=503, headers={"Retry-After": "3600"})
    responses.get(f"{CUSTOMERS}/c1", json=customer("c1"))
    hook.get_customer("c1")
    assert sleeps == [5.0]


@responses.activate
def test_exhausted_retries_raise_the_typed_error(hook: AcmeErpHook) -> None:
    responses.get(f"{CUSTOMERS}/c1", status=500, json={"detail": "boom"})
    with pytest.raises(AcmeServerError) as caught:
        hook.get_customer("c1")
    assert caught.value.status_code == 500
    assert caught.value.body == {"detail": "boom"}
    assert len(responses.calls) == 4


@responses.activate
@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503},
        {"body": requests.ConnectionError("reset")},
        {"body": requests.ReadTimeout()},
    ],
)
def test_post_is_not_retried_when_it_may_have_run(hook: AcmeErpHook, failure: dict) -> None:
    responses.post(CUSTOMERS, **failure)
    with pytest.raises((AcmeServerError, requests.RequestException)):
        hook.create_customer({"name": "Ada"})
    assert len(responses.calls) == 1


@responses.activate
def test_post_is_retried_on_429_because_it_never_ran(
    hook: AcmeErpHook, sleeps: list[float]
) -> None:
    responses.post(CUSTOMERS, status=429, headers={"Retry-After": "1"})
    responses.post(
        CUSTOMERS,
        status=201,
        json=customer("c9"),
        match=[matchers.json_params_matcher({"name": "Ada"})],
    )
    assert hook.create_customer({"name": "Ada"})["id"] == "c9"
    assert sleeps == [1.0]


@responses.activate
def test_patch_and_delete_count_as_idempotent(hook: AcmeErpHook) -> None:
    responses.patch(f"{CUSTOMERS}/c1", status=502)
    responses.patch(
        f"{CUSTOMERS}/c1",
        json=customer("c1", 2),
        match=[matchers.json_params_matcher({"name": "B"})],
    )
    responses.delete(f"{BASE_URL}/v1/webhooks/wh_1", status=503)
    responses.delete(f"{BASE_URL}/v1/webhooks/wh_1", status=204)
    assert hook.update_customer("c1", {"name": "B"})["version"] == 2
    assert hook.delete_webhook("wh_1") is True


@responses.activate
@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, AcmeValidationError),
        (401, AcmeAuthError),
        (403, AcmeAuthError),
        (404, AcmeNotFound),
        (409, AcmeValidationError),
        (413, AcmeValidationError),
        (422, AcmeValidationError),
        (418, AcmeApiError),
    ],
)
def test_4xx_raise_typed_errors_at_once(
    hook: AcmeErpHook, sleeps: list[float], status: int, error_class: type[AcmeApiError]
) -> None:
    body = {"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]}
    responses.post(CUSTOMERS, status=status, json=body)
    with pytest.raises(error_class) as caught:
        hook.create_customer({})
    error = caught.value
    assert type(error) is error_class
    assert (error.status_code, error.body, error.method, error.path) == (
        status,
        body,
        "POST",
        "/v1/customers",
    )
    assert (
        str(error)
        == f"Acme ERP POST /v1/customers answered HTTP {status}: body.name: Field required"
    )
    assert sleeps == []


def test_rate_limited_is_retryable_for_any_method_other_errors_only_when_idempotent() -> None:
    limited = AcmeRateLimited(429, None, method="POST", path="/v1/customers", retry_after=1)
    server = AcmeServerError(503, None, method="POST", path="/v1/customers")
    assert is_retryable(limited, idempotent=False)
    assert not is_retryable(server, idempotent=False)
    assert is_retryable(server, idempotent=True)
    assert not is_retryable(AcmeNotFound(404, None, method="GET", path="/x"), idempotent=True)


@responses.activate
def test_iter_customers_follows_cursors_with_updated_since(hook: AcmeErpHook) -> None:
    responses.get(CUSTOMERS, json={"data": [customer("a"), customer("b")], "next_cursor": "CUR1"})
    responses.get(CUSTOMERS, json={"data": [customer("c")], "next_cursor": None})
    records = list(hook.iter_customers(updated_since="2026-01-01T00:00:00+00:00", page_size=2))
    assert [r["id"] for r in records] == ["a", "b", "c"]
    first, second = (query(c) for c in responses.calls)
    assert first == {"limit": ["2"], "updated_since": ["2026-01-01T00:00:00+00:00"]}
    assert second == {**first, "cursor": ["CUR1"]}


@responses.activate
def test_batched_get_sends_at_most_100_ids_per_request_and_reports_missing(
    hook: AcmeErpHook,
) -> None:
    wanted = [f"c{i}" for i in range(250)] + ["c0", "c1"]  # duplicates are fetched once

    def answer(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        ids = parse_qs(urlsplit(request.url).query)["ids"][0].split(",")
        found = [customer(i) for i in ids if i != "c7" and i != "c249"]
        return 200, {}, json.dumps({"data": found, "next_cursor": None})

    responses.add_callback(responses.GET, CUSTOMERS, callback=answer)
    batches = list(hook.iter_records_by_key("customers", wanted))
    sizes = [len(query(c)["ids"][0].split(",")) for c in responses.calls]
    assert sizes == [100, 100, 50]
    assert [b.missing for b in batches] == [["c7"], [], ["c249"]]
    assert len(hook.get_customers(wanted)) == 248


@responses.activate
def test_inventory_uses_skus_and_escapes_them(hook: AcmeErpHook) -> None:
    responses.get(f"{BASE_URL}/v1/inventory/SKU%2F1", json={"sku": "SKU/1", "version": 1})
    responses.get(
        f"{BASE_URL}/v1/inventory",
        json={"data": [{"sku": "A-1", "version": 3}], "next_cursor": None},
    )
    assert hook.get_item("SKU/1")["sku"] == "SKU/1"
    assert hook.get_items(["A-1", "B-2"]) == [{"sku": "A-1", "version": 3}]
    assert next(iter(hook.iter_record_batches("inventory", ids=["A-1", "B-2"]))).missing == ["B-2"]


@responses.activate
def test_webhook_calls_send_exactly_the_given_fields(hook: AcmeErpHook) -> None:
    hooks_url = f"{BASE_URL}/v1/webhooks"
    body = {
        "url": "https://r.test/h",
        "events": ["customer.created"],
        "secret": "whsec_x",
        "metadata": {"k": "v"},
    }
    responses.post(
        hooks_url, status=201, json={"id": "wh_1"}, match=[matchers.json_params_matcher(body)]
    )
    responses.patch(
        f"{hooks_url}/wh_1",
        json={"id": "wh_1"},
        match=[matchers.json_params_matcher({"enabled": False})],
    )
    responses.delete(f"{hooks_url}/wh_1", status=404, json={"detail": "not found"})
    responses.get(hooks_url, json={"data": [{"id": "wh_1"}], "next_cursor": None})
    assert (
        hook.create_webhook("https://r.test/h", ["customer.created"], "whsec_x", {"k": "v"})["id"]
        == "wh_1"
    )
    assert hook.update_webhook("wh_1", enabled=False) == {"id": "wh_1"}
    assert hook.delete_webhook("wh_1", missing_ok=True) is False
    with pytest.raises(AcmeNotFound):
        hook.delete_webhook("wh_1")
    assert hook.list_webhooks() == [{"id": "wh_1"}]


@responses.activate
def test_extras_set_timeout_and_retries(set_connection: SetConnection) -> None:
    conn_id = set_connection(extra={"timeout": 2.5, "max_retries": 1, "max_retry_wait": 0})
    responses.get(f"{CUSTOMERS}/c1", status=503)
    hook = AcmeErpHook(conn_id)
    assert hook.retry_policy.max_attempts == 2
    with pytest.raises(AcmeServerError):
        hook.get_customer("c1")
    assert len(responses.calls) == 2
    assert responses.calls[0].request.req_kwargs["timeout"] == 2.5


@responses.activate
def test_unknown_extras_fail_before_any_request_and_are_never_headers(
    set_connection: SetConnection,
) -> None:
    conn_id = set_connection("acme_extra", extra={"X-Debug": "1"})
    hook = AcmeErpHook(conn_id)
    with pytest.raises(
        AcmeConnectionConfigError, match="'acme_extra': field 'extra' has unknown key"
    ):
        hook.get_customer("c1")
    assert len(responses.calls) == 0
    assert hook.test_connection() == (
        False,
        "Connection 'acme_extra': field 'extra' has unknown key(s) 'X-Debug'; "
        "allowed keys are max_retries, max_retry_wait, timeout.",
    )


@responses.activate
def test_test_connection_reports_success_and_each_failure_in_one_sentence(
    set_connection: SetConnection,
) -> None:
    responses.get(CUSTOMERS, json={"data": [], "next_cursor": None})
    assert AcmeErpHook(set_connection()).test_connection() == (
        True,
        f"Connected to Acme ERP at {BASE_URL}.",
    )

    responses.replace(responses.GET, CUSTOMERS, status=401, json={"detail": "unknown API key"})
    ok, message = AcmeErpHook(set_connection("acme_badkey")).test_connection()
    assert (ok, message) == (
        False,
        "Connection 'acme_badkey': Acme ERP rejected the API key in field 'password' (HTTP 401).",
    )

    ok, message = AcmeErpHook(set_connection("acme_nokey", password=None)).test_connection()
    assert (ok, message) == (False, "Connection 'acme_nokey': field 'password' (API key) is empty.")

    ok, message = AcmeErpHook(set_connection("acme_badurl", host="acme.test")).test_connection()
    assert not ok
    assert message.startswith("Connection 'acme_badurl': field 'host' (Acme API base URL)")

    responses.replace(responses.GET, CUSTOMERS, body=requests.ConnectionError("refused"))
    ok, message = AcmeErpHook(set_connection("acme_down")).test_connection()
    assert (ok, message) == (
        False,
        f"Connection 'acme_down': cannot reach Acme ERP at {BASE_URL} (ConnectionError).",
    )
    # one request each for ok / 401 / unreachable: config errors send none, failures no retry
    assert len(responses.calls) == 3


def test_test_connection_of_an_undefined_connection_says_so() -> None:
    assert AcmeErpHook("acme_never_defined").test_connection() == (
        False,
        "Connection 'acme_never_defined' is not defined.",
    )


def test_missing_api_key_fails_execution_with_the_same_sentence(
    set_connection: SetConnection,
) -> None:
    hook = AcmeErpHook(set_connection("acme_nokey", password=""))
    with pytest.raises(AcmeConnectionConfigError) as caught:
        list(hook.iter_customers())
    assert str(caught.value) == "Connection 'acme_nokey': field 'password' (API key) is empty."


@responses.activate
def test_the_api_key_never_reaches_logs_or_exception_text(
    set_connection: SetConnection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn_id = set_connection()
    hook = AcmeErpHook(
        conn_id, retry_policy=RetryPolicy(max_attempts=3, base_delay=0, sleep=lambda _: None)
    )
    responses.get(f"{CUSTOMERS}/c1", status=503, json={"detail": "down"})
    responses.get(f"{CUSTOMERS}/c2", status=401, json={"detail": "bad key"})
    responses.get(f"{CUSTOMERS}/c3", body=requests.ConnectionError("refused"))
    errors = []
    for customer_id in ("c1", "c2", "c3"):
        with pytest.raises(Exception) as caught:  # noqa: PT011 (each raises a different type)
            hook.get_customer(customer_id)
        errors.append(caught.value)
    errors.append(hook.test_connection()[1])
    assert "retrying in" in caplog.text  # the retries were logged...
    assert API_KEY not in caplog.text  # ...without the key
    for error in errors:
        assert API_KEY not in str(error)
        assert API_KEY not in repr(error)
    assert API_KEY not in repr(hook.settings)
