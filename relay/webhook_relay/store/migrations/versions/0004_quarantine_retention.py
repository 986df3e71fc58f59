"""Quarantined events keep their reason; pruned events keep only what deduplication needs.

Revision ID: 0004
Revises: 0001

New event statuses (no schema change needed, `status` is a string): `quarantined` (stored,
never batched: its thin fields fail the contract) and `pruned` (dispatched, payload dropped).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("relay_events") as batch:
        batch.add_column(sa.Column("quarantine_reason", sa.Text))
    op.create_index("ix_relay_events_status_received", "relay_events", ["status", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_relay_events_status_received", "relay_events")
    with op.batch_alter_table("relay_events") as batch:
        batch.drop_column("quarantine_reason")
