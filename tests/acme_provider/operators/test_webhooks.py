"""Webhook operators against the real Acme simulator: reconcile, idempotency, ownership."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import pytest
from airflow.sdk import DAG, task
from airflow.serialization.serialized_objects import DagSerialization
from standardwebhooks import Webhook

from acme_provider.hooks.acme_erp import AcmeErpHook
from acme_provider.operators.webhooks import AcmeDeleteWebhooksOperator, AcmeEnsureWebhooksOperator
from acme_provider.webhook_secrets import secret_fingerprint
from tests.support.route_secrets import route_secret
from tests.support.simulators import AcmeSimulator, WebhookReceiver, new_webhook_secret

OWNER = "acme-erp/shop-1"
SIGNING_KEY = "relay-test-key-1"


def flows(base_url: str) -> list[dict]:
    return [
        {
            "key": "sync-customer-data",
            "url": f"{base_url}/hooks/acme-erp/shop-1/sync-customer-data",
            "events": ["customer.created", "customer.updated"],
        },
        {
            "key": "sync-inventory-data",
            "url": f"{base_url}/hooks/acme-erp/shop-1/sync-inventory-data",
            "events": ["inventory.updated"],
        },
    ]


def resolver(signing_key: str = SIGNING_KEY):
    """What the integration does: derive each route's secret from a key it holds."""

    def resolve(webhook: Mapping) -> str:
        return route_secret(signing_key, f"acme-erp/shop-1/{webhook['key']}")

    return resolve


def ensure(
    conn_id: str, webhooks: list[dict], secret_resolver=None, managed_by: str = OWNER
) -> dict:
    operator = AcmeEnsureWebhooksOperator(
        task_id="ensure_webhooks",
        managed_by=managed_by,
        webhooks=webhooks,
        secret_resolver=secret_resolver or resolver(),
        acme_conn_id=conn_id,
    )
    return operator.execute(context={})


def snapshot(acme: AcmeSimulator) -> dict[str, dict]:
    return {w["id"]: w for w in acme.list_webhooks()}


def test_template_fields_render_owner_and_webhooks() -> None:
    with DAG("render_check", schedule=None):
        operator = AcmeEnsureWebhooksOperator(
            task_id="t",
            managed_by="acme-erp/{{ params.instance }}",
            webhooks=[
                {"key": "k", "url": "{{ params.relay }}/hooks/k", "events": ["customer.created"]}
            ],
            secret_resolver=resolver(),
        )
    assert AcmeEnsureWebhooksOperator.template_fields == ("managed_by", "webhooks")
    assert AcmeDeleteWebhooksOperator.template_fields == ("managed_by",)
    operator.render_template_fields({"params": {"instance": "shop-9", "relay": "https://r.test"}})
    assert operator.managed_by == "acme-erp/shop-9"
    assert operator.webhooks[0]["url"] == "https://r.test/hooks/k"


def test_webhooks_can_come_from_an_upstream_task() -> None:
    with DAG("xcom_check", schedule=None):

        @task
        def desired_webhooks() -> list[dict]:
            return flows("https://relay.test")

        ensure = AcmeEnsureWebhooksOperator(
            task_id="ensure",
            managed_by=OWNER,
            webhooks=desired_webhooks(),
            secret_resolver=resolver(),
        )
    assert ensure.upstream_task_ids == {"desired_webhooks"}


def test_dags_using_the_operators_serialize() -> None:
    """`owner` is BaseOperator's (the task's human owner): templating it broke serialization."""
    with DAG("serialize_check", schedule=None, default_args={"owner": "data-team"}) as dag:
        AcmeEnsureWebhooksOperator(
            task_id="ensure",
            managed_by="acme-erp/{{ params.instance }}",
            webhooks=[],
            secret_resolver=resolver(),
        )
        AcmeDeleteWebhooksOperator(task_id="teardown", managed_by=OWNER)
    serialized = DagSerialization.to_dict(dag)
    tasks = {t["__var"]["task_id"]: t["__var"] for t in serialized["dag"]["tasks"]}
    assert tasks["ensure"]["managed_by"] == "acme-erp/{{ params.instance }}"
    assert tasks["teardown"]["managed_by"] == OWNER
    assert dag.get_task("ensure").owner == "data-team"


def test_operators_need_keyword_arguments_and_a_callable_resolver() -> None:
    with pytest.raises(TypeError):
        AcmeEnsureWebhooksOperator("t", OWNER, [], resolver())  # type: ignore[misc]
    with pytest.raises(TypeError, match="secret_resolver must be callable"):
        AcmeEnsureWebhooksOperator(
            task_id="t", managed_by=OWNER, webhooks=[], secret_resolver="whsec_x"
        )  # type: ignore[arg-type]


