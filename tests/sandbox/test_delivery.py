"""Webhook delivery: signed, at least once, retried with backoff, recorded, faults on demand."""

from __future__ import annotations

import json

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.simulators import AcmeSimulator, WebhookReceiver, new_webhook_secret


def test_deliveries_verify_with_the_standard_webhooks_library(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    secret = new_webhook_secret()
    acme_simulator.create_webhook(f"{webhook_receiver.url}/hooks/x", secret)
    customer = acme_simulator.create_customer(name="Ada")
    acme_simulator.update_customer(customer["id"], phone="123")
    acme_simulator.create_item("SKU-1", quantity=1)
    acme_simulator.wait_deliveries_drained()

    received = webhook_receiver.wait_for(3)
    verifier = Webhook(secret)
    events = [verifier.verify(r.body, r.headers) for r in received]
    assert [(e["type"], e["object_id"]) for e in events] == [
        ("customer.created", customer["id"]),
        ("customer.updated", customer["id"]),
        ("inventory.updated", "SKU-1"),
    ]
    assert all(e["account_id"] == acme_simulator.account_id for e in events)
    assert all(set(e) == {"id", "type", "object_id", "occurred_at", "account_id"} for e in events)
    assert [r.headers["webhook-id"] for r in received] == [e["id"] for e in events]
    with pytest.raises(WebhookVerificationError):
        Webhook(new_webhook_secret()).verify(received[0].body, received[0].headers)


def test_only_matching_subscriptions_of_the_same_account_get_events(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    secret = new_webhook_secret()
    acme_simulator.create_webhook(
        f"{webhook_receiver.url}/inventory", secret, events=["inventory.updated"]
    )
    with acme_simulator.client(acme_simulator.other_api_key) as other:
        other.post(
            "/v1/webhooks",
            json={
                "url": f"{webhook_receiver.url}/other",
                "events": ["customer.created"],
                "secret": secret,
            },
        ).raise_for_status()
    acme_simulator.create_customer()
    acme_simulator.create_item("SKU-9")
    acme_simulator.wait_deliveries_drained()

    assert [(r.path, r.json()["type"]) for r in webhook_receiver.received] == [
        ("/inventory", "inventory.updated")
    ]


def test_a_failing_receiver_is_retried_until_it_succeeds(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(3, status=503)
    hook = acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    acme_simulator.create_customer()
    acme_simulator.wait_deliveries_drained()

    received = webhook_receiver.received
    assert [r.headers["x-answered"] for r in received] == ["503", "503", "503", "2xx"]
    assert len({r.headers["webhook-id"] for r in received}) == 1  # same event every time
    assert len({r.body for r in received}) == 1
    [delivery] = acme_simulator.deliveries(hook["id"])
    assert delivery["status"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503, 204]
    assert delivery["attempts"][0]["error"] == "HTTP 503"


def test_an_unreachable_receiver_ends_failed_after_max_attempts(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(100, status=500)
    hook = acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    acme_simulator.create_customer()
    stats = acme_simulator.wait_deliveries_drained(timeout=60)

    [delivery] = acme_simulator.deliveries(hook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == 8  # the fixture's --max-attempts
    assert stats["failed"] == 1


def test_deleting_a_subscription_cancels_what_it_still_owed(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(100)
    hook = acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    acme_simulator.create_customer()
    webhook_receiver.wait_for(1)
    with acme_simulator.client() as client:
        client.delete(f"/v1/webhooks/{hook['id']}").raise_for_status()
    stats = acme_simulator.wait_deliveries_drained()
    assert stats["pending_deliveries"] == 0
    assert stats["delivered"] == 0
    assert stats["failed"] == 0
    assert stats["cancelled"] == 1


def test_duplicate_delivery_sends_each_event_twice_with_the_same_id(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    acme_simulator.set_faults(duplicate_rate=1.0)
    hook = acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    for _ in range(3):
        acme_simulator.create_customer()
    acme_simulator.wait_deliveries_drained()

    ids = [r.headers["webhook-id"] for r in webhook_receiver.wait_for(6)]
    assert len(ids) == 6
    assert all(ids.count(i) == 2 for i in ids)
    flags = [a["duplicate"] for d in acme_simulator.deliveries(hook["id"]) for a in d["attempts"]]
    assert flags == [False, True] * 3


def test_reordered_delivery_shuffles_a_window_of_events(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    acme_simulator.set_faults(reorder_window=12, reorder_hold_ms=5000)
    acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    created = [acme_simulator.create_item(f"SKU-{n:02d}")["sku"] for n in range(12)]
    acme_simulator.wait_deliveries_drained()

    delivered = [json.loads(r.body)["object_id"] for r in webhook_receiver.received]
    assert sorted(delivered) == created
    # 12 shuffled events come out in creation order once in 479 001 600 runs.
    assert delivered != created


def test_concurrent_delivery_sends_every_event_once_and_retries_failures(
    acme_simulator: AcmeSimulator, webhook_receiver: WebhookReceiver
) -> None:
    acme_simulator.set_faults(delivery_concurrency=8)
    hook = acme_simulator.create_webhook(webhook_receiver.url, new_webhook_secret())
    webhook_receiver.fail_next(5, status=503)
    created = {acme_simulator.create_customer()["id"] for _ in range(20)}
    acme_simulator.wait_deliveries_drained()

    accepted = [r for r in webhook_receiver.received if r.headers.get("x-answered") == "2xx"]
    assert sorted(r.json()["object_id"] for r in accepted) == sorted(created)
    deliveries = acme_simulator.deliveries(hook["id"])
    assert len(deliveries) == 20
    assert all(d["status"] == "delivered" for d in deliveries)
    # Five answers were 503: those deliveries have one failed attempt each, then a success.
    attempts = [a["status_code"] for d in deliveries for a in d["attempts"]]
    assert sorted(attempts).count(503) == 5
    assert len(attempts) == 25
