"""Retention: drop what is no longer needed, in small transactions, so the store stays
bounded for years without ever holding the write lock for long (ingest waits at most one
small transaction on SQLite; on PostgreSQL the rows touched are ones ingest never touches).

Per event, by status (what these queries rely on):
- `dispatched`, its batch's `dispatched_at` older than the payload period: the payload is
  emptied and the status becomes `pruned` (route, webhook_id and thin fields stay: the
  unique key is what deduplicates a late redelivery);
- `pruned`, `received_at` older than the deduplication window: deleted;
- `dead`, `quarantined` and `discarded`, `received_at` older than their own window: deleted (until then
  they can be replayed);
- batches `dispatched`/`dead`/`split`/`discarded` whose `dispatched_at` (or, never dispatched, `created_at`) is
  older than the deduplication window and that no event points at any more: deleted.
Pending, batched and open-batch rows are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, func, select, update

from webhook_relay.store.models import batches, events
from webhook_relay.store.quarantine import QUARANTINED
from webhook_relay.store.statements import DEAD, DISPATCHED, SPLIT

DISCARDED = "discarded"  # a retired route's held events and open batches

if TYPE_CHECKING:
    from webhook_relay.store.repository import Store

PRUNED = "pruned"
DAY = 86400.0


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    payload_days: float = 7.0
    dedup_days: float = 30.0
    dead_days: float = 30.0
    batch_size: int = 500


def prune(store: Store, now: float, policy: RetentionPolicy, max_rounds: int = 1000) -> dict:
    """One pass: each step repeats small transactions until nothing is left (or
    `max_rounds` transactions in all); returns the counts of what it did."""
    n = policy.batch_size
    steps = {
        "payloads_pruned": _prune_payloads(now - policy.payload_days * DAY, n),
        "events_deleted": _delete_events(PRUNED, now - policy.dedup_days * DAY, n),
        "dead_deleted": _delete_events(
            (DEAD, QUARANTINED, DISCARDED), now - policy.dead_days * DAY, n
        ),
        "batches_deleted": _delete_batches(now - policy.dedup_days * DAY, n),
    }
    done = dict.fromkeys(steps, 0)
    rounds = 0
    for name, statement in steps.items():
        while rounds < max_rounds:
            rounds += 1
            with store._write() as conn:
                count = conn.execute(statement).rowcount
            done[name] += count
            if count < n:
                break
    return done


# The subqueries read aliases so they never correlate with the table being changed, and
# (PostgreSQL) skip rows another pruner or a replay holds: several dispatchers prune at once
# without waiting on, or deadlocking with, each other. SQLite ignores FOR UPDATE.


def _prune_payloads(cutoff: float, n: int):
    e, b = events.alias("e"), batches.alias("b")
    due = (
        select(e.c.id)
        .join(b, b.c.id == e.c.batch_id)
        .where(
            e.c.status == DISPATCHED,
            e.c.received_at < cutoff,  # necessary (received before dispatched); indexed
            b.c.dispatched_at < cutoff,
        )
        .order_by(e.c.received_at)
        .limit(n)
        .with_for_update(skip_locked=True, of=e)
    )
    return (
        update(events)
        .where(events.c.id.in_(due.scalar_subquery()))
        .values(status=PRUNED, payload="")
        .execution_options(synchronize_session=False)
    )


def _delete_events(statuses: str | tuple[str, ...], cutoff: float, n: int):
    wanted = (statuses,) if isinstance(statuses, str) else statuses
    e = events.alias("e")
    due = (
        select(e.c.id)
        .where(e.c.status.in_(wanted), e.c.received_at < cutoff)
        .limit(n)
        .with_for_update(skip_locked=True)
    )
    return delete(events).where(events.c.id.in_(due.scalar_subquery()))


def _delete_batches(cutoff: float, n: int):
    b = batches.alias("b")
    referenced = exists().where(events.c.batch_id == b.c.id)
    due = (
        select(b.c.id)
        .where(
            b.c.status.in_([DISPATCHED, DEAD, SPLIT, DISCARDED]),
            func.coalesce(b.c.dispatched_at, b.c.created_at) < cutoff,
            ~referenced,
        )
        .limit(n)
        .with_for_update(skip_locked=True, of=b)
    )
    return delete(batches).where(batches.c.id.in_(due.scalar_subquery()))
