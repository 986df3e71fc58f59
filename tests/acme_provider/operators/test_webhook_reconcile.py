"""The reconcile plan as a pure function: every edge case without a server."""

from __future__ import annotations

from typing import Any

import pytest

from acme_provider.operators.webhook_reconcile import (
    DesiredWebhook,
    owned_by,
    ownership_metadata,
    parse_desired,
    plan_webhooks,
    resolve_fingerprints,
)

OWNER = "acme-erp/shop-1"
URL = "https://relay.test/hooks/acme-erp/shop-1/sync-customer-data"


def desired(
    key: str = "sync-customer-data", url: str = URL, events: Any = ("customer.created",)
) -> dict:
    return {"key": key, "url": url, "events": list(events)}


def subscription(
    sub_id: str,
    key: str = "sync-customer-data",
    *,
    owner: str = OWNER,
    fp: str = "fp",
    **fields: Any,
) -> dict:
    sub = {
        "id": sub_id,
        "url": URL,
        "events": ["customer.created"],
        "enabled": True,
        "metadata": ownership_metadata(owner, key, fp),
    }
    return {**sub, **fields}


def plan(wanted: list[dict], existing: list[dict], fp: str = "fp"):
    parsed = parse_desired(wanted)
    return plan_webhooks(parsed, {w.key: fp for w in parsed}, owned_by(OWNER, existing))


def test_missing_subscriptions_are_created() -> None:
    result = plan([desired(), desired("sync-inventory-data", events=["inventory.updated"])], [])
    assert [w.key for w in result.create] == ["sync-customer-data", "sync-inventory-data"]
    assert not result.update
    assert not result.delete
    assert not result.unchanged


def test_matching_subscription_is_unchanged_whatever_the_event_order() -> None:
    wanted = desired(events=["customer.updated", "customer.created", "customer.created"])
    existing = subscription("wh_1", events=["customer.created", "customer.updated"])
    result = plan([wanted], [existing])
    assert result.is_noop
    assert [w.key for w in result.unchanged] == ["sync-customer-data"]


@pytest.mark.parametrize(
    "drift",
    [
        {"url": "https://old-relay.test/hooks/x"},
        {"events": ["customer.created", "customer.updated"]},
        {"metadata": ownership_metadata(OWNER, "sync-customer-data", "rotated")},
        {"enabled": False},
    ],
)
def test_drifted_subscription_is_updated(drift: dict) -> None:
    result = plan([desired()], [subscription("wh_1", **drift)])
    assert [(sub["id"], w.key) for sub, w in result.update] == [("wh_1", "sync-customer-data")]
    assert not result.create
    assert not result.delete


def test_stale_and_duplicate_owned_subscriptions_are_deleted() -> None:
    existing = [subscription("wh_1"), subscription("wh_2"), subscription("wh_3", "teardown-me")]
    result = plan([desired()], existing)
    assert [s["id"] for s in result.delete] == ["wh_2", "wh_3"]
    assert [w.key for w in result.unchanged] == ["sync-customer-data"]


def test_foreign_subscriptions_never_enter_the_plan() -> None:
    foreign = [
        subscription("wh_other", owner="acme-erp/shop-2"),
        {"id": "wh_manual", "url": URL, "events": ["customer.created"], "metadata": {}},
        {"id": "wh_nometa", "url": URL, "events": ["customer.created"], "metadata": None},
    ]
    result = plan([], foreign)
    assert result.is_noop
    assert not result.unchanged
    assert plan([desired()], foreign).create[0].key == "sync-customer-data"


@pytest.mark.parametrize(
    ("webhooks", "message"),
    [
        ("not a list", "webhooks must be a list"),
        ({"key": "x"}, "webhooks must be a list"),
        ([["url", "events"]], r"webhooks\[0\] must be a mapping"),
        ([desired(key="")], r"webhooks\[0\].key must be a non-empty string"),
        ([desired(url="relay.test/x")], r"webhooks\[0\].url must be an http\(s\) URL"),
        ([desired(events=[])], r"webhooks\[0\].events must be a non-empty list"),
        (
            [{"key": "k", "url": URL, "events": "customer.created"}],
            r"events must be a non-empty list",
        ),
        ([desired(), desired()], "duplicate keys: sync-customer-data"),
    ],
)
def test_bad_desired_sets_are_rejected_with_the_entry_and_field(
    webhooks: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_desired(webhooks)


def test_resolver_gets_the_original_mapping_and_must_return_a_secret() -> None:
    wanted = [{**desired(), "route": "acme-erp/shop-1/sync-customer-data"}]
    seen: list[dict] = []
    secrets, fingerprints = resolve_fingerprints(
        parse_desired(wanted), lambda w: seen.append(dict(w)) or "whsec_a"
    )
    assert seen == wanted
    assert secrets == {"sync-customer-data": "whsec_a"}
    assert len(fingerprints["sync-customer-data"]) == 16
    with pytest.raises(ValueError, match="returned no secret for webhook 'sync-customer-data'"):
        resolve_fingerprints(parse_desired([desired()]), lambda w: "")


def test_desired_webhook_normalises_events() -> None:
    parsed = DesiredWebhook.parse(0, desired(events=["b.x", "a.y", "b.x"]))
    assert parsed.events == ("a.y", "b.x")


def test_every_resolved_secret_is_masked_in_task_logs() -> None:
    """An Acme error that echoes a route secret must reach the task log redacted."""
    from airflow.sdk._shared.secrets_masker import redact

    secret = "whsec_route_secret_7f3a9c"
    assert secret in str(redact(f"Acme said: bad secret {secret}"))  # not masked before
    resolve_fingerprints(parse_desired([desired()]), lambda w: secret)
    assert secret not in str(redact(f"Acme said: bad secret {secret}"))