def test_reconcile_creates_then_changes_nothing_and_leaves_foreign_alone(
    acme_simulator: AcmeSimulator, acme_conn: str, webhook_receiver: WebhookReceiver
) -> None:
    foreign = acme_simulator.create_webhook(
        "https://other.test/h",
        new_webhook_secret(),
        metadata={"managed_by": "acme-erp/shop-2", "key": "sync-customer-data"},
    )
    manual = acme_simulator.create_webhook("https://manual.test/h", new_webhook_secret())

    first = ensure(acme_conn, flows(webhook_receiver.url))
    assert first == {
        "created": ["sync-customer-data", "sync-inventory-data"],
        "updated": [],
        "adopted": [],
        "deleted": [],
        "unchanged": [],
    }
    after_first = snapshot(acme_simulator)
    owned = [w for w in after_first.values() if w["metadata"].get("managed_by") == OWNER]
    assert {w["metadata"]["key"]: w["metadata"]["secret_fingerprint"] for w in owned} == {
        key: secret_fingerprint(route_secret(SIGNING_KEY, f"acme-erp/shop-1/{key}"))
        for key in ("sync-customer-data", "sync-inventory-data")
    }

    second = ensure(acme_conn, flows(webhook_receiver.url))
    assert second == {
        "created": [],
        "updated": [],
        "adopted": [],
        "deleted": [],
        "unchanged": ["sync-customer-data", "sync-inventory-data"],
    }
    assert snapshot(acme_simulator) == after_first  # not even updated_at moved
    assert after_first[foreign["id"]] == foreign
    assert after_first[manual["id"]] == manual


def test_acme_signs_deliveries_with_the_resolved_route_secret(
    acme_simulator: AcmeSimulator, acme_conn: str, webhook_receiver: WebhookReceiver
) -> None:
    ensure(acme_conn, flows(webhook_receiver.url)[:1])
    created = acme_simulator.create_customer(name="Ada")
    delivery = webhook_receiver.wait_for(1)[0]
    assert delivery.path == "/hooks/acme-erp/shop-1/sync-customer-data"
    secret = route_secret(SIGNING_KEY, "acme-erp/shop-1/sync-customer-data")
    event = Webhook(secret).verify(delivery.body, delivery.headers)
    assert (event["type"], event["object_id"]) == ("customer.created", created["id"])


def test_drift_is_updated_and_stale_owned_subscriptions_deleted(
    acme_simulator: AcmeSimulator, acme_conn: str, webhook_receiver: WebhookReceiver
) -> None:
    foreign = acme_simulator.create_webhook(
        "https://other.test/h", new_webhook_secret(), metadata={"managed_by": "someone-else"}
    )
    ensure(acme_conn, flows("https://old-relay.test"))
    ids = {w["metadata"].get("key"): w["id"] for w in acme_simulator.list_webhooks()}

    moved = flows(webhook_receiver.url)[:1]  # relay moved; inventory flow removed
    summary = ensure(acme_conn, moved, secret_resolver=resolver("relay-test-key-2"))
    assert summary == {
        "created": [],
        "updated": ["sync-customer-data"],
        "adopted": [],
        "deleted": [ids["sync-inventory-data"]],
        "unchanged": [],
    }
    remaining = snapshot(acme_simulator)
    assert set(remaining) == {ids["sync-customer-data"], foreign["id"]}
    kept = remaining[ids["sync-customer-data"]]
    assert kept["url"] == moved[0]["url"]
    assert kept["metadata"]["secret_fingerprint"] == secret_fingerprint(
        route_secret("relay-test-key-2", "acme-erp/shop-1/sync-customer-data")
    )
    assert remaining[foreign["id"]] == foreign

    # the rotated secret is really what Acme signs with now
    acme_simulator.create_customer(name="Grace")
    delivery = webhook_receiver.wait_for(1)[0]
    Webhook(route_secret("relay-test-key-2", "acme-erp/shop-1/sync-customer-data")).verify(
        delivery.body, delivery.headers
    )


def test_a_foreign_owned_webhook_at_our_url_is_adopted_and_signs_with_our_secret(
    acme_simulator: AcmeSimulator, acme_conn: str, webhook_receiver: WebhookReceiver
) -> None:
    wanted = flows(webhook_receiver.url)[:1]
    stranger = acme_simulator.create_webhook(
        wanted[0]["url"], new_webhook_secret(), ["customer.updated"], {"managed_by": "a-person"}
    )
    elsewhere = acme_simulator.create_webhook(
        "https://other.test/h", new_webhook_secret(), metadata={"managed_by": "a-person"}
    )

    summary = ensure(acme_conn, wanted)

    assert summary == {
        "created": [],
        "updated": [],
        "adopted": ["sync-customer-data"],
        "deleted": [],
        "unchanged": [],
    }
    now = snapshot(acme_simulator)
    assert set(now) == {stranger["id"], elsewhere["id"]}
    adopted = now[stranger["id"]]
    secret = resolver()(wanted[0])
    assert adopted["metadata"] == {
        "managed_by": OWNER,
        "key": "sync-customer-data",
        "secret_fingerprint": secret_fingerprint(secret),
    }
    assert sorted(adopted["events"]) == sorted(wanted[0]["events"])
    assert now[elsewhere["id"]] == elsewhere
    assert ensure(acme_conn, wanted)["unchanged"] == ["sync-customer-data"]

    acme_simulator.create_customer(name="Ada")
    delivery = webhook_receiver.wait_for(1)[0]
    Webhook(secret).verify(delivery.body, delivery.headers)


