"""Airflow DAGs of the audit-log test integration's instances (a single shard)."""

from audit_log_integration.dags import FACTORY

FACTORY.populate_shard(__file__, globals())
