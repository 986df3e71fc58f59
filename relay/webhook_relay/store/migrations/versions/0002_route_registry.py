"""The route registry: routes, their encrypted secrets, and the registry version counter.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SecretId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "relay_routes",
        sa.Column("route", sa.String(200), primary_key=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("retired_at", sa.Float),
    )
    op.create_table(
        "relay_route_secrets",
        sa.Column("id", SecretId, primary_key=True, autoincrement=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("secret_encrypted", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float),
    )
    op.create_index("ix_relay_route_secrets_route", "relay_route_secrets", ["route"])
    version = op.create_table(
        "relay_registry_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("relay_registry_version")
    op.drop_index("ix_relay_route_secrets_route", "relay_route_secrets")
    op.drop_table("relay_route_secrets")
    op.drop_table("relay_routes")
