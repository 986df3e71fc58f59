"""The relay's store: ingest and operations, on SQLite and PostgreSQL; the dispatch half
(claims, leases, closing, run tracking) is `webhook_relay.store.dispatch.DispatchStore`.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, case, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webhook_relay.store.dispatch import ClaimedBatch, DispatchStore, TrackedRun, run_id_for
from webhook_relay.store.engine import READ_ONLY
from webhook_relay.store.models import batches, events, route_settings
from webhook_relay.store.quarantine import QUARANTINED, replay_quarantined
from webhook_relay.store.retention import PRUNED, RetentionPolicy, prune
from webhook_relay.store.sqlite_ingest import SqliteIngest
from webhook_relay.store.statements import (
    ACTIVE,
    BATCHED,
    DEAD,
    DISPATCHED,
    OPEN,
    PENDING,
    SPLIT,
    Inserted,
    route_states,
)

__all__ = [
    "BATCHED",
    "DEAD",
    "DISPATCHED",
    "OPEN",
    "PENDING",
    "PRUNED",
    "QUARANTINED",
    "SPLIT",
    "ClaimedBatch",
    "RetentionPolicy",
    "Store",
    "TrackedRun",
    "run_id_for",
]
EVENT_STATUSES = (PENDING, BATCHED, DISPATCHED, DEAD, QUARANTINED, PRUNED)


class Store(DispatchStore):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        self._insert_events = (
            insert(events)
            .on_conflict_do_nothing(index_elements=["route", "webhook_id"])
            .returning(events.c.route, events.c.webhook_id)
        )

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction. On SQLite, writers of this process queue on a lock first:
        SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, which would add
        those sleeps to ingest commits whenever the dispatcher holds the write lock."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    def _read(self) -> Connection:
        """A connection for queries only (on SQLite: no write lock)."""
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    # --- ingest -------------------------------------------------------------------------

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> Inserted:
        """Insert in one transaction, leaving out the rows of routes retired by now (ingest's
        registry check may be older than a retire; see `statements.route_states`)."""
        with self._write() as conn:
            states = conn.execute(route_states(), {"routes": sorted({r["route"] for r in rows})})
            retired = frozenset(route for route, state in states if state != ACTIVE)
            kept = [row for row in rows if row["route"] not in retired]
            result = conn.execute(self._insert_events, kept) if kept else ()
            return Inserted({(r.route, r.webhook_id) for r in result}, retired)

    def sqlite_ingest(self) -> SqliteIngest:
        """A dedicated connection for the SQLite ingest writer (see `SqliteIngest`)."""
        if self._write_lock is None:
            raise TypeError("sqlite_ingest() needs a SQLite store")
        return SqliteIngest(self.engine, self._write_lock)

    # --- operations ---------------------------------------------------------------------

    def ping(self) -> None:
        """Raise unless the database answers (the health check)."""
        with self._read() as conn:
            conn.execute(text("SELECT 1"))

    def prune(self, now: float, policy: RetentionPolicy) -> dict[str, int]:
        """Apply the retention policy in small transactions (see `store.retention`)."""
        return prune(self, now, policy)

    def replay_quarantined(
        self, *, event_ids: Sequence[int] = (), route: str | None = None, all_: bool = False
    ) -> dict[str, int]:
        """Re-check quarantined events; those that pass now become pending."""
        return replay_quarantined(self, event_ids=event_ids, route=route, all_=all_)

    def replay(
        self,
        *,
        event_ids: Sequence[int] = (),
        dead_letters: bool = False,
        route: str | None = None,
    ) -> int:
        """Put finished events (dead, or dispatched in a closed batch) back to pending; they
        get new batches. An event whose batch is still open is left alone."""
        conditions = []
        if event_ids:
            finished = events.c.status.in_([DEAD, DISPATCHED]) & (
                events.c.batch_id.is_(None) | events.c.batch_id.not_in(self.open_batch_ids())
            )
            conditions.append(events.c.id.in_(list(event_ids)) & finished)
        if dead_letters:
            conditions.append(events.c.status == DEAD)
        if not conditions:
            return 0
        stmt = update(events).where(or_(*conditions))
        if route:
            stmt = stmt.where(events.c.route == route)
        with self._write() as conn:
            result = conn.execute(
                stmt.values(status=PENDING, batch_id=None, replays=events.c.replays + 1)
            )
            return result.rowcount

    def set_paused(self, route: str, paused: bool, now: float) -> None:
        insert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(route_settings).values(route=route, paused=paused, updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=["route"], set_={"paused": paused, "updated_at": now}
        )
        with self._write() as conn:
            conn.execute(stmt)

    def list_routes(self) -> list[dict[str, Any]]:
        with self._read() as conn:
            counts = conn.execute(
                select(events.c.route, events.c.status, func.count()).group_by(
                    events.c.route, events.c.status
                )
            ).all()
            paused = {r.route: r.paused for r in conn.execute(select(route_settings)).all()}
        routes: dict[str, dict[str, Any]] = {
            r: {"route": r, "paused": p, "events": {}} for r, p in paused.items()
        }
        for route, status, count in counts:
            entry = routes.setdefault(route, {"route": route, "paused": False, "events": {}})
            entry["events"][status] = count
        return sorted(routes.values(), key=lambda e: e["route"])

    def list_events(
        self,
        *,
        route: str | None = None,
        status: str | None = None,
        webhook_id: str | None = None,
        batch_id: str | None = None,
        event_type: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Events, newest first. An event in an open batch is reported as `batched` (its
        row says `dispatched` from the claim on: the batch holds its state)."""
        in_open = (events.c.status == DISPATCHED) & events.c.batch_id.in_(self.open_batch_ids())
        shown = case((in_open, BATCHED), else_=events.c.status)
        columns = [c for c in events.c if c.name != "status"]
        stmt = select(*columns, shown.label("status")).order_by(events.c.id.desc()).limit(limit)
        for column, value in (
            (events.c.route, route),
            (events.c.webhook_id, webhook_id),
            (events.c.batch_id, batch_id),
            (events.c.event_type, event_type),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if status == BATCHED:
            stmt = stmt.where(in_open)
        elif status == DISPATCHED:
            stmt = stmt.where(events.c.status == DISPATCHED, ~in_open)
        elif status is not None:
            stmt = stmt.where(events.c.status == status)
        if before_id is not None:
            stmt = stmt.where(events.c.id < before_id)
        with self._read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def list_batches(
        self,
        *,
        route: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        stmt = select(batches).order_by(batches.c.created_at.desc()).limit(limit)
        if route is not None:
            stmt = stmt.where(batches.c.route == route)
        if status is not None:
            stmt = stmt.where(batches.c.status == status)
        with self._read() as conn:
            return [_batch_dict(r) for r in conn.execute(stmt)]

    def get_batch(self, batch_id: str) -> dict[str, Any] | None:
        with self._read() as conn:
            row = conn.execute(select(batches).where(batches.c.id == batch_id)).first()
        return _batch_dict(row) if row else None

    def stats(self, now: float) -> dict[str, Any]:
        with self._read() as conn:
            by_status = dict(
                conn.execute(select(events.c.status, func.count()).group_by(events.c.status)).all()
            )
            oldest = conn.execute(
                select(func.min(events.c.received_at)).where(
                    (events.c.status == PENDING)
                    | (
                        (events.c.status == DISPATCHED)
                        & events.c.batch_id.in_(self.open_batch_ids())
                    )
                )
            ).scalar()
            batch_status = self.batch_status_counts(conn)
            in_open_batches = self.events_in_open_batches(conn)
            paused = (
                conn.execute(
                    select(route_settings.c.route).where(route_settings.c.paused.is_(True))
                )
                .scalars()
                .all()
            )
        by_status[BATCHED] = by_status.get(BATCHED, 0) + in_open_batches
        by_status[DISPATCHED] = by_status.get(DISPATCHED, 0) - in_open_batches
        return {
            "events": {s: by_status.get(s, 0) for s in EVENT_STATUSES},
            "queue_depth": by_status.get(PENDING, 0) + by_status.get(BATCHED, 0),
            "oldest_queued_age_seconds": round(now - oldest, 3) if oldest else 0.0,
            "dead_letters": by_status.get(DEAD, 0),
            "quarantined": by_status.get(QUARANTINED, 0),
            "batches": {s: batch_status.get(s, 0) for s in (OPEN, DISPATCHED, DEAD, SPLIT)},
            "paused_routes": sorted(paused),
        }


def _batch_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["conf"] = json.loads(data["conf"])
    return data
