"""Progix tables: one `records` table holds both collections (customers, inventory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ProgixBase(DeclarativeBase):
    """Declarative base of the Progix simulator's own database."""


class Record(ProgixBase):
    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("tenant_id", "collection", "external_id"),)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    collection: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
