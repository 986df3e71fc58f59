"""A test run's result page: the counts its tasks returned, its tasks, and its conf."""

from __future__ import annotations

import re

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from tests.platform.plugins.support import ADMIN, HTML, VIEWER, deploy_fixture_instance

RUN = "test__20261202T011500__ab12cd34"
COUNTS = {
    "events": 3,
    "objects": 3,
    "quarantined": 0,
    "fetched": 3,
    "missing": 0,
    "batches": 2,
    "created": 1,
    "updated": 1,
    "stale": 1,
    "filtered": 0,
    "invalid": 0,
}


def _test_run(store, fake_airflow) -> str:
    deploy_fixture_instance(store, fake_airflow)
    dag_id = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
    fake_airflow.add_run(
        dag_id,
        RUN,
        "success",
        minutes_ago=1,
        conf={"events": [], "sample_recent": 3},
        tasks={"sync_customers": "success"},
    )
    fake_airflow.xcoms[(dag_id, RUN, "sync_customers")] = COUNTS
    return f"/integrations/instances/shop-1/tests/{SYNC_CUSTOMERS}/{RUN}"


def test_the_result_page_shows_the_counts_headline_first(client_as, store, fake_airflow):
    page = client_as(VIEWER).get(_test_run(store, fake_airflow), headers=HTML)
    assert page.status_code == 200
    headers = re.findall(r"<th>([a-z]+)</th>", page.text.split('class="counts"')[1])
    assert headers[:6] == ["fetched", "created", "updated", "stale", "missing", "quarantined"]
    assert set(headers) == set(COUNTS)
    cells = re.findall(r"<td>(\d+)</td>", page.text.split('class="counts"')[1])
    assert [int(c) for c in cells[:6]] == [3, 1, 1, 1, 0, 0]
    assert "most recently changed objects" in page.text
    assert "sync_customers" in page.text


def test_only_test_runs_of_the_instance_have_a_result_page(client_as, store, fake_airflow):
    _test_run(store, fake_airflow)
    client = client_as(ADMIN)
    relay_run = f"/integrations/instances/shop-1/tests/{SYNC_CUSTOMERS}/relay__batch_7"
    assert client.get(relay_run, headers=HTML).status_code == 400
    unknown = f"/integrations/instances/shop-1/tests/{SYNC_CUSTOMERS}/test__nope"
    assert client.get(unknown, headers=HTML).status_code == 400
