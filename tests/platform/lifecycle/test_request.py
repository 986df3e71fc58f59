"""Deploy request validation: every problem named by field, secrets never echoed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acme_erp_integration.definition import ACME_ERP, LIMITS_PAGE
from integration_contracts.ids import SEGMENT_RULE
from integration_platform.integrations.alerts import alert_defaults
from integration_platform.integrations.drift import drift_defaults
from integration_platform.integrations.limits import limit_defaults
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import DeployRequest, load_request_file, plan_deploy

SECRET = "sk_live_DO_NOT_PRINT_1234"


def request_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customer": "Shop One",
        "config": {"progix_tenant": "shop-1", "warehouses": ["main"]},
        "connections": {
            "acme_connection": {"host": "https://acme.example.com", "password": SECRET},
            "progix_connection": {"host": "http://127.0.0.1:8702", "password": "pk_1"},
        },
    }
    data.update(overrides)
    return data


def plan(data: dict[str, Any], *, instance: str = "shop-1", redeploy: bool = False, env=None):
    request = DeployRequest.from_mapping(data, source="deploy.yaml")
    return plan_deploy(ACME_ERP, instance, request, is_redeploy=redeploy, environ=env or {})


def fields_of(error: pytest.ExceptionInfo[InvalidRequest]) -> dict[str, str]:
    return {item.field: item.reason for item in error.value.errors}


def test_a_valid_request_plans_connections_config_defaults_and_a_digest() -> None:
    result = plan(request_data())

    assert result.config == {
        "progix_tenant": "shop-1",
        "warehouses": ["main"],
        "backfill_on_deploy": False,
        "sync_page_size": 100,
        "invalid_records": "fail",
        **alert_defaults(),
        **limit_defaults(LIMITS_PAGE),
        **drift_defaults(),
    }
    assert result.connection_ids == {
        "acme_connection": "acme_erp__shop-1",
        "progix_connection": "progix__shop-1",
    }
    acme = result.connections[0]
    assert acme.conn_type == "acme_erp"
    assert acme.fields == {"host": "https://acme.example.com", "password": SECRET}
    assert result.digest.startswith("sha256:")


def test_every_problem_is_reported_at_once_with_its_field() -> None:
    data = request_data(
        config={"warehouses": "main", "colour": "red"},
        connections={
            "acme_connection": {"host": "ftp://acme", "password": SECRET, "port": "1"},
            "crm_connection": {},
        },
    )
    with pytest.raises(InvalidRequest) as error:
        plan(data, instance="Shop_1")

    problems = fields_of(error)
    assert error.value.source == "deploy.yaml"
    assert set(problems) == {
        "instance",
        "config.progix_tenant",
        "config.warehouses",
        "config.colour",
        "connections.crm_connection",
        "connections.acme_connection.port",
        "connections.acme_connection.host",
        "connections.progix_connection",
    }
    assert problems["instance"].endswith(f"must be {SEGMENT_RULE}")
    assert problems["config.colour"] == "unknown key"
    assert "http:// or https://" in problems["connections.acme_connection.host"]
    assert SECRET not in str(error.value)


def test_a_secret_can_come_from_the_environment() -> None:
    data = request_data()
    data["connections"]["acme_connection"] = {
        "host": "https://acme.example.com",
        "password_env": "SHOP1_ACME_KEY",
    }
    result = plan(data, env={"SHOP1_ACME_KEY": SECRET})
    assert result.connections[0].fields["password"] == SECRET

    with pytest.raises(InvalidRequest) as error:
        plan(data, env={})
    assert fields_of(error) == {
        "connections.acme_connection.password_env": "environment variable 'SHOP1_ACME_KEY' is not set"
    }


def test_a_redeploy_may_omit_secrets_but_a_first_deploy_may_not() -> None:
    data = request_data()
    del data["connections"]["acme_connection"]["password"]

    result = plan(data, redeploy=True)
    assert result.connections[0].kept_fields == ("password",)
    assert "password" not in result.connections[0].fields

    with pytest.raises(InvalidRequest) as error:
        plan(data, redeploy=False)
    assert fields_of(error) == {"connections.acme_connection.password": "required (API key)"}


def test_the_digest_follows_config_and_hosts_but_not_secrets() -> None:
    base = plan(request_data()).digest
    other_secret = request_data()
    other_secret["connections"]["acme_connection"]["password"] = "another-key"
    other_host = request_data()
    other_host["connections"]["acme_connection"]["host"] = "https://acme2.example.com"

    assert plan(other_secret).digest == base
    assert plan(other_host).digest != base
    assert plan(request_data(config={"progix_tenant": "shop-2"})).digest != base


def test_secrets_stay_out_of_reprs() -> None:
    result = plan(request_data())
    request = DeployRequest.from_mapping(request_data(), source="x")
    assert SECRET not in repr(result)
    assert SECRET not in repr(request)


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        ("customer: [unclosed", "(file)", "not valid YAML"),
        ("- a list", "(file)", "must be a mapping"),
        ("config: {}\n", "customer", "required"),
        ("customer: x\nsecrets: {}\n", "secrets", "unknown key"),
        (
            "customer: x\nconnections: {acme_connection: {password: 12}}\n",
            "connections.acme_connection.password",
            "must be a string",
        ),
    ],
)
def test_request_files_with_a_bad_shape_name_the_file_and_field(
    tmp_path: Path, text: str, field: str, reason: str
) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    # Shape problems are reported with the value problems, by the one validation pass.
    with pytest.raises(InvalidRequest) as error:
        plan_deploy(ACME_ERP, "shop-1", load_request_file(path), is_redeploy=False)
    assert error.value.source == str(path)
    assert reason in fields_of(error)[field]


def test_a_missing_request_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match=r"nope\.yaml: \(file\): No such file"):
        load_request_file(tmp_path / "nope.yaml")
