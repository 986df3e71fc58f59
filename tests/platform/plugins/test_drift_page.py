"""The instance page (and `status`) say what drift repair last found, from its runs' XComs."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP, DRIFT_REPAIR
from integration_platform.integrations.drift import REPORT_TASK_ID, repair_report
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.drift_status import drift_lines, drift_status
from tests.platform.plugins.fake_airflow import FakeAirflow
from tests.platform.plugins.support import HTML, VIEWER, deploy_fixture_instance

DAG_ID = ACME_ERP.dag_id("shop-1", DRIFT_REPAIR)


def _check(fake: FakeAirflow, run_id: str, minutes_ago: int, state: str = "success", **report):
    fake.add_run(DAG_ID, run_id, state, minutes_ago=minutes_ago)
    if report:
        fake.xcoms[(DAG_ID, run_id, REPORT_TASK_ID)] = repair_report(**report)


def _status(fake: FakeAirflow):
    with AirflowClient("http://airflow.test", "admin", "pw", transport=fake.transport()) as client:
        return drift_status(client, DAG_ID)


def test_the_page_shows_the_last_check_and_the_last_repair_with_links(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    _check(fake_airflow, "scheduled__a", 120, missing=["sync-inventory-data"])
    _check(
        fake_airflow,
        "scheduled__b",
        60,
        missing=["sync-inventory-data"],
        changed=["sync-customer-data"],
    )
    _check(fake_airflow, "scheduled__c", 1, unchanged=["sync-customer-data"])

    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text

    card = page[page.index('data-drift="webhook-drift-repair"') :]
    card = card[: card.index("</section>")]
    assert "Webhook drift repair" in card
    assert "every 60 min" in card
    last_check = card[card.index('data-drift-line="last check"') :]
    assert "nothing to repair" in last_check.split("</dd>")[0]
    assert f"/dags/{DAG_ID}/runs/scheduled__c" in last_check.split("</dd>")[0]
    last_repair = card[card.index('data-drift-line="last repair"') :].split("</dd>")[0]
    assert "repaired: 1 missing, 1 changed" in last_repair
    assert f"/dags/{DAG_ID}/runs/scheduled__b" in last_repair


def test_a_failed_or_skipped_check_says_so_and_the_repair_before_it_stays_visible():
    fake = FakeAirflow()
    fake.add_instance_dags(ACME_ERP, "shop-1")
    assert drift_lines(_status(fake)) == [("last check", "none yet")]

    _check(fake, "scheduled__a", 30, foreign=["sync-customer-data"])
    _check(fake, "scheduled__b", 20)  # the state check skipped it: no report
    status = _status(fake)
    assert status.last_check is not None
    assert (status.last_check.state, status.last_check.summary) == (
        "skipped",
        "skipped (the instance was not active)",
    )
    assert status.last_repair is not None
    assert status.last_repair.run_id == "scheduled__a"
    assert status.last_repair.summary == "repaired: 1 foreign-owned"

    _check(fake, "scheduled__c", 10, state="failed")
    lines = dict(drift_lines(_status(fake)))
    assert lines["last check"].endswith(", failed")
    assert lines["last repair"].endswith(", repaired: 1 foreign-owned")


def test_checks_that_repaired_nothing_show_no_last_repair():
    fake = FakeAirflow()
    fake.add_instance_dags(ACME_ERP, "shop-1")
    for index in range(3):
        _check(fake, f"scheduled__{index}", 10 - index, unchanged=["sync-customer-data"])
    status = _status(fake)
    assert status.last_repair is None
    assert [label for label, _ in drift_lines(status)] == ["last check"]


def test_the_instance_api_reports_drift_repair_on_the_repair_flow(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    _check(fake_airflow, "scheduled__a", 5, missing=["sync-inventory-data"], removed=1)

    body = client_as(VIEWER).get("/integrations/api/v1/instances/shop-1").json()

    flows = {flow["slug"]: flow for flow in body["flows"]}
    assert flows["sync-customer-data"]["drift"] is None
    drift = flows[DRIFT_REPAIR]["drift"]
    assert drift["last_check"] == drift["last_repair"]
    assert drift["last_check"]["run_id"] == "scheduled__a"
    assert drift["last_check"]["missing"] == ["sync-inventory-data"]
    assert drift["last_check"]["removed"] == 1
    assert drift["last_check"]["summary"] == "repaired: 1 missing, 1 duplicate(s) removed"
