"""The relay's store: ingest, batch claims and leases, and operations, on SQLite and PostgreSQL.

Claims use `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises writers with
BEGIN IMMEDIATE instead) and leases: a batch whose lease expired is claimable again and is
re-sent with the same run id, which Airflow answers with 409 if the first send got through.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from integration_contracts.runs import RunKind, run_id
from webhook_relay.routes import Route
from webhook_relay.store import statements
from webhook_relay.store.engine import READ_ONLY
from webhook_relay.store.models import batches, events, route_settings
from webhook_relay.store.quarantine import QUARANTINED, replay_quarantined
from webhook_relay.store.retention import PRUNED, RetentionPolicy, prune
from webhook_relay.store.sqlite_ingest import SqliteIngest
from webhook_relay.store.statements import BATCHED, DEAD, DISPATCHED, OPEN, PENDING

__all__ = [
    "BATCHED",
    "DEAD",
    "DISPATCHED",
    "OPEN",
    "PENDING",
    "PRUNED",
    "QUARANTINED",
    "ClaimedBatch",
    "RetentionPolicy",
    "Store",
]
EVENT_STATUSES = (PENDING, BATCHED, DISPATCHED, DEAD, QUARANTINED, PRUNED)


@dataclass(frozen=True, slots=True)
class ClaimedBatch:
    """A batch this dispatcher holds the lease for and should send now."""

    id: str
    route: str
    dag_id: str
    dag_run_id: str
    conf: dict[str, Any]
    attempts: int
    created_at: float


def new_batch_id() -> str:
    return uuid.uuid4().hex


def run_id_for(batch_id: str) -> str:
    """Derived from the batch, so a re-send is recognised (409); a replay gets a new batch."""
    return run_id(RunKind.RELAY, batch_id)


class Store:
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

    def insert_events(self, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
        """Insert in one transaction; returns the (route, webhook_id) keys that were new."""
        with self._write() as conn:
            result = conn.execute(self._insert_events, list(rows))
            return {(r.route, r.webhook_id) for r in result}

    def sqlite_ingest(self) -> SqliteIngest:
        """A dedicated connection for the SQLite ingest writer (see `SqliteIngest`)."""
        if self._write_lock is None:
            raise TypeError("sqlite_ingest() needs a SQLite store")
        return SqliteIngest(self.engine, self._write_lock)

    # --- dispatch -----------------------------------------------------------------------

    def form_batches(
        self,
        *,
        owner: str,
        now: float,
        max_events: int,
        max_wait_s: float,
        lease_s: float,
        limit: int,
    ) -> list[ClaimedBatch]:
        """Group pending events of unpaused routes into new batches leased to `owner`.

        A route gets a full batch as soon as it has `max_events` pending events, and a
        partial one once its oldest pending event has waited `max_wait_s`.
        """
        with self._read() as conn:
            candidates = conn.execute(statements.first_pending_per_route()).all()
        claimed: list[ClaimedBatch] = []
        for route, oldest in candidates:
            due_by_age = oldest <= now - max_wait_s
            while len(claimed) < limit:
                batch = self._claim_events(route, owner, now, max_events, lease_s, due_by_age)
                if batch is None:
                    break
                claimed.append(batch)
                if len(batch.conf["events"]) < max_events:
                    break
        return claimed

    def _claim_events(
        self,
        route: str,
        owner: str,
        now: float,
        max_events: int,
        lease_s: float,
        allow_partial: bool,
    ) -> ClaimedBatch | None:
        with self._write() as conn:
            rows = conn.execute(
                statements.pending_head(), {"route": route, "max_events": max_events}
            ).all()
            if not rows or (len(rows) < max_events and not allow_partial):
                return None
            batch_id = new_batch_id()
            conf = {"batch_id": batch_id, "events": [statements.thin_event(r) for r in rows]}
            conn.execute(
                statements.mark_batched(), {"ids": [r.id for r in rows], "claim_batch_id": batch_id}
            )
            batch = ClaimedBatch(
                id=batch_id,
                route=route,
                dag_id=Route.parse(route).dag_id,
                dag_run_id=run_id_for(batch_id),
                conf=conf,
                attempts=0,
                created_at=now,
            )
            conn.execute(
                batches.insert(),
                {
                    "id": batch.id,
                    "route": route,
                    "dag_id": batch.dag_id,
                    "dag_run_id": batch.dag_run_id,
                    "conf": json.dumps(conf, separators=(",", ":")),
                    "event_count": len(rows),
                    "status": OPEN,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "lease_owner": owner,
                    "lease_until": now + lease_s,
                    "created_at": now,
                },
            )
            return batch

    def claim_due_batches(
        self, *, owner: str, now: float, lease_s: float, limit: int
    ) -> list[ClaimedBatch]:
        """Lease open batches that are due (retry time reached, no live lease)."""
        if limit <= 0:
            return []
        params = {"now": now, "limit": limit}
        with self._read() as conn:  # the common case, nothing due, takes no write lock
            if conn.execute(statements.due_batches(locking=False), params).first() is None:
                return []
        with self._write() as conn:
            ids = conn.execute(statements.due_batches(locking=True), params).scalars().all()
            if not ids:
                return []
            conn.execute(
                update(batches)
                .where(batches.c.id.in_(ids))
                .values(lease_owner=owner, lease_until=now + lease_s)
            )
            rows = conn.execute(select(batches).where(batches.c.id.in_(ids))).all()
        return [
            ClaimedBatch(
                id=r.id,
                route=r.route,
                dag_id=r.dag_id,
                dag_run_id=r.dag_run_id,
                conf=json.loads(r.conf),
                attempts=r.attempts,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def _finish(self, batch_id: str, now: float, batch_status: str, error: str | None) -> None:
        dispatched = batch_status == DISPATCHED
        with self._write() as conn:
            conn.execute(
                statements.close_batch(),
                {
                    "closing_id": batch_id,
                    "new_status": batch_status,
                    "at": now if dispatched else None,
                    "error": error,
                },
            )
            conn.execute(
                statements.close_batch_events(),
                {"closing_id": batch_id, "new_status": DISPATCHED if dispatched else DEAD},
            )

    def mark_dispatched(self, batch_id: str, now: float, note: str | None = None) -> None:
        self._finish(batch_id, now, DISPATCHED, note)

    def mark_dead(self, batch_id: str, now: float, reason: str) -> None:
        self._finish(batch_id, now, DEAD, reason)

    def mark_retry(self, batch_id: str, owner: str, next_attempt_at: float, error: str) -> None:
        """Release the lease and schedule the next attempt (any dispatcher may take it)."""
        with self._write() as conn:
            conn.execute(
                update(batches)
                .where(
                    batches.c.id == batch_id,
                    batches.c.status == OPEN,
                    batches.c.lease_owner == owner,
                )
                .values(
                    attempts=batches.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    lease_owner=None,
                    lease_until=None,
                    last_error=error,
                )
            )

    def release(self, batch_ids: Iterable[str], owner: str) -> None:
        """Give back leases on shutdown so another dispatcher need not wait for expiry."""
        ids = list(batch_ids)
        if not ids:
            return
        with self._write() as conn:
            conn.execute(
                update(batches)
                .where(batches.c.id.in_(ids), batches.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

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
        """Put finished events (dead or dispatched) back to pending; they get new batches."""
        conditions = []
        if event_ids:
            conditions.append(
                events.c.id.in_(list(event_ids)) & events.c.status.in_([DEAD, DISPATCHED])
            )
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
        stmt = select(events).order_by(events.c.id.desc()).limit(limit)
        for column, value in (
            (events.c.route, route),
            (events.c.status, status),
            (events.c.webhook_id, webhook_id),
            (events.c.batch_id, batch_id),
            (events.c.event_type, event_type),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
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
                    events.c.status.in_([PENDING, BATCHED])
                )
            ).scalar()
            batch_status = dict(
                conn.execute(
                    select(batches.c.status, func.count()).group_by(batches.c.status)
                ).all()
            )
            paused = (
                conn.execute(
                    select(route_settings.c.route).where(route_settings.c.paused.is_(True))
                )
                .scalars()
                .all()
            )
        return {
            "events": {s: by_status.get(s, 0) for s in EVENT_STATUSES},
            "queue_depth": by_status.get(PENDING, 0) + by_status.get(BATCHED, 0),
            "oldest_queued_age_seconds": round(now - oldest, 3) if oldest else 0.0,
            "dead_letters": by_status.get(DEAD, 0),
            "quarantined": by_status.get(QUARANTINED, 0),
            "batches": {s: batch_status.get(s, 0) for s in (OPEN, DISPATCHED, DEAD)},
            "paused_routes": sorted(paused),
        }


def _batch_dict(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    data["conf"] = json.loads(data["conf"])
    return data
