"""Progix data access: version-guarded batch upserts, one transaction per batch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select

from sandbox.common.db import Database, iso, utcnow
from sandbox.common.paging import ListParams, page
from sandbox.progix.models import Record
from sandbox.progix.schemas import Upsert, UpsertResult


def record_view(record: Record) -> dict[str, Any]:
    return {
        "external_id": record.external_id,
        "version": record.version,
        **record.fields,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


class ProgixStore:
    """Records of every tenant, in named collections (`customers`, `inventory`)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def batch_upsert(self, tenant: str, collection: str, items: list[Upsert]) -> list[UpsertResult]:
        """Create unknown ids, replace older versions, report equal or older ones as stale."""
        now = utcnow()
        with self.db.write() as session:
            existing = {
                r.external_id: r
                for r in session.scalars(
                    select(Record).where(
                        Record.tenant_id == tenant,
                        Record.collection == collection,
                        Record.external_id.in_([i.external_id for i in items]),
                    )
                )
            }
            results = []
            for item in items:
                fields = item.model_dump(exclude={"external_id", "version"})
                record = existing.get(item.external_id)
                if record is None:
                    session.add(
                        Record(
                            tenant_id=tenant,
                            collection=collection,
                            external_id=item.external_id,
                            version=item.version,
                            fields=fields,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    status = "created"
                elif item.version > record.version:
                    record.version, record.fields, record.updated_at = item.version, fields, now
                    status = "updated"
                else:
                    status = "stale"
                held = item.version if record is None else record.version
                results.append(
                    UpsertResult(external_id=item.external_id, status=status, version=held)
                )
        return results

    def get(self, tenant: str, collection: str, external_id: str) -> Record | None:
        with self.db.read() as session:
            return session.scalar(
                select(Record).where(
                    Record.tenant_id == tenant,
                    Record.collection == collection,
                    Record.external_id == external_id,
                )
            )

    def list(
        self, tenant: str, collection: str, params: ListParams
    ) -> tuple[list[Record], str | None, int]:
        """A page in creation order, the next cursor, and the collection's total count."""
        scope = (Record.tenant_id == tenant, Record.collection == collection)
        with self.db.read() as session:
            rows, cursor = page(
                session,
                select(Record).where(*scope),
                params,
                insertion_seq=Record.seq,
                change_seq=Record.seq,
                updated_at=Record.updated_at,
            )
            total = session.scalar(select(func.count()).select_from(Record).where(*scope)) or 0
            return rows, cursor, total

    def reset(self) -> None:
        with self.db.write() as session:
            session.execute(delete(Record))
