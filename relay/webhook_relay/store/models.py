"""Tables. Times are epoch seconds (float): cheap to write on the hot path, easy to compare.

Event lifecycle (the `status` column): pending -> dispatched | dead (a replay puts it back to
pending); dispatched -> pruned (payload dropped after the retention period, row kept for
deduplication, then deleted). An event whose thin fields fail the contract is stored as
quarantined, with its reason, and never batched; a quarantine replay re-checks it and makes
it pending. A claim writes each event row once (status `dispatched`, `batch_id`); from then on
the event's state is its batch's: while the batch is open the event is reported as `batched`,
and closing a batch as dispatched touches no event row (only a dead or split batch rewrites
its events). Rows written before migration 0003 with `batched` are converted by it.
Batch lifecycle: open -> dispatched | dead | split. An open batch is sent by whoever holds its
lease; an expired lease (a dispatcher died) makes it claimable again, with the same run id.
A batch whose conf Airflow refused is `split` into two new open batches (bisection).
Run tracking (`run_state`): `sending` while open, `queued` once Airflow accepted the run,
`running` once Airflow started it, NULL when finished (or never tracked): the dispatcher's
flow control counts a route's `sending` + `queued` batches as its runs waiting to start.
Retiring a route marks its pending events and those of its open batches `discarded`, and
its open batches `discarded`.
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
    text,
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
    Column("run_state", String(16)),
    Column("run_state_at", Float),
    Column("parent_id", String(64)),
    Index("ix_relay_batches_status_next_attempt", "status", "next_attempt_at"),
    Index("ix_relay_batches_route_created", "route", "created_at"),
    Index(
        "ix_relay_batches_tracked",
        "route",
        "run_state",
        sqlite_where=text("run_state IS NOT NULL"),
        postgresql_where=text("run_state IS NOT NULL"),
    ),
)

route_settings = Table(
    "relay_route_settings",
    metadata,
    Column("route", String(200), primary_key=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("updated_at", Float, nullable=False),
)

# The route registry: a route is `active` (ingest accepts it) or `retired` (410 Gone).
routes = Table(
    "relay_routes",
    metadata,
    Column("route", String(200), primary_key=True),
    Column("dag_id", String(250), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("retired_at", Float),
)

# A route's signing secrets, Fernet-encrypted. The current one has no `expires_at`; a
# rotation gives the previous ones an expiry, after which they stop verifying.
route_secrets = Table(
    "relay_route_secrets",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=True),
    Column("route", String(200), nullable=False),
    Column("secret_encrypted", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Index("ix_relay_route_secrets_route", "route"),
)

# One row (id 1): bumped by every registry change, so every relay process drops its
# cached lookups within one poll interval.
registry_version = Table(
    "relay_registry_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
)
