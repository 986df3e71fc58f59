"""Webhook subscriptions and what was delivered to them (deliveries with their attempts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.acme.lookup import owned, owned_page
from sandbox.acme.models import Delivery, DeliveryAttempt, Event, WebhookSubscription
from sandbox.acme.outbox import new_id
from sandbox.acme.schemas import WebhookCreate, WebhookPatch
from sandbox.common.db import Database, utcnow
from sandbox.common.paging import ListParams, page


class SubscriptionStore:
    """The webhook half of `AcmeStore` (needs its `db`)."""

    db: Database

    def create_webhook(self, account: str, body: WebhookCreate) -> WebhookSubscription:
        now = utcnow()
        fields = body.model_dump()
        with self.db.write() as session:
            webhook = WebhookSubscription(
                id=new_id("wh"),
                account_id=account,
                url=fields["url"],
                events=fields["events"],
                secret=fields["secret"],
                meta=fields["metadata"],
                enabled=fields["enabled"],
                created_at=now,
                updated_at=now,
            )
            session.add(webhook)
        return webhook

    def update_webhook(
        self, account: str, webhook_id: str, body: WebhookPatch
    ) -> WebhookSubscription | None:
        with self.db.write() as session:
            webhook = self._webhook(session, account, webhook_id)
            if webhook is None:
                return None
            for name, value in body.model_dump(exclude_unset=True).items():
                setattr(webhook, "meta" if name == "metadata" else name, value)
            webhook.updated_at = utcnow()
        return webhook

    def delete_webhook(self, account: str, webhook_id: str) -> bool:
        """Delete the subscription and cancel what it still owed (attempts stay recorded)."""
        with self.db.write() as session:
            webhook = self._webhook(session, account, webhook_id)
            if webhook is None:
                return False
            session.delete(webhook)
            for delivery in session.scalars(
                select(Delivery).where(
                    Delivery.subscription_id == webhook_id, Delivery.status == "pending"
                )
            ):
                delivery.status = "cancelled"
                delivery.completed_at = utcnow()
        return True

    def get_webhook(self, account: str, webhook_id: str) -> WebhookSubscription | None:
        with self.db.read() as session:
            return self._webhook(session, account, webhook_id)

    def list_webhooks(
        self, account: str, params: ListParams
    ) -> tuple[list[WebhookSubscription], str | None]:
        return owned_page(
            self.db, WebhookSubscription, account, params, change_seq=WebhookSubscription.seq
        )

    @staticmethod
    def _webhook(session: Session, account: str, webhook_id: str) -> WebhookSubscription | None:
        return owned(session, WebhookSubscription, account, WebhookSubscription.id, webhook_id)

    # -- deliveries ---------------------------------------------------------------------

    def list_deliveries(
        self, account: str, webhook_id: str, params: ListParams
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """A subscription's deliveries with their attempts, oldest first (None: no such hook)."""
        with self.db.read() as session:
            if self._webhook(session, account, webhook_id) is None:
                return None
            deliveries, cursor = page(
                session,
                select(Delivery).where(
                    Delivery.account_id == account, Delivery.subscription_id == webhook_id
                ),
                params,
                insertion_seq=Delivery.seq,
                change_seq=Delivery.seq,
                updated_at=Delivery.created_at,
            )
            return [self._delivery_view(session, d) for d in deliveries], cursor

    @staticmethod
    def _delivery_view(session: Session, delivery: Delivery) -> dict[str, Any]:
        event = session.get_one(Event, delivery.event_seq)
        attempts = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_seq == delivery.seq)
            .order_by(DeliveryAttempt.seq)
        )
        return {"delivery": delivery, "event": event, "attempts": list(attempts)}
