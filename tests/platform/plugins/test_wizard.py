"""The config wizard: one step per config page, inputs per variable kind, inline errors."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape

from acme_erp_integration.definition import ACME_ERP
from tests.platform.plugins.support import ADMIN, HTML, USER, VIEWER, deploy_fixture_instance

VALID_FORM = {
    "instance_id": "shop-2",
    "customer": "Shop Two",
    "conn.acme_connection.host": "https://acme.example.com",
    "conn.acme_connection.password": "acme-secret-key",
    "conn.progix_connection.host": "https://progix.example.com",
    "conn.progix_connection.password": "progix-secret-key",
    "config.progix_tenant": "tenant-2",
    "config.warehouses": "main\neast",
}


def _field_error(page: str, name: str) -> str:
    match = re.search(rf'<div class="field-error" id="{re.escape(name)}-error">([^<]*)</div>', page)
    assert match, f"no inline error for {name}"
    return match.group(1)


def test_one_step_per_config_page_with_headings_and_help(client_as):
    page = client_as(ADMIN).get("/integrations/new", headers=HTML).text
    assert page.count('<section class="step">') == 1 + len(ACME_ERP.pages)
    for config_page in ACME_ERP.pages:
        assert f"<h2>{config_page.title}</h2>" in page
        assert str(escape(config_page.description)) in page
    assert "Create an API key in Acme ERP under Settings &gt; API keys." in page


def test_inputs_follow_the_variable_kinds(client_as):
    page = client_as(ADMIN).get("/integrations/new", headers=HTML).text
    assert re.search(r'<input type="password"[^>]*name="conn.acme_connection.password"', page)
    assert re.search(r'<input type="password"[^>]*name="conn.progix_connection.password"', page)
    assert re.search(r'<input type="url"[^>]*name="conn.acme_connection.host"', page)
    assert re.search(r'<input type="checkbox"[^>]*name="config.backfill_on_deploy"', page)
    assert re.search(r'<textarea[^>]*name="config.warehouses"', page)
    assert re.search(r'<input type="text"[^>]*name="config.progix_tenant"', page)


@pytest.mark.parametrize("caller", [VIEWER, USER], ids=["viewer", "user-without-connections"])
def test_only_users_who_may_deploy_get_the_wizard(client_as, caller):
    client = client_as(caller)
    assert client.get("/integrations/new", headers=HTML).status_code == 403
    response = client.post("/integrations/new", data=VALID_FORM, headers=HTML)
    assert response.status_code == 403
    assert "may not" in response.text


def test_invalid_input_comes_back_inline_and_nothing_is_deployed(
    client_as, fake_airflow, instances_dir
):
    form = {
        **VALID_FORM,
        "instance_id": "Bad Id",
        "conn.acme_connection.host": "ftp://acme",
        "config.progix_tenant": "",
    }
    response = client_as(ADMIN).post("/integrations/new", data=form, headers=HTML)
    assert response.status_code == 400
    page = response.text
    assert "Nothing was deployed" in page
    assert "single dashes" in _field_error(page, "instance_id")
    assert "http:// or https://" in _field_error(page, "conn.acme_connection.host")
    assert _field_error(page, "config.progix_tenant")
    assert 'aria-invalid="true"' in page
    # Entered values come back, secrets do not.
    assert 'value="Shop Two"' in page
    assert "acme-secret-key" not in page
    assert "progix-secret-key" not in page
    # The steps holding errors are flagged so the wizard opens there.
    assert page.count('class="has-error"') == 3  # Instance, Acme ERP, Progix
    assert not list(instances_dir.glob("*.yaml"))
    assert fake_airflow.writes == []


def test_missing_secret_on_a_first_deploy_is_an_inline_error(client_as, fake_airflow):
    form = {**VALID_FORM, "conn.progix_connection.password": ""}
    response = client_as(ADMIN).post("/integrations/new", data=form, headers=HTML)
    assert response.status_code == 400
    assert "required" in _field_error(response.text, "conn.progix_connection.password")
    assert fake_airflow.writes == []


def test_an_existing_id_cannot_be_deployed_as_new(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    response = client_as(ADMIN).post(
        "/integrations/new", data={**VALID_FORM, "instance_id": "shop-1"}, headers=HTML
    )
    assert response.status_code == 400
    assert "edit it instead" in _field_error(response.text, "instance_id")
    assert fake_airflow.writes == []


def test_html_in_entered_values_is_escaped_when_shown_back(client_as):
    form = {**VALID_FORM, "instance_id": "<b>x</b>", "customer": '"><script>alert(1)</script>'}
    page = client_as(ADMIN).post("/integrations/new", data=form, headers=HTML).text
    assert "<script>alert(1)" not in page
    assert "<b>x</b>" not in page
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_edit_is_prefilled_from_the_instance_and_its_connections(client_as, store, fake_airflow):
    deploy_fixture_instance(store, fake_airflow)
    page = client_as(ADMIN).get("/integrations/instances/shop-1/edit", headers=HTML).text
    assert 'value="Shop One"' in page
    assert 'value="tenant-1"' in page
    assert 'value="https://acme_connection.example.com"' in page
    assert "s3cret-api-key" not in page
    assert "leave empty to keep the stored value" in page


def test_cross_site_form_posts_are_refused(client_as, fake_airflow):
    headers = {**HTML, "Origin": "https://evil.example"}
    response = client_as(ADMIN).post("/integrations/new", data=VALID_FORM, headers=headers)
    assert response.status_code == 403
    assert "cross-site" in response.text
    assert fake_airflow.requests == []


AUDIT_FORM = {
    "instance_id": "audit-2",
    "customer": "Audit Two",
    "conn.source_connection.host": "https://acme.example.com",
    "conn.source_connection.password": "acme-secret-key",
    "config.id_hash_key": "hash-key-NEVER-SHOWN",
}


def test_a_secret_variable_is_a_password_input_that_is_never_filled(client_as):
    page = client_as(ADMIN).get("/integrations/new?integration=audit-log", headers=HTML).text
    field = re.search(r'<input type="password"[^>]*name="config.id_hash_key"[^>]*>', page, re.S)
    assert field, "no password input for the secret variable"
    assert 'value=""' in field.group(0)
    assert "never in the instance file" in page


def test_a_secret_entered_with_a_bad_form_is_not_sent_back(client_as, fake_airflow):
    form = {**AUDIT_FORM, "conn.source_connection.host": "ftp://acme"}
    response = client_as(ADMIN).post(
        "/integrations/new?integration=audit-log", data=form, headers=HTML
    )
    assert response.status_code == 400
    assert "http:// or https://" in _field_error(response.text, "conn.source_connection.host")
    assert "hash-key-NEVER-SHOWN" not in response.text
    assert "Please enter it again" in response.text
    assert fake_airflow.writes == []


def test_a_missing_secret_is_an_inline_error_on_its_field(client_as, fake_airflow):
    form = {**AUDIT_FORM, "config.id_hash_key": ""}
    response = client_as(ADMIN).post(
        "/integrations/new?integration=audit-log", data=form, headers=HTML
    )
    assert response.status_code == 400
    assert "required (Pseudonymisation key)" in _field_error(response.text, "config.id_hash_key")
    assert fake_airflow.writes == []


def test_editing_shows_that_a_secret_is_set_and_an_empty_field_keeps_it(
    client_as, store, fake_airflow
):
    from audit_log_integration.definition import AUDIT_LOG
    from integration_platform.integrations.instances import Instance
    from integration_platform.integrations.secrets import expected_connection_ids
    from integration_platform.plugins.wizard_form import parse_wizard_form

    connections = expected_connection_ids(AUDIT_LOG, "audit-2")
    store.save(
        Instance(
            id="audit-2",
            integration=AUDIT_LOG.slug,
            customer="Audit Two",
            generation=1,
            connections=connections,
        )
    )
    for conn_id in connections.values():
        fake_airflow.connections[conn_id] = {
            "connection_id": conn_id,
            "conn_type": "generic",
            "host": "https://acme.example.com",
            "password": "stored-secret-NEVER-SHOWN",
        }
    page = (
        client_as(ADMIN)
        .get("/integrations/instances/audit-2/edit?integration=audit-log", headers=HTML)
        .text
    )
    assert "stored-secret-NEVER-SHOWN" not in page
    assert "set: leave empty to keep it" in page
    assert "A value is set; it is never shown" in page

    kept = parse_wizard_form(
        AUDIT_LOG, _Form({**AUDIT_FORM, "config.id_hash_key": ""}), editing="audit-2"
    )
    assert "id_hash_key" not in kept.config  # the redeploy keeps the stored secret
    replaced = parse_wizard_form(AUDIT_LOG, _Form(AUDIT_FORM), editing="audit-2")
    assert replaced.config["id_hash_key"] == "hash-key-NEVER-SHOWN"
    assert "hash-key-NEVER-SHOWN" not in str(replaced.shown_values(AUDIT_LOG))


class _Form(dict):
    def getlist(self, name: str) -> list[str]:
        value = self.get(name)
        return [] if value is None else [value]


def test_number_and_choice_settings_have_bounded_inputs(client_as):
    page = client_as(ADMIN).get("/integrations/new", headers=HTML).text
    size = re.search(r'<input type="number"[^>]*name="config.sync_page_size"[^>]*>', page)
    assert size, "no number input for the page size"
    assert 'min="1"' in size.group(0)
    assert 'max="100"' in size.group(0)
    assert 'step="1"' in size.group(0)
    policy = re.search(r'<select[^>]*name="config.invalid_records".*?</select>', page, re.S)
    assert policy, "no select for the invalid-records policy"
    assert '<option value="fail" selected>' in policy.group(0)
    assert '<option value="skip">' in policy.group(0)


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("config.sync_page_size", "500", "less than or equal to 100"),
        ("config.sync_page_size", "ten", "valid integer"),
        ("config.invalid_records", "maybe", "'fail' or 'skip'"),
    ],
)
def test_a_bad_number_or_choice_is_an_inline_error_on_its_field(
    client_as, fake_airflow, field, value, reason
):
    response = client_as(ADMIN).post(
        "/integrations/new", data={**VALID_FORM, field: value}, headers=HTML
    )
    assert response.status_code == 400
    assert reason in html.unescape(_field_error(response.text, field))
    assert fake_airflow.writes == []
