"""Tables. Times are epoch seconds (float): cheap to write on the hot path, easy to compare.

Event lifecycle: pending -> batched -> dispatched | dead (a replay puts it back to pending);
retiring a route marks its pending and batched events `discarded`.
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
    UniqueConstraint("route", "webhook_id", name="uq_relay_events_route_webhook_id"),
    Index("ix_relay_events_status_route_id", "status", "route", "id"),
    Index("ix_relay_events_batch_id", "batch_id"),
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
