"""Acme ERP tables. Every row belongs to one account; `seq` is the immutable insertion order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AcmeBase(DeclarativeBase):
    """Declarative base of the Acme simulator's own database."""


class Customer(AcmeBase):
    __tablename__ = "customers"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str]
    email: Mapped[str | None]
    company: Mapped[str | None]
    phone: Mapped[str | None]
    version: Mapped[int]
    change_seq: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class InventoryItem(AcmeBase):
    __tablename__ = "inventory_items"
    __table_args__ = (UniqueConstraint("account_id", "sku"),)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str]
    warehouse: Mapped[str | None]
    quantity: Mapped[int]
    version: Mapped[int]
    change_seq: Mapped[int] = mapped_column(index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookSubscription(AcmeBase):
    __tablename__ = "webhook_subscriptions"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str]
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str]
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    enabled: Mapped[bool]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Event(AcmeBase):
    """A thin event: what changed, never the changed data itself."""

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]


class Delivery(AcmeBase):
    """One event owed to one subscription (the outbox row the worker drains)."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    event_seq: Mapped[int] = mapped_column(ForeignKey("events.seq"))
    subscription_id: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # pending|delivered|failed|cancelled
    attempt_count: Mapped[int]
    next_attempt_at: Mapped[datetime]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class DeliveryAttempt(AcmeBase):
    __tablename__ = "delivery_attempts"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    delivery_seq: Mapped[int] = mapped_column(ForeignKey("deliveries.seq"), index=True)
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    error: Mapped[str | None]
    duration_ms: Mapped[float]
    duplicate: Mapped[bool]
