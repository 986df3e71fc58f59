"""The read-only pages: instance list and instance detail, rendered from the lifecycle service."""

from __future__ import annotations

import re

from acme_erp_integration.definition import ACME_ERP, SYNC_CUSTOMERS
from tests.platform.plugins.support import ADMIN, HTML, VIEWER, deploy_fixture_instance


def test_empty_list_offers_the_wizard_to_deployers(client_as):
    page = client_as(ADMIN).get("/integrations/", headers=HTML)
    assert page.status_code == 200
    assert "No instances yet" in page.text
    assert 'href="/integrations/new?integration=acme-erp"' in page.text


def test_viewers_are_not_offered_the_wizard(client_as):
    page = client_as(VIEWER).get("/integrations/", headers=HTML)
    assert page.status_code == 200
    assert "/integrations/new" not in page.text


def test_list_shows_each_instance_with_its_flows_last_runs_and_dag_links(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/", headers=HTML).text
    assert "Shop One" in page
    assert 'class="badge active"' in page
    sync_dag = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
    assert f'href="/dags/{sync_dag}"' in page  # Airflow's own DAG page, outside the iframe
    assert 'target="_top"' in page
    row = page[page.index("<tbody>") :]
    assert row.count('class="badge success"') == 1  # Initialization's last run
    assert row.count('class="badge failed"') == 1  # Sync Customer Data's last run
    assert row.count("no runs yet") == 3  # inventory sync, drift repair and teardown


def test_detail_shows_webhook_urls_with_copy_buttons(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text
    for flow in ("sync-customer-data", "sync-inventory-data"):
        url = f"http://relay.test/hooks/acme-erp/shop-1/{flow}"
        assert re.search(rf'value="{re.escape(url)}" data-webhook="{flow}"', page)
    assert page.count("data-copy=") == 2


def test_detail_masks_secrets_and_shows_config(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(ADMIN).get("/integrations/instances/shop-1", headers=HTML).text
    assert "tenant-1" in page
    assert "https://acme_connection.example.com" in page  # hosts: readable for op and above
    assert "acme_erp__shop-1" in page
    assert "s3cret-api-key" not in page
    assert page.count("••••••••") == 2


def test_detail_hides_connection_fields_from_users_who_may_not_read_connections(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text
    assert "acme_erp__shop-1" in page
    assert "acme_connection.example.com" not in page
    assert not any(path.startswith("/api/v2/connections") for _, path in fake_airflow.requests)


def test_detail_lists_recent_executions_of_all_flows_with_run_and_log_links(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text
    rows = re.findall(r'<tr data-flow="([a-z-]+)" data-state="([a-z_]+)">', page)
    assert rows == [("sync-customer-data", "failed"), ("initialization", "success")]  # newest first
    sync_dag = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
    # The log link points at the task that failed, not just the run.
    assert f'href="/dags/{sync_dag}/runs/relay__batch_7/tasks/upsert_customers"' in page
    assert f'href="/dags/{sync_dag}/runs/relay__batch_7"' in page
    assert "webhook batch (2 events)" in page
    assert "42 s" in page


def test_viewer_sees_no_action_buttons(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text
    for action in ("/pause", "/redeploy", "/remove", "/test", "/edit"):
        assert f"/integrations/instances/shop-1{action}" not in page


def test_admin_sees_every_action(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(ADMIN).get("/integrations/instances/shop-1", headers=HTML).text
    for action in ("/pause", "/redeploy", "/remove", "/test", "/edit"):
        assert f"/integrations/instances/shop-1{action}" in page


def test_names_with_html_are_escaped_everywhere(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow, customer='<script>alert("x")</script> & Co')
    for path in (
        "/integrations/",
        "/integrations/instances/shop-1",
        "/integrations/instances/shop-1/remove",
    ):
        page = client_as(ADMIN).get(path, headers=HTML).text
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page


def test_unknown_instance_is_a_404_naming_the_known_ones(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/nope", headers=HTML)
    assert page.status_code == 404
    assert "no instance &#39;nope&#39;; valid instances: shop-1" in page.text


def test_errors_are_json_for_scripts(client_as):
    response = client_as(VIEWER).get(
        "/integrations/instances/nope", headers={"Accept": "application/json"}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "no instance 'nope'; valid instances: none"}


def test_broken_instance_files_are_reported_not_hidden(
    client_as, store, fake_airflow, instances_dir
):
    deploy_fixture_instance(store, fake_airflow)
    (instances_dir / "broken.yaml").write_text("id: broken\ncustomer: [\n")
    page = client_as(VIEWER).get("/integrations/", headers=HTML).text
    assert "broken.yaml" in page
    assert "Shop One" in page


def test_static_assets_are_served_locally(client_as):
    client = client_as(VIEWER)
    css = client.get("/integrations/static/integrations.css")
    assert css.status_code == 200
    assert "prefers-color-scheme: dark" in css.text
    page = client.get("/integrations/", headers=HTML).text
    assert "http://" not in page.split("<body>")[0]
    assert "https://" not in page.split("<body>")[0]


def test_a_flow_whose_last_run_is_older_than_a_full_page_still_shows_it(
    client_as, store, fake_airflow
):
    deploy_fixture_instance(store, fake_airflow)
    busy = ACME_ERP.dag_id("shop-1", SYNC_CUSTOMERS)
    for index in range(100):  # a full page of newer runs of another flow
        fake_airflow.add_run(busy, f"relay__batch_{100 + index}", "success", minutes_ago=1)
    page = client_as(VIEWER).get("/integrations/", headers=HTML).text
    row = page[page.index("<tbody>") :]
    assert row.count("no runs yet") == 3  # Initialization's old run is still found


def test_detail_shows_how_many_events_the_relay_holds_per_flow(
    client_as, store, fake_airflow, monkeypatch
):
    # The relay's side of `held` is tested on the real stack (tests/e2e/test_relay_registry.py);
    # here only that the page shows what the service reports, per webhook flow.
    from integration_platform.lifecycle.relay_control import InstanceRoutes

    monkeypatch.setattr(InstanceRoutes, "held", lambda self, _id: {"sync-customer-data": 7})
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(VIEWER).get("/integrations/instances/shop-1", headers=HTML).text
    assert re.search(r'data-held="sync-customer-data">7 event\(s\) held in the relay', page)
    assert 'data-held="sync-inventory-data"' not in page  # unknown: not shown as 0
