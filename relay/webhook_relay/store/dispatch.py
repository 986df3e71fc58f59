"""The store's dispatch half: claim events into leased batches, close, retry, split, track runs.

Claims use `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises writers with
BEGIN IMMEDIATE instead) and leases: a batch whose lease expired is claimable again and is
re-sent with the same run id, which Airflow answers with 409 if the first send got through.
A claim writes each event row once; closing a batch as dispatched writes only the batch row.
Every close, retry or split checks the lease owner, so a dispatcher that lost its lease
changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update

from integration_contracts.runs import RunKind, run_id
from webhook_relay.routes import Route
from webhook_relay.store import statements
from webhook_relay.store.models import batches, events
from webhook_relay.store.statements import DEAD, DISPATCHED, OPEN, QUEUED, SENDING, SPLIT


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


@dataclass(frozen=True, slots=True)
class TrackedRun:
    """A batch whose DAG run Airflow accepted and has not finished (as last seen)."""

    batch_id: str
    route: str
    dag_id: str
    dag_run_id: str
    state: str  # queued | running
    since: float  # when the relay last saw the state change


def new_batch_id() -> str:
    return uuid.uuid4().hex


def run_id_for(batch_id: str) -> str:
    """Derived from the batch, so a re-send is recognised (409); a replay gets a new batch."""
    return run_id(RunKind.RELAY, batch_id)


def _claimed(row: Any) -> ClaimedBatch:
    return ClaimedBatch(
        id=row.id,
        route=row.route,
        dag_id=row.dag_id,
        dag_run_id=row.dag_run_id,
        conf=json.loads(row.conf),
        attempts=row.attempts,
        created_at=row.created_at,
    )


class DispatchStore:
    """Mixed into `Store`; needs `engine`, `_write()` and `_read()`."""

    engine: Engine

    def _write(self) -> contextlib.AbstractContextManager[Connection]:  # pragma: no cover
        raise NotImplementedError

    def _read(self) -> Connection:  # pragma: no cover
        raise NotImplementedError

    # --- forming batches ----------------------------------------------------------------

    def pending_routes(self) -> list[tuple[str, float]]:
        """Unpaused routes with pending events and their oldest event's arrival, oldest first
        (the dispatcher serves the route that has waited longest first)."""
        with self._read() as conn:
            rows = conn.execute(statements.first_pending_per_route()).all()
        return sorted(((r[0], r[1]) for r in rows), key=lambda r: r[1])

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
        """Fixed-window batching: a route gets a full batch as soon as it has `max_events`
        pending events, and a partial one once its oldest pending event has waited
        `max_wait_s`, whatever Airflow is doing."""
        claimed: list[ClaimedBatch] = []
        for route, oldest in self.pending_routes():
            due_by_age = oldest <= now - max_wait_s
            while len(claimed) < limit:
                batch = self.claim_route_batch(
                    route,
                    owner=owner,
                    now=now,
                    max_events=max_events,
                    lease_s=lease_s,
                    allow_partial=due_by_age,
                )
                if batch is None:
                    break
                claimed.append(batch)
                if len(batch.conf["events"]) < max_events:
                    break
        return claimed

    def claim_route_batch(
        self,
        route: str,
        *,
        owner: str,
        now: float,
        max_events: int,
        lease_s: float,
        allow_partial: bool = True,
        max_waiting: int | None = None,
    ) -> ClaimedBatch | None:
        """Lease a new batch of `route`'s oldest pending events, or None. With `max_waiting`,
        only while the route has fewer runs waiting to start (checked in the same
        transaction, under a per-route lock on PostgreSQL, so several dispatchers keep it)."""
        with self._write() as conn:
            if max_waiting is not None:
                if self.engine.dialect.name == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(hashtext(:route))"), {"route": route}
                    )
                waiting = conn.execute(statements.waiting_runs_of_route(), {"route": route})
                if waiting.scalar_one() >= max_waiting:
                    return None
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
            return self._insert_batch(conn, batch_id, route, conf, owner, now, lease_s)

    def _insert_batch(
        self,
        conn: Connection,
        batch_id: str,
        route: str,
        conf: dict[str, Any],
        owner: str,
        now: float,
        lease_s: float,
        parent_id: str | None = None,
    ) -> ClaimedBatch:
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
                "event_count": len(conf["events"]),
                "status": OPEN,
                "attempts": 0,
                "next_attempt_at": now,
                "lease_owner": owner,
                "lease_until": now + lease_s,
                "created_at": now,
                "run_state": SENDING,
                "run_state_at": now,
                "parent_id": parent_id,
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
        return [_claimed(r) for r in rows]

    # --- outcomes (each checks the lease) -----------------------------------------------

    def _close(
        self, conn: Connection, batch_id: str, owner: str, now: float, status: str, **kw: Any
    ) -> bool:
        result = conn.execute(
            statements.close_batch(),
            {
                "closing_id": batch_id,
                "owner": owner,
                "new_status": status,
                "at": kw.get("at"),
                "error": kw.get("error"),
                "run_state": kw.get("run_state"),
                "state_at": now,
            },
        )
        return result.rowcount == 1

    def mark_dispatched(
        self, batch_id: str, owner: str, now: float, note: str | None = None, *, track: bool = True
    ) -> bool:
        """Airflow has the run. Writes the batch row only; with `track`, the run counts as
        queued until the dispatcher sees Airflow start it. False: the lease was lost."""
        with self._write() as conn:
            return self._close(
                conn,
                batch_id,
                owner,
                now,
                DISPATCHED,
                at=now,
                error=note,
                run_state=QUEUED if track else None,
            )

    def mark_dead(self, batch_id: str, owner: str, now: float, reason: str) -> bool:
        """Dead-letter the batch and its events, with the reason. False: lease lost."""
        with self._write() as conn:
            if not self._close(conn, batch_id, owner, now, DEAD, error=reason):
                return False
            conn.execute(statements.kill_batch_events(), {"closing_id": batch_id})
            return True

    def mark_retry(self, batch_id: str, owner: str, next_attempt_at: float, error: str) -> bool:
        """Release the lease and schedule the next attempt (any dispatcher may take it)."""
        with self._write() as conn:
            result = conn.execute(
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
            return result.rowcount == 1

    def split_batch(
        self, batch: ClaimedBatch, owner: str, now: float, reason: str, lease_s: float
    ) -> list[ClaimedBatch] | None:
        """Airflow refused the batch's conf: replace it by two halves (new batch ids and run
        ids, leased to `owner`) so the valid events still run. A one-event batch is
        dead-lettered instead ([] returned). None: the lease was lost, nothing changed."""
        thin = batch.conf["events"]
        if len(thin) <= 1:
            return [] if self.mark_dead(batch.id, owner, now, reason) else None
        with self._write() as conn:
            if not self._close(conn, batch.id, owner, now, SPLIT, error=reason):
                return None
            rows = conn.execute(
                select(events.c.id, events.c.webhook_id)
                .where(events.c.batch_id == batch.id, events.c.status == DISPATCHED)
                .order_by(events.c.id)
            ).all()
            by_webhook = {r.webhook_id: r.id for r in rows}
            middle = len(thin) // 2
            children = []
            for half in (thin[:middle], thin[middle:]):
                child_id = new_batch_id()
                conf = {"batch_id": child_id, "events": half}
                ids = [by_webhook[e["id"]] for e in half if e["id"] in by_webhook]
                conn.execute(statements.mark_batched(), {"ids": ids, "claim_batch_id": child_id})
                children.append(
                    self._insert_batch(
                        conn, child_id, batch.route, conf, owner, now, lease_s, batch.id
                    )
                )
            return children

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

    # --- run tracking -------------------------------------------------------------------

    def waiting_by_route(self, stuck_before: float = 0.0) -> dict[str, tuple[int, int]]:
        """Per route: (runs waiting to start, being sent or queued in Airflow; how many of
        them count against the flow window: see `statements.waiting_runs_by_route`)."""
        params = {"stuck_before": stuck_before}
        with self._read() as conn:
            rows = conn.execute(statements.waiting_runs_by_route(), params).all()
        return {route: (count, int(counted or 0)) for route, count, counted in rows}

    def tracked_runs(self) -> list[TrackedRun]:
        with self._read() as conn:
            rows = conn.execute(statements.tracked_runs()).all()
        return [
            TrackedRun(r.id, r.route, r.dag_id, r.dag_run_id, r.run_state, r.run_state_at)
            for r in rows
        ]

    def set_run_states(self, changes: Mapping[str, tuple[str, str | None]], now: float) -> None:
        """Record observed run states: {batch id: (state seen before, new state or None)}.
        A change another dispatcher recorded first is left alone."""
        if not changes:
            return
        params = [
            {"tracked_id": bid, "from_state": old, "to_state": new, "at": now}
            for bid, (old, new) in changes.items()
        ]
        with self._write() as conn:
            conn.execute(statements.set_run_state(), params)

    # --- helpers for operations ---------------------------------------------------------

    @staticmethod
    def open_batch_ids() -> Any:
        return select(batches.c.id).where(batches.c.status == OPEN)

    def batch_status_counts(self, conn: Connection) -> dict[str, int]:
        return dict(
            conn.execute(select(batches.c.status, func.count()).group_by(batches.c.status)).all()
        )

    def events_in_open_batches(self, conn: Connection) -> int:
        total = conn.execute(
            select(func.coalesce(func.sum(batches.c.event_count), 0)).where(
                batches.c.status == OPEN
            )
        ).scalar_one()
        return int(total)
