"""AcmeErpHook against the real Acme simulator over real sockets."""

from __future__ import annotations

import logging

import pytest

from acme_provider.exceptions import AcmeAuthError, AcmeNotFound, AcmeValidationError
from acme_provider.hooks.acme_erp import AcmeErpHook
from acme_provider.hooks.retry import RetryPolicy
from tests.support.connections import SetConnection
from tests.support.simulators import AcmeSimulator


def test_customer_and_item_round_trip(sandbox_hook: AcmeErpHook) -> None:
    created = sandbox_hook.create_customer({"name": "Ada", "email": "ada@example.com"})
    updated = sandbox_hook.update_customer(created["id"], {"company": "Analytical Engines"})
    assert updated["version"] == created["version"] + 1
    assert sandbox_hook.get_customer(created["id"]) == updated

    item = sandbox_hook.create_item({"sku": "BOLT-1", "name": "Bolt", "quantity": 5})
    assert sandbox_hook.update_item("BOLT-1", {"quantity": 4})["quantity"] == 4
    assert sandbox_hook.get_item("BOLT-1")["version"] == item["version"] + 1
    assert [i["sku"] for i in sandbox_hook.iter_inventory()] == ["BOLT-1"]


def test_batched_get_reports_missing_ids(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator
) -> None:
    """The 100-ids cap per request is unit-tested; here the real API answers small batches."""
    created = [acme_simulator.create_customer(name=f"C{i}")["id"] for i in range(5)]
    wanted = [*created, "cus_gone_1", created[3]]
    batches = list(sandbox_hook.iter_records_by_key("customers", wanted, batch_size=2))
    assert [len(b.records) for b in batches] == [2, 2, 1]
    assert [b.missing for b in batches] == [[], [], ["cus_gone_1"]]
    assert sorted(r["id"] for r in sandbox_hook.get_customers(wanted)) == sorted(created)


def test_typed_errors_from_the_real_api(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator, set_connection: SetConnection
) -> None:
    with pytest.raises(AcmeNotFound) as missing:
        sandbox_hook.get_customer("cus_nope")
    assert missing.value.status_code == 404
    with pytest.raises(AcmeValidationError) as invalid:
        sandbox_hook.create_webhook("not-a-url", ["customer.created"], "whsec_short")
    assert invalid.value.status_code == 422
    assert "body.url" in str(invalid.value)
    other = set_connection(
        "acme_wrong_key", host=acme_simulator.url, password="sk_acme_wrong_key_123"
    )
    with pytest.raises(AcmeAuthError):
        AcmeErpHook(other).get_customer("x")
    ok, message = AcmeErpHook(other).test_connection()
    assert not ok
    assert "rejected the API key in field 'password'" in message


def test_another_accounts_records_are_invisible(
    sandbox_hook: AcmeErpHook, acme_simulator: AcmeSimulator, set_connection: SetConnection
) -> None:
    mine = sandbox_hook.create_customer({"name": "Mine"})
    other = AcmeErpHook(
        set_connection("acme_other", host=acme_simulator.url, password=acme_simulator.other_api_key)
    )
    with pytest.raises(AcmeNotFound):
        other.get_customer(mine["id"])
    assert other.get_customers([mine["id"]]) == []


def test_paging_survives_rate_limits_and_server_errors(
    acme_conn: str, acme_simulator: AcmeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    hook = AcmeErpHook(
        acme_conn, retry_policy=RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=1.0)
    )
    created = {acme_simulator.create_customer(name=f"R{i}")["id"] for i in range(8)}
    caplog.set_level(logging.WARNING, logger="acme_provider")

    acme_simulator.set_faults(rate_limit_per_second=1, rate_limit_burst=1)
    assert {c["id"] for c in hook.iter_customers(page_size=4)} == created
    assert "failed (HTTP 429)" in caplog.text

    # Random 5xx (30 %): walk until one was survived, a few walks at most.
    acme_simulator.set_faults(error_rate=0.3)
    for _ in range(4):
        assert {c["id"] for c in hook.iter_customers(page_size=2)} == created
        if "failed (HTTP 5" in caplog.text:
            break
    acme_simulator.clear_faults()
    assert "failed (HTTP 5" in caplog.text
