"""Tables. Times are epoch seconds (float): cheap to write on the hot path, easy to compare.

Event lifecycle: pending -> batched -> dispatched | dead (a replay puts it back to pending);
dispatched -> pruned (payload dropped after the retention period, row kept for deduplication,
then deleted). An event whose thin fields fail the contract is stored as quarantined, with
its reason, and never batched; a quarantine replay re-checks it and makes it pending.
Batch lifecycle: open -> dispatched | dead. An open batch is sent by whoever holds its lease;
an expired lease (a dispatcher died) makes it claimable again, with the same run id.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

EventId = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "relay_events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("route", String(200), nullable=False),
    Column("webhook_id", String(255), nullable=False),
    Column("event_type", String(200)),
    Column("object_id", String(255)),
    Column("occurred_at", String(64)),
    Column("payload", Text, nullable=False),
    Column("received_at", Float, nullable=False),
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("batch_id", String(64)),
    Column("replays", Integer, nullable=False, server_default="0"),
    Column("quarantine_reason", Text),
    UniqueConstraint("route", "webhook_id", name="uq_relay_events_route_webhook_id"),
    Index("ix_relay_events_status_route_id", "status", "route", "id"),
    Index("ix_relay_events_batch_id", "batch_id"),
    Index("ix_relay_events_status_received", "status", "received_at"),
)

batches = Table(
    "relay_batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("route", String(200), nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("dag_run_id", String(250), nullable=False),
    Column("conf", Text, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("dispatched_at", Float),
    Index("ix_relay_batches_status_next_attempt", "status", "next_attempt_at"),
    Index("ix_relay_batches_route_created", "route", "created_at"),
)

route_settings = Table(
    "relay_route_settings",
    metadata,
    Column("route", String(200), primary_key=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("updated_at", Float, nullable=False),
)
