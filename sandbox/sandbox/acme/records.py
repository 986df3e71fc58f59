"""Customers and inventory items: versioned records that feed the change list and the outbox.

A write bumps the record's `version`, moves it to the end of the change feed (`change_seq`)
and records its event in the same transaction (`Outbox`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import InstrumentedAttribute, Session

from sandbox.acme.lookup import owned, owned_page
from sandbox.acme.models import Customer, InventoryItem
from sandbox.acme.outbox import Outbox, new_id
from sandbox.acme.schemas import CustomerCreate, CustomerPatch, InventoryCreate, InventoryPatch
from sandbox.common.db import Database
from sandbox.common.paging import ListParams

Record = TypeVar("Record", Customer, InventoryItem)


class Conflict(Exception):
    """The write would break a uniqueness rule (e.g. a SKU that already exists)."""


class NotFound(Exception):
    """A write names a record that does not exist."""

    def __init__(self, kind: str, key: str) -> None:
        super().__init__(f"{kind} {key!r} not found")


@dataclass(frozen=True)
class RecordKind:
    """What differs between customers and inventory items in a write."""

    model: type[Customer] | type[InventoryItem]
    key: InstrumentedAttribute[str]
    name: str
    created_event: str
    updated_event: str
    id_prefix: str | None  # the key is generated with this prefix; None: the body gives it


CUSTOMERS = RecordKind(
    Customer, Customer.id, "customer", "customer.created", "customer.updated", id_prefix="cus"
)
INVENTORY = RecordKind(
    InventoryItem,
    InventoryItem.sku,
    "inventory item",
    "inventory.updated",
    "inventory.updated",
    id_prefix=None,
)


class RecordStore:
    """The customer and inventory half of `AcmeStore` (needs its `db` and `_on_enqueue`)."""

    db: Database
    _on_enqueue: Callable[[], None]

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
        return self._change(CUSTOMERS, account, creates, updates)

    def get_customer(self, account: str, customer_id: str) -> Customer | None:
        with self.db.read() as session:
            return self._customer(session, account, customer_id)

    def list_customers(self, account: str, params: ListParams) -> tuple[list[Customer], str | None]:
        return owned_page(
            self.db,
            Customer,
            account,
            params,
            change_seq=Customer.change_seq,
            id_column=Customer.id,
        )

    @staticmethod
    def _customer(session: Session, account: str, customer_id: str) -> Customer | None:
        return owned(session, Customer, account, Customer.id, customer_id)

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
        return self._change(INVENTORY, account, creates, updates)

    def get_item(self, account: str, sku: str) -> InventoryItem | None:
        with self.db.read() as session:
            return self._item(session, account, sku)

    def list_items(
        self, account: str, params: ListParams
    ) -> tuple[list[InventoryItem], str | None]:
        return owned_page(
            self.db,
            InventoryItem,
            account,
            params,
            change_seq=InventoryItem.change_seq,
            id_column=InventoryItem.sku,
        )

    @staticmethod
    def _item(session: Session, account: str, sku: str) -> InventoryItem | None:
        return owned(session, InventoryItem, account, InventoryItem.sku, sku)

    # -- what every record write does ---------------------------------------------------

    def _change(
        self,
        kind: RecordKind,
        account: str,
        creates: Iterable[BaseModel],
        updates: Iterable[tuple[str, BaseModel]],
    ) -> tuple[list[Any], list[Any]]:
        """Creates, then updates, each its own change and event, all in one transaction."""
        with self.db.write() as session:
            outbox = Outbox(session, account)
            sequence = count(self.db.next_sequence(session, kind.model.change_seq))
            created = []
            for body in creates:
                record = self._create(session, kind, account, body, next(sequence))
                outbox.emit(kind.created_event, getattr(record, kind.key.key))
                created.append(record)
            updated = self._patch_all(
                updates,
                lambda key: owned(session, kind.model, account, kind.key, key),
                sequence,
                outbox,
                kind=kind.name,
                event_type=kind.updated_event,
            )
            outbox.close()
        self._on_enqueue()
        return created, updated

    def _create(
        self, session: Session, kind: RecordKind, account: str, body: BaseModel, change_seq: int
    ) -> Any:
        """A new record: its key generated, or given by the body and unique in the account."""
        if kind.id_prefix is not None:
            extra = {kind.key.key: new_id(kind.id_prefix)}
        else:
            extra = {}
            value = getattr(body, kind.key.key)
            if owned(session, kind.model, account, kind.key, value) is not None:
                raise Conflict(f"an {kind.name} with {kind.key.key} {value!r} already exists")
        record = self._new(kind.model, account, body, change_seq, **extra)
        session.add(record)
        return record

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
        outbox: Outbox,
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
