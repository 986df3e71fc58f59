"""Drift repair: the wizard page, the schedule the factory gives the repair DAG, the state
check that keeps a repair from racing a deploy or a removal, and the report's contract."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.definitions.timetables.trigger import DeltaTriggerTimetable
from airflow.sdk.exceptions import AirflowSkipException

from acme_erp_integration.dags import FACTORY
from acme_erp_integration.definition import ACME_ERP, DRIFT_REPAIR
from acme_erp_integration.flows import repair_report_of_summary
from integration_platform.integrations import drift
from integration_platform.integrations.instances import Instance
from integration_platform.integrations.model import TriggerKind
from integration_platform.integrations.notifiers import FlowFailureNotifier
from integration_platform.integrations.relay import RouteSecretResolver
from tests.dags.support import instance_data, write_instance


def _instance(**config) -> Instance:
    return Instance(**instance_data("shop-9", "Shop Nine", **config)).check_against(ACME_ERP)


def _repair_dag(instance: Instance, instances_dir: Path | None = None):
    return FACTORY.build_dag(instance, ACME_ERP.flow(DRIFT_REPAIR), instances_dir)


def test_the_integration_declares_one_repair_flow_and_an_hourly_default() -> None:
    assert [f.slug for f in ACME_ERP.flows_triggered_by(TriggerKind.REPAIR)] == [DRIFT_REPAIR]
    variable = ACME_ERP.variable(drift.DRIFT_REPAIR_MINUTES)
    assert (variable.default, variable.required) == (60, False)
    assert drift.drift_defaults() == {drift.DRIFT_REPAIR_MINUTES: 60}


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (None, None),
        (0, None),
        (-5, None),
        (60, timedelta(hours=1)),
        (0.5, timedelta(seconds=30)),
    ],
)
def test_interval_from_the_instance_config(minutes, expected) -> None:
    config = {} if minutes is None else {drift.DRIFT_REPAIR_MINUTES: minutes}
    assert drift.interval(config) == expected


def test_the_repair_dag_runs_hourly_by_default_one_run_at_a_time() -> None:
    dag = _repair_dag(_instance())
    assert dag.dag_id == "acme_erp__shop_9__webhook_drift_repair"
    assert isinstance(dag.timetable, DeltaTriggerTimetable)
    assert dag.schedule == timedelta(hours=1)
    assert (dag.max_active_runs, dag.catchup, dag.is_paused_upon_creation) == (1, False, False)
    assert "flow:webhook-drift-repair" in dag.tags
    assert "drift-repair interval" in dag.doc_md


def test_an_instance_overrides_the_interval_and_zero_means_only_when_triggered() -> None:
    assert _repair_dag(_instance(drift_repair_minutes=5)).schedule == timedelta(minutes=5)
    assert _repair_dag(_instance(drift_repair_minutes=0)).schedule is None


def test_the_repair_reuses_initializations_reconcile_after_the_state_check() -> None:
    dag = _repair_dag(_instance())
    upstream = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert upstream == {
        "check_instance_active": [],
        "webhook_urls": ["check_instance_active"],  # not even the relay before the check
        "desired_webhooks": ["webhook_urls"],
        "repair_webhooks": ["desired_webhooks"],
        "repair_report": ["repair_webhooks"],
    }
    repair = dag.get_task("repair_webhooks")
    init = FACTORY.build_dag(_instance(), ACME_ERP.flow("initialization")).get_task(
        "ensure_webhooks"
    )
    assert type(repair) is type(init)
    assert (repair.managed_by, repair.acme_conn_id) == (init.managed_by, init.acme_conn_id)
    assert isinstance(repair.secret_resolver, RouteSecretResolver)  # masks what it resolves
    assert drift.REPORT_TASK_ID == "repair_report"


def test_a_failing_repair_alerts_like_every_other_flow() -> None:
    quiet = _repair_dag(_instance())
    assert all(not t.on_failure_callback for t in quiet.tasks)
    dag = _repair_dag(_instance(alert_emails=["ops@shop9.example"]))
    for task in dag.tasks:
        [notifier] = task.on_failure_callback
        assert isinstance(notifier, FlowFailureNotifier)
        assert (notifier.flow, notifier.customer) == ("Webhook drift repair", "Shop Nine")
        assert notifier.destinations.emails == ("ops@shop9.example",)


@pytest.mark.parametrize("state", ["active", "paused"])
def test_the_check_lets_an_instance_whose_deploy_succeeded_be_repaired(
    tmp_path: Path, state: str
) -> None:
    write_instance(tmp_path, {**instance_data("shop-9"), "state": state})
    assert drift.check_instance_state(tmp_path, ACME_ERP, "shop-9") == state


@pytest.mark.parametrize("state", ["deploying", "removing", "failed"])
def test_the_check_skips_while_deploying_removing_or_failed(tmp_path: Path, state: str) -> None:
    write_instance(tmp_path, {**instance_data("shop-9"), "state": state})
    with pytest.raises(AirflowSkipException, match=f"shop-9 is {state}: drift repair waits"):
        drift.check_instance_state(tmp_path, ACME_ERP, "shop-9")


def test_the_check_skips_a_removed_instance(tmp_path: Path) -> None:
    with pytest.raises(AirflowSkipException, match="shop-9 is removed"):
        drift.check_instance_state(tmp_path, ACME_ERP, "shop-9")


def test_the_reconcile_summary_becomes_the_platforms_report() -> None:
    summary = {
        "created": ["sync-inventory-data"],
        "updated": ["sync-customer-data"],
        "adopted": [],
        "deleted": ["wh_dup"],
        "unchanged": [],
    }
    value = repair_report_of_summary(summary)
    assert value == {
        "driftRepair": {
            "missing": ["sync-inventory-data"],
            "changed": ["sync-customer-data"],
            "foreign": [],
            "removed": 1,
            "unchanged": [],
        }
    }
    report = drift.repair_report_of(value)
    assert report is not None
    assert report.repaired == 3
    assert report.summary == "repaired: 1 missing, 1 changed, 1 duplicate(s) removed"


def test_report_summaries_and_what_is_not_a_report() -> None:
    assert drift.RepairReport(unchanged=("a", "b")).summary == "nothing to repair"
    assert drift.RepairReport(foreign=("a",)).summary == "repaired: 1 foreign-owned"
    for value in (None, {}, {"webhookUrls": {}}, {"driftRepair": ["x"]}, "driftRepair"):
        assert drift.repair_report_of(value) is None
    odd = drift.repair_report_of({"driftRepair": {"missing": "a", "removed": "2"}})
    assert odd == drift.RepairReport()  # wrong shapes count as nothing, never raise
