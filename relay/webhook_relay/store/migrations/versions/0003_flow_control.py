"""Flow control: track each batch's DAG run state; events are written once per claim.

Revision ID: 0003
Revises: 0001

Adds `relay_batches.run_state` (sending, queued, running; NULL when finished),
`run_state_at` and `parent_id` (a batch split from a refused one), with a partial index on the
tracked batches. Events that were `batched` (claimed, batch still open) become `dispatched`:
from now on an event in a batch takes its state from the batch.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TRACKED = sa.text("run_state IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("relay_batches") as batch:
        batch.add_column(sa.Column("run_state", sa.String(16)))
        batch.add_column(sa.Column("run_state_at", sa.Float))
        batch.add_column(sa.Column("parent_id", sa.String(64)))
    op.create_index(
        "ix_relay_batches_tracked",
        "relay_batches",
        ["route", "run_state"],
        sqlite_where=TRACKED,
        postgresql_where=TRACKED,
    )
    op.execute("UPDATE relay_batches SET run_state = 'sending' WHERE status = 'open'")
    op.execute("UPDATE relay_events SET status = 'dispatched' WHERE status = 'batched'")


def downgrade() -> None:
    op.execute(
        "UPDATE relay_events SET status = 'batched' WHERE status = 'dispatched' AND batch_id IN "
        "(SELECT id FROM relay_batches WHERE status = 'open')"
    )
    op.drop_index("ix_relay_batches_tracked", table_name="relay_batches")
    with op.batch_alter_table("relay_batches") as batch:
        batch.drop_column("parent_id")
        batch.drop_column("run_state_at")
        batch.drop_column("run_state")
