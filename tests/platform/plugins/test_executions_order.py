"""The instance page's executions: newest first, and a queued run shows no start time."""

from __future__ import annotations

import re
from datetime import timedelta

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from tests.platform.plugins.fake_airflow import NOW
from tests.platform.plugins.support import ADMIN, HTML, deploy_fixture_instance
from tests.support import airflow_payloads


def test_executions_are_newest_first_and_queued_runs_have_no_start(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)  # runs 30 and 5 minutes ago
    dag_id = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
    queued_at = (NOW + timedelta(minutes=1)).isoformat()
    fake_airflow.runs.append(
        airflow_payloads.dag_run(
            dag_id, "relay__batch_9", state="queued", queued_at=queued_at, run_after=queued_at
        )
    )
    fake_airflow.add_run(dag_id, "relay__batch_3", "success", minutes_ago=60)
    page = client_as(ADMIN).get("/integrations/instances/shop-1", headers=HTML).text
    order = re.findall(r"(relay__batch_\d+|deploy__generation_\d+)", page)
    seen = list(dict.fromkeys(order))
    assert seen == ["relay__batch_9", "relay__batch_7", "deploy__generation_2", "relay__batch_3"]
    at = page.index("relay__batch_9")
    queued_row = page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]
    assert NOW.strftime("%H:%M") not in queued_row
    assert (NOW + timedelta(minutes=1)).strftime("%H:%M") not in queued_row
