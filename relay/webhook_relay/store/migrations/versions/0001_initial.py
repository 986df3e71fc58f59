"""Events, batches and per-route settings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "relay_events",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(200)),
        sa.Column("object_id", sa.String(255)),
        sa.Column("occurred_at", sa.String(64)),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("batch_id", sa.String(64)),
        sa.Column("replays", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("route", "webhook_id", name="uq_relay_events_route_webhook_id"),
    )
    op.create_index("ix_relay_events_status_route_id", "relay_events", ["status", "route", "id"])
    op.create_index("ix_relay_events_batch_id", "relay_events", ["batch_id"])
    op.create_table(
        "relay_batches",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("dag_run_id", sa.String(250), nullable=False),
        sa.Column("conf", sa.Text, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("dispatched_at", sa.Float),
    )
    op.create_index(
        "ix_relay_batches_status_next_attempt", "relay_batches", ["status", "next_attempt_at"]
    )
    op.create_index("ix_relay_batches_route_created", "relay_batches", ["route", "created_at"])
    op.create_table(
        "relay_route_settings",
        sa.Column("route", sa.String(200), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("relay_route_settings")
    op.drop_table("relay_batches")
    op.drop_table("relay_events")
