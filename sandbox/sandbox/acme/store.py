"""Acme ERP data access. Each public function is one transaction: it all happens or none of it.

A write to a customer or inventory item bumps its `version`, moves it to the end of the change
feed (`change_seq`) and, in the same transaction, records the event and one pending delivery
per matching subscription (an outbox), so no event is lost if the process dies. The records
live in `records`, the subscriptions and deliveries in `subscriptions`, the outbox in `outbox`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, func, select

from sandbox.acme.models import (
    Customer,
    Delivery,
    DeliveryAttempt,
    Event,
    InventoryItem,
    WebhookSubscription,
)
from sandbox.acme.records import Conflict, NotFound, RecordStore
from sandbox.acme.schemas import Stats
from sandbox.acme.subscriptions import SubscriptionStore
from sandbox.common.db import Database

__all__ = ["AcmeStore", "Conflict", "NotFound"]


class AcmeStore(RecordStore, SubscriptionStore):
    """All reads and writes of one Acme simulator, scoped by account id."""

    def __init__(self, db: Database, on_enqueue: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self._on_enqueue = on_enqueue

    def stats(self) -> Stats:
        with self.db.read() as session:
            counts = dict(
                session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
                .tuples()
                .all()
            )
            return Stats(
                pending_deliveries=counts.get("pending", 0),
                delivered=counts.get("delivered", 0),
                failed=counts.get("failed", 0),
                cancelled=counts.get("cancelled", 0),
                events=session.scalar(select(func.count()).select_from(Event)) or 0,
                attempts=session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0,
            )

    def reset(self) -> None:
        """Delete every record of every account (test isolation)."""
        with self.db.write() as session:
            for model in (
                DeliveryAttempt,
                Delivery,
                Event,
                WebhookSubscription,
                InventoryItem,
                Customer,
            ):
                session.execute(delete(model))