def test_duplicates_left_by_a_crashed_run_are_cleaned_up(
    acme_simulator: AcmeSimulator, acme_conn: str
) -> None:
    wanted = flows("https://relay.test")[:1]
    secret = resolver()(wanted[0])
    metadata = {
        "managed_by": OWNER,
        "key": "sync-customer-data",
        "secret_fingerprint": secret_fingerprint(secret),
    }
    first = acme_simulator.create_webhook(wanted[0]["url"], secret, wanted[0]["events"], metadata)
    second = acme_simulator.create_webhook(wanted[0]["url"], secret, wanted[0]["events"], metadata)
    summary = ensure(acme_conn, wanted)
    assert summary == {
        "created": [],
        "updated": [],
        "adopted": [],
        "deleted": [second["id"]],
        "unchanged": ["sync-customer-data"],
    }
    assert list(snapshot(acme_simulator)) == [first["id"]]


def test_bad_input_changes_nothing(acme_simulator: AcmeSimulator, acme_conn: str) -> None:
    ensure(acme_conn, flows("https://relay.test"))
    before = snapshot(acme_simulator)
    broken = [
        *flows("https://relay.test")[:1],
        {"key": "x", "url": "not a url", "events": ["customer.created"]},
    ]
    with pytest.raises(ValueError, match=r"webhooks\[1\].url"):
        ensure(acme_conn, broken)

    def failing_resolver(webhook: Mapping) -> str:
        raise KeyError("signing key connection is missing")

    with pytest.raises(KeyError):
        ensure(acme_conn, flows("https://relay-new.test"), secret_resolver=failing_resolver)
    assert snapshot(acme_simulator) == before


def test_summary_and_logs_never_contain_secrets(
    acme_simulator: AcmeSimulator, acme_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    summary = ensure(acme_conn, flows("https://relay.test"))
    summary_text = json.dumps(summary)
    for webhook in flows("https://relay.test"):
        secret = resolver()(webhook)
        assert secret not in summary_text
        assert secret not in caplog.text
    assert acme_simulator.api_key not in caplog.text


def test_delete_operator_removes_only_owned_subscriptions(
    acme_simulator: AcmeSimulator, acme_conn: str
) -> None:
    foreign = acme_simulator.create_webhook(
        "https://other.test/h", new_webhook_secret(), metadata={"managed_by": "acme-erp/shop-2"}
    )
    ensure(acme_conn, flows("https://relay.test"))
    owned_ids = sorted(w["id"] for w in acme_simulator.list_webhooks() if w["id"] != foreign["id"])

    teardown = AcmeDeleteWebhooksOperator(
        task_id="teardown", managed_by=OWNER, acme_conn_id=acme_conn
    )
    assert sorted(teardown.execute(context={})["deleted"]) == owned_ids
    assert teardown.execute(context={}) == {"deleted": []}
    assert acme_simulator.list_webhooks() == [foreign]


def test_reconcile_survives_rate_limiting(
    acme_simulator: AcmeSimulator, acme_conn: str, caplog: pytest.LogCaptureFixture
) -> None:
    acme_simulator.set_faults(rate_limit_per_second=1, rate_limit_burst=1)
    caplog.set_level(logging.WARNING, logger="acme_provider")
    summary = ensure(acme_conn, flows("https://relay.test"))
    summary_again = ensure(acme_conn, flows("https://relay.test"))
    acme_simulator.clear_faults()
    assert summary["created"] == ["sync-customer-data", "sync-inventory-data"]
    assert summary_again["unchanged"] == ["sync-customer-data", "sync-inventory-data"]
    assert "failed (HTTP 429)" in caplog.text  # the limiter really pushed back
    assert len(acme_simulator.list_webhooks()) == 2


def test_hook_reads_the_airflow_connection_by_id(
    acme_simulator: AcmeSimulator, acme_conn: str
) -> None:
    assert AcmeErpHook(acme_conn).test_connection() == (
        True,
        f"Connected to Acme ERP at {acme_simulator.url}.",
    )
