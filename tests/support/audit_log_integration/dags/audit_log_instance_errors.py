"""Airflow import error naming every broken instance file (no DAGs live here)."""

from audit_log_integration.dags import FACTORY

FACTORY.report_broken_instances(__file__)
