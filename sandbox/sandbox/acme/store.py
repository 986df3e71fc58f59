"""Acme ERP data access. Each public function is one transaction: it all happens or none of it.

A write to a customer or inventory item bumps its `version`, moves it to the end of the change
feed (`change_seq`) and, in the same transaction, records the event and one pending delivery
per matching subscription (an outbox), so no event is lost if the process dies.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from itertools import count
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sandbox.acme.models import (
    Customer,
    Delivery,
    DeliveryAttempt,
    Event,
    InventoryItem,
    WebhookSubscription,
)
from sandbox.acme.schemas import (
    CustomerCreate,
    CustomerPatch,
    InventoryCreate,
    InventoryPatch,
    Stats,
    WebhookCreate,
    WebhookPatch,
)
from sandbox.common.db import Database, utcnow
from sandbox.common.paging import ListParams, page

Record = TypeVar("Record", Customer, InventoryItem)


class Conflict(Exception):
    """The write would break a uniqueness rule (e.g. a SKU that already exists)."""


class NotFound(Exception):
    """A write names a record that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class AcmeStore:
    """All reads and writes of one Acme simulator, scoped by account id."""

    def __init__(self, db: Database, on_enqueue: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self._on_enqueue = on_enqueue

    # -- customers ----------------------------------------------------------------------

    def create_customer(self, account: str, body: CustomerCreate) -> Customer:
        created, _ = self.change_customers(account, creates=[body])
        return created[0]

    def update_customer(
        self, account: str, customer_id: str, body: CustomerPatch
    ) -> Customer | None:
        try:
            _, updated = self.change_customers(account, updates=[(customer_id, body)])
        except NotFound:
            return None
        return updated[0]

    def change_customers(
        self,
        account: str,
        creates: Iterable[CustomerCreate] = (),
        updates: Iterable[tuple[str, CustomerPatch]] = (),
    ) -> tuple[list[Customer], list[Customer]]:
        """Creates, then updates, in one transaction; raises `NotFound` (nothing applied).

        Returns the created records and the updated ones (each once, in its final state).
        """
        with self.db.write() as session:
            outbox = _Outbox(session, account)
            sequence = count(self.db.next_sequence(session, Customer.change_seq))
            created = []
            for body in creates:
                customer = self._new(Customer, account, body, next(sequence), id=new_id("cus"))
                session.add(customer)
                outbox.emit("customer.created", customer.id)
                created.append(customer)
            updated = self._patch_all(
                updates,
                lambda key: self._customer(session, account, key),
                sequence,
                outbox,
                kind="customer",
                event_type="customer.updated",
            )
            outbox.close()
        self._on_enqueue()
        return created, updated

    def get_customer(self, account: str, customer_id: str) -> Customer | None:
        with self.db.read() as session:
            return self._customer(session, account, customer_id)

    def list_customers(self, account: str, params: ListParams) -> tuple[list[Customer], str | None]:
        with self.db.read() as session:
            return page(
                session,
                select(Customer).where(Customer.account_id == account),
                params,
                insertion_seq=Customer.seq,
                change_seq=Customer.change_seq,
                updated_at=Customer.updated_at,
                id_column=Customer.id,
            )

    @staticmethod
    def _customer(session: Session, account: str, customer_id: str) -> Customer | None:
        return session.scalar(
            select(Customer).where(Customer.account_id == account, Customer.id == customer_id)
        )

    # -- inventory ----------------------------------------------------------------------

    def create_item(self, account: str, body: InventoryCreate) -> InventoryItem:
        created, _ = self.change_items(account, creates=[body])
        return created[0]

    def update_item(self, account: str, sku: str, body: InventoryPatch) -> InventoryItem | None:
        try:
            _, updated = self.change_items(account, updates=[(sku, body)])
        except NotFound:
            return None
        return updated[0]

    def change_items(
        self,
        account: str,
        creates: Iterable[InventoryCreate] = (),
        updates: Iterable[tuple[str, InventoryPatch]] = (),
    ) -> tuple[list[InventoryItem], list[InventoryItem]]:
        """Creates, then updates, in one transaction; raises `Conflict` or `NotFound`."""
        with self.db.write() as session:
            outbox = _Outbox(session, account)
            sequence = count(self.db.next_sequence(session, InventoryItem.change_seq))
            created = []
            for body in creates:
                if self._item(session, account, body.sku) is not None:
                    raise Conflict(f"an inventory item with sku {body.sku!r} already exists")
                item = self._new(InventoryItem, account, body, next(sequence))
                session.add(item)
                outbox.emit("inventory.updated", item.sku)
                created.append(item)
            updated = self._patch_all(
                updates,
                lambda key: self._item(session, account, key),
                sequence,
                outbox,
                kind="inventory item",
                event_type="inventory.updated",
            )
            outbox.close()
        self._on_enqueue()
        return created, updated

    def get_item(self, account: str, sku: str) -> InventoryItem | None:
        with self.db.read() as session:
            return self._item(session, account, sku)

    def list_items(
        self, account: str, params: ListParams
    ) -> tuple[list[InventoryItem], str | None]:
        with self.db.read() as session:
            return page(
                session,
                select(InventoryItem).where(InventoryItem.account_id == account),
                params,
                insertion_seq=InventoryItem.seq,
                change_seq=InventoryItem.change_seq,
                updated_at=InventoryItem.updated_at,
                id_column=InventoryItem.sku,
            )

    @staticmethod
    def _item(session: Session, account: str, sku: str) -> InventoryItem | None:
        return session.scalar(
            select(InventoryItem).where(
                InventoryItem.account_id == account, InventoryItem.sku == sku
            )
        )

    def _new(
        self, model: type[Record], account: str, body: BaseModel, change_seq: int, **extra: Any
    ) -> Record:
        """A record at version 1, at the end of the change feed."""
        now = self.db.stamp()
        return model(
            account_id=account,
            **body.model_dump(),
            **extra,
            version=1,
            change_seq=change_seq,
            created_at=now,
            updated_at=now,
        )

    def _patch_all(
        self,
        updates: Iterable[tuple[str, BaseModel]],
        find: Callable[[str], Record | None],
        sequence: Iterator[int],
        outbox: _Outbox,
        *,
        kind: str,
        event_type: str,
    ) -> list[Record]:
        """Apply each (key, patch) in order, each its own change and event; raises `NotFound`.
        Returns each record once, in its final state."""
        updated: dict[str, Record] = {}
        for key, patch in updates:
            record = find(key)
            if record is None:
                raise NotFound(kind, key)
            self._bump(record, patch, next(sequence))
            outbox.emit(event_type, key)
            updated[key] = record
        return list(updated.values())

    def _bump(self, record: Customer | InventoryItem, patch: BaseModel, change_seq: int) -> None:
        """Apply a PATCH: new field values, next version, end of the change feed."""
        for name, value in patch.model_dump(exclude_unset=True).items():
            setattr(record, name, value)
        record.version += 1
        record.change_seq = change_seq
        record.updated_at = self.db.stamp()

    # -- webhook subscriptions ----------------------------------------------------------

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
        with self.db.read() as session:
            return page(
                session,
                select(WebhookSubscription).where(WebhookSubscription.account_id == account),
                params,
                insertion_seq=WebhookSubscription.seq,
                change_seq=WebhookSubscription.seq,
                updated_at=WebhookSubscription.updated_at,
            )

    @staticmethod
    def _webhook(session: Session, account: str, webhook_id: str) -> WebhookSubscription | None:
        return session.scalar(
            select(WebhookSubscription).where(
                WebhookSubscription.account_id == account, WebhookSubscription.id == webhook_id
            )
        )

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


class _Outbox:
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
