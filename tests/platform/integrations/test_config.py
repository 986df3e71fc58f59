"""Config values are validated against the wizard: defaults, unknown keys, types, required."""

from __future__ import annotations

import pytest

from acme_erp_integration import ACME_ERP
from acme_erp_integration.definition import LIMITS_PAGE
from integration_platform.integrations.alerts import alert_defaults
from integration_platform.integrations.config import ConfigError, validate_config
from integration_platform.integrations.drift import drift_defaults
from integration_platform.integrations.limits import limit_defaults


def test_defaults_are_applied() -> None:
    assert validate_config(ACME_ERP, {"progix_tenant": "t1"}) == {
        "progix_tenant": "t1",
        "warehouses": [],
        "backfill_on_deploy": False,
        "sync_page_size": 100,
        "invalid_records": "fail",
        **alert_defaults(),
        **limit_defaults(LIMITS_PAGE),
        **drift_defaults(),
    }


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"progix_tenant": "t", "colour": "red"}, "config.colour", "unknown key"),
        ({"progix_tenant": "t", "warehouses": "north"}, "config.warehouses", "valid list"),
        (
            {"progix_tenant": "t", "backfill_on_deploy": "maybe"},
            "config.backfill_on_deploy",
            "boolean",
        ),
        ({}, "config.progix_tenant", "required"),
        ({"progix_tenant": ""}, "config.progix_tenant", "at least 1 character"),
    ],
)
def test_each_bad_value_is_one_error_naming_field_and_reason(values, field, reason) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(ACME_ERP, values)
    assert len(caught.value.errors) == 1
    error = caught.value.errors[0]
    assert error.field == field
    assert reason in error.reason


def test_secrets_cannot_be_smuggled_into_config() -> None:
    with pytest.raises(ConfigError, match=r"config\.acme_connection: unknown key"):
        validate_config(ACME_ERP, {"progix_tenant": "t", "acme_connection": "sk_live_123"})
