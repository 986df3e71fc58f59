"""Quarantined events: stored because they were signed and received, never batched because
their thin fields fail the event contract. A replay reads each stored payload again with
the current checks: what passes now becomes pending, the rest stays with its (new) reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from webhook_relay.payload import recheck
from webhook_relay.store.models import events
from webhook_relay.store.statements import PENDING

if TYPE_CHECKING:
    from webhook_relay.store.repository import Store

QUARANTINED = "quarantined"
REPLAY_CHUNK = 500


def replay_quarantined(
    store: Store, *, event_ids: Sequence[int] = (), route: str | None = None, all_: bool = False
) -> dict[str, int]:
    """Re-check quarantined events (the given ids, or all of them, optionally of one route);
    returns how many were released to pending and how many are still quarantined."""
    if not event_ids and not all_:
        return {"released": 0, "still_quarantined": 0}
    query = select(events.c.id, events.c.payload).where(events.c.status == QUARANTINED)
    if event_ids:
        query = query.where(events.c.id.in_(list(event_ids)))
    if route:
        query = query.where(events.c.route == route)
    released = kept = 0
    last_id = 0
    while True:
        with store._read() as conn:
            rows = conn.execute(
                query.where(events.c.id > last_id).order_by(events.c.id).limit(REPLAY_CHUNK)
            ).all()
        if not rows:
            break
        last_id = rows[-1].id
        with store._write() as conn:
            for row in rows:
                fields = recheck(row.payload)
                values = {
                    "event_type": fields.event_type,
                    "object_id": fields.object_id,
                    "occurred_at": fields.occurred_at,
                    "quarantine_reason": fields.problem,
                }
                if fields.problem is None:
                    values.update(status=PENDING, batch_id=None, replays=events.c.replays + 1)
                    released += 1
                else:
                    kept += 1
                conn.execute(
                    update(events)
                    .where(events.c.id == row.id, events.c.status == QUARANTINED)
                    .values(**values)
                )
    return {"released": released, "still_quarantined": kept}
