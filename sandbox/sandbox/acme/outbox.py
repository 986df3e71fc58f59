"""The transactional outbox: a write's events and one pending delivery per subscription.

Events and deliveries are added in the same transaction as the change that caused them, so no
event is lost if the process dies between the write and the delivery.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from sandbox.acme.models import Delivery, Event, WebhookSubscription
from sandbox.common.db import utcnow


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class Outbox:
    """The events of one write transaction, and one pending delivery per matching subscription.

    Deliveries are added at `close()`: one flush numbers all the events and one query finds the
    account's subscriptions, however many records the transaction changed.
    """

    def __init__(self, session: Session, account: str) -> None:
        self.session = session
        self.account = account
        self.events: list[Event] = []

    def emit(self, event_type: str, object_id: str) -> None:
        event = Event(
            id=new_id("evt"),
            account_id=self.account,
            type=event_type,
            object_id=object_id,
            occurred_at=utcnow(),
        )
        self.session.add(event)
        self.events.append(event)

    def close(self) -> None:
        if not self.events:
            return
        self.session.flush()
        subscriptions = list(
            self.session.scalars(
                select(WebhookSubscription).where(
                    WebhookSubscription.account_id == self.account,
                    WebhookSubscription.enabled.is_(True),
                )
            )
        )
        now = utcnow()
        for event in self.events:
            for subscription in subscriptions:
                if event.type in subscription.events:
                    self.session.add(
                        Delivery(
                            id=new_id("dlv"),
                            event_seq=event.seq,
                            subscription_id=subscription.id,
                            account_id=self.account,
                            status="pending",
                            attempt_count=0,
                            next_attempt_at=now,
                            created_at=now,
                            completed_at=None,
                        )
                    )
