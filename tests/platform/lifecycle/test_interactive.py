"""The interactive deploy walks the wizard's pages and builds a request deploy accepts."""

from __future__ import annotations

from acme_erp_integration.definition import ACME_ERP, LIMITS_PAGE
from integration_platform.integrations.alerts import alert_defaults
from integration_platform.integrations.drift import drift_defaults
from integration_platform.integrations.instances import Instance, InstanceState
from integration_platform.integrations.limits import limit_defaults
from integration_platform.lifecycle.interactive import walk_wizard
from integration_platform.lifecycle.request import plan_deploy


class ScriptedPrompter:
    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.headings: list[str] = []
        self.asked: list[tuple[str, bool]] = []

    def heading(self, title: str, description: str) -> None:
        self.headings.append(title)

    def _answer(self, label: str, default: object) -> object:
        for key, value in self.answers.items():
            if label.startswith(key):
                return value
        return default

    def text(self, label: str, *, default: str | None, secret: bool, help: str) -> str:
        self.asked.append((label, secret))
        return str(self._answer(label, default) or "")

    def confirm(self, label: str, *, default: bool, help: str) -> bool:
        self.asked.append((label, False))
        return bool(self._answer(label, default))


ANSWERS = {
    "Customer name": "Shop One",
    "Acme ERP connection: Acme API base URL": "https://acme.example.com",
    "Acme ERP connection: API key": "sk_acme",
    "Progix connection: Progix API base URL": "https://progix.example.com",
    "Progix connection: Progix API key": "pk",
    "Progix tenant": "shop-1",
    "Warehouses to sync": "main, north",
    "Backfill existing records on deploy": True,
}


def test_a_first_deploy_asks_every_variable_page_by_page_and_hides_secrets():
    prompter = ScriptedPrompter(ANSWERS)

    request = walk_wizard(ACME_ERP, prompter)
    plan = plan_deploy(ACME_ERP, "shop-1", request, is_redeploy=False, environ={})

    assert prompter.headings == [page.title for page in ACME_ERP.pages]
    secret_prompts = {label for label, secret in prompter.asked if secret}
    assert secret_prompts == {"Acme ERP connection: API key", "Progix connection: Progix API key"}
    assert plan.config == {
        "progix_tenant": "shop-1",
        "warehouses": ["main", "north"],
        "backfill_on_deploy": True,
        "sync_page_size": 100,
        "invalid_records": "fail",
        **alert_defaults(),
        **limit_defaults(LIMITS_PAGE),
        **drift_defaults(),
    }
    assert plan.connections[0].fields == {"host": "https://acme.example.com", "password": "sk_acme"}


def test_a_redeploy_offers_current_values_and_keeps_secrets_left_empty():
    existing = Instance(
        id="shop-1",
        integration="acme-erp",
        customer="Shop One",
        generation=2,
        state=InstanceState.ACTIVE,
        config={
            "progix_tenant": "shop-1",
            "warehouses": ["main"],
            "backfill_on_deploy": False,
            "sync_page_size": 100,
            "invalid_records": "fail",
            **alert_defaults(),
            **limit_defaults(LIMITS_PAGE),
            **drift_defaults(),
        },
        connections={"acme_connection": "acme_erp__shop-1", "progix_connection": "progix__shop-1"},
    )
    hosts = {
        "acme_connection": "https://acme.example.com",
        "progix_connection": "https://p.example.com",
    }
    prompter = ScriptedPrompter({})  # accept every default

    request = walk_wizard(
        ACME_ERP, prompter, existing=existing, existing_hosts=lambda key: {"host": hosts[key]}
    )
    plan = plan_deploy(ACME_ERP, "shop-1", request, is_redeploy=True, environ={})

    assert request.customer == "Shop One"
    assert plan.config == existing.config
    assert [c.kept_fields for c in plan.connections] == [("password",), ("password",)]
    assert plan.connections[1].fields == {"host": "https://p.example.com"}


def test_alert_destinations_and_numbers_are_asked_and_typed():
    answers = {
        **ANSWERS,
        "Alert emails": "ops@shop.example, oncall@shop.example",
        "Group repeated failures (minutes)": "5",
        "Initialization deadline (minutes)": "2.5",
    }
    request = walk_wizard(ACME_ERP, ScriptedPrompter(answers))
    plan = plan_deploy(ACME_ERP, "shop-1", request, is_redeploy=False, environ={})

    assert plan.config["alert_emails"] == ["ops@shop.example", "oncall@shop.example"]
    assert plan.config["alert_window_minutes"] == 5
    assert plan.config["initialization_deadline_minutes"] == 2.5


def test_a_secret_variable_is_asked_without_echo_and_kept_when_left_empty_on_redeploy():
    from audit_log_integration.definition import AUDIT_LOG, ID_HASH_KEY
    from integration_platform.integrations.secrets import expected_connection_ids

    answers = {
        "Customer name": "Audit One",
        "Acme ERP connection: Acme API base URL": "https://acme.example.com",
        "Acme ERP connection: API key": "sk_acme",
        "Pseudonymisation key": "the-hmac-key",
    }
    prompter = ScriptedPrompter(answers)
    request = walk_wizard(AUDIT_LOG, prompter)
    plan = plan_deploy(AUDIT_LOG, "audit-one", request, is_redeploy=False, environ={})

    assert ("Pseudonymisation key", True) in prompter.asked
    assert ID_HASH_KEY not in plan.config
    secret = next(c for c in plan.connections if c.variable == ID_HASH_KEY)
    assert secret.fields == {"password": "the-hmac-key"}

    existing = Instance(
        id="audit-one",
        integration=AUDIT_LOG.slug,
        customer="Audit One",
        generation=1,
        connections=expected_connection_ids(AUDIT_LOG, "audit-one"),
    )
    again = ScriptedPrompter({"Pseudonymisation key": ""})
    request = walk_wizard(
        AUDIT_LOG,
        again,
        existing=existing,
        existing_hosts=lambda key: {"host": "https://acme.example.com"},
    )
    plan = plan_deploy(AUDIT_LOG, "audit-one", request, is_redeploy=True, environ={})
    assert ("Pseudonymisation key (empty keeps the current value)", True) in again.asked
    kept = next(c for c in plan.connections if c.variable == ID_HASH_KEY)
    assert (kept.fields, kept.kept_fields) == ({}, ("password",))
