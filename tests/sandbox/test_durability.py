"""Data and owed deliveries survive a crash of the Acme simulator (the outbox is in SQLite)."""

from __future__ import annotations

from pathlib import Path

from tests.support.simulators import (
    ACME_TEST_FLAGS,
    WebhookReceiver,
    new_webhook_secret,
    start_acme,
)


def test_pending_deliveries_are_sent_after_a_crash_and_restart(
    tmp_path: Path, webhook_receiver: WebhookReceiver
) -> None:
    flags = [*ACME_TEST_FLAGS, "--db", str(tmp_path / "acme.sqlite3")]
    webhook_receiver.fail_next(1000)
    with start_acme(tmp_path / "first", extra_args=flags) as acme:
        acme.create_webhook(webhook_receiver.url, new_webhook_secret())
        customer = acme.create_customer(name="Survivor")
        webhook_receiver.wait_for(1)
        acme.process.kill()  # SIGKILL: no chance to flush or finish anything

    webhook_receiver.fail_next(0)
    with start_acme(tmp_path / "second", extra_args=flags) as acme:
        stats = acme.wait_deliveries_drained()
        [record] = acme.list_all("/v1/customers")

    assert record == customer
    assert stats["delivered"] == 1
    delivered = webhook_receiver.successful()
    assert [r.json()["object_id"] for r in delivered] == [customer["id"]]
