"""Airflow import error naming every broken Acme ERP instance file (no DAGs live here)."""

from acme_erp_integration.dags import FACTORY

FACTORY.report_broken_instances(__file__)
