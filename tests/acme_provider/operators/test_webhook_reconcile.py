"""The reconcile plan as a pure function: every edge case without a server."""

from __future__ import annotations

from typing import Any

import pytest

from acme_provider.operators.webhook_reconcile import (
    DesiredWebhook,
    not_owned_by,
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
    fingerprints = {w.key: fp for w in parsed}
    return plan_webhooks(
        parsed, fingerprints, owned_by(OWNER, existing), not_owned_by(OWNER, existing)
    )


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


def test_foreign_subscriptions_elsewhere_never_enter_the_plan() -> None:
    other_url = "https://elsewhere.test/hook"
    foreign = [
        subscription("wh_other", owner="acme-erp/shop-2", url=other_url),
        {"id": "wh_manual", "url": other_url, "events": ["customer.created"], "metadata": {}},
        {"id": "wh_nometa", "url": URL + "/x", "events": ["customer.created"], "metadata": None},
    ]
    result = plan([], foreign)
    assert result.is_noop
    assert not result.unchanged
    wanted = plan([desired()], foreign)
    assert [w.key for w in wanted.create] == ["sync-customer-data"]
    assert (wanted.delete, wanted.update, wanted.adopt) == ([], [], [])


@pytest.mark.parametrize(
    "stranger",
    [
        subscription("wh_x", owner="acme-erp/shop-2"),  # another instance's metadata
        {"id": "wh_x", "url": URL, "events": ["customer.created"], "metadata": {}},  # a person's
        {"id": "wh_x", "url": URL, "events": ["customer.created"], "metadata": None},
    ],
)
def test_a_foreign_subscription_at_our_url_is_adopted_when_we_have_none(stranger: dict) -> None:
    result = plan([desired()], [stranger])
    assert [(sub["id"], w.key) for sub, w in result.adopt] == [("wh_x", "sync-customer-data")]
    assert (result.create, result.update, result.delete, result.unchanged) == ([], [], [], [])
    assert not result.is_noop


def test_foreign_subscriptions_at_our_url_beside_our_own_are_deleted_as_duplicates() -> None:
    ours = subscription("wh_ours")
    strangers = [
        {"id": "wh_a", "url": URL, "events": ["customer.created"], "metadata": {}},
        subscription("wh_b", owner="someone-else"),
    ]
    kept = plan([desired()], [strangers[0], ours, strangers[1]])
    assert [s["id"] for s in kept.delete] == ["wh_a", "wh_b"]
    assert [w.key for w in kept.unchanged] == ["sync-customer-data"]
    assert not kept.adopt

    only_strangers = plan([desired()], strangers)
    assert [sub["id"] for sub, _ in only_strangers.adopt] == ["wh_a"]
    assert [s["id"] for s in only_strangers.delete] == ["wh_b"]


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
