"""SECRET config variables in a deploy request: given inline, by env or file, planned as a
connection of their own, kept on a redeploy, and never echoed in an error or the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit_log_integration.definition import AUDIT_LOG, ID_HASH_KEY
from integration_platform.integrations.instances import Instance
from integration_platform.integrations.secrets import expected_connection_ids, secret_conn_id
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import DeployRequest, plan_deploy
from integration_platform.lifecycle.secret_values import server_side_references

KEY = "hmac-key-DO-NOT-PRINT-9f3a"
CONN = f"audit_log_id_hash_key__{'audit-one'}"


def data(**config: Any) -> dict[str, Any]:
    return {
        "customer": "Audit One",
        "config": config,
        "connections": {
            "source_connection": {"host": "https://acme.example.com", "password": "sk_1"}
        },
    }


def plan(config: dict[str, Any], *, redeploy: bool = False, env: dict[str, str] | None = None):
    request = DeployRequest.from_mapping(data(**config), source="audit.yaml")
    return plan_deploy(AUDIT_LOG, "audit-one", request, is_redeploy=redeploy, environ=env or {})


def problems(config: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        plan(config, **kwargs)
    assert KEY not in str(caught.value)
    return {error.field: error.reason for error in caught.value.errors}


def test_an_inline_secret_becomes_its_own_connection_and_leaves_the_config() -> None:
    result = plan({ID_HASH_KEY: KEY})

    assert ID_HASH_KEY not in result.config
    assert (
        result.connection_ids[ID_HASH_KEY]
        == CONN
        == secret_conn_id(AUDIT_LOG, ID_HASH_KEY, "audit-one")
    )
    secret = next(c for c in result.connections if c.variable == ID_HASH_KEY)
    assert (secret.conn_type, dict(secret.fields)) == ("generic", {"password": KEY})
    assert KEY not in repr(result)
    # The digest (stored in the instance file) ignores the secret: it is re-applied instead.
    assert plan({ID_HASH_KEY: "another-key"}).digest == result.digest


def test_a_secret_from_the_environment_or_a_file(tmp_path: Path) -> None:
    from_env = plan({f"{ID_HASH_KEY}_env": "AUDIT_KEY"}, env={"AUDIT_KEY": KEY})
    secret_file = tmp_path / "key"
    secret_file.write_text(KEY + "\n")
    from_file = plan({f"{ID_HASH_KEY}_file": str(secret_file)})

    for result in (from_env, from_file):
        secret = next(c for c in result.connections if c.variable == ID_HASH_KEY)
        assert secret.fields == {"password": KEY}


@pytest.mark.parametrize(
    ("config", "field", "reason"),
    [
        ({}, "config.id_hash_key", "required (Pseudonymisation key)"),
        ({ID_HASH_KEY: "  "}, "config.id_hash_key", "empty"),
        ({ID_HASH_KEY: 1234}, "config.id_hash_key", "must be a string"),
        ({f"{ID_HASH_KEY}_env": "NOPE"}, "config.id_hash_key_env", "'NOPE' is not set"),
        ({f"{ID_HASH_KEY}_file": "/nonexistent/key"}, "config.id_hash_key_file", "cannot read"),
        (
            {ID_HASH_KEY: KEY, f"{ID_HASH_KEY}_env": "X"},
            "config.id_hash_key",
            "give only one of id_hash_key, id_hash_key_env, id_hash_key_file",
        ),
        ({ID_HASH_KEY: KEY + "\nmore"}, "config.id_hash_key", "one line"),
    ],
)
def test_a_bad_secret_is_named_by_field_without_its_value(
    config: dict[str, Any], field: str, reason: str
) -> None:
    found = problems(config)
    assert field in found, found
    assert reason in found[field]


def test_a_redeploy_without_the_secret_keeps_the_stored_one() -> None:
    result = plan({}, redeploy=True)

    secret = next(c for c in result.connections if c.variable == ID_HASH_KEY)
    assert secret.fields == {}
    assert secret.kept_fields == ("password",)
    assert secret.field_path("password") == "config.id_hash_key"


def test_an_instance_file_names_the_secret_connection_and_nothing_else() -> None:
    expected = expected_connection_ids(AUDIT_LOG, "audit-one")
    assert expected == {"source_connection": "audit_acme__audit-one", ID_HASH_KEY: CONN}
    instance = Instance(
        id="audit-one",
        integration=AUDIT_LOG.slug,
        customer="Audit One",
        generation=1,
        connections=expected,
    )
    assert instance.check_against(AUDIT_LOG).connections == expected
    with pytest.raises(ValueError, match=r"config\.id_hash_key: unknown key"):
        instance.model_copy(update={"config": {ID_HASH_KEY: KEY}}).check_against(AUDIT_LOG)


def test_the_api_may_not_name_server_side_environment_or_files() -> None:
    config = {f"{ID_HASH_KEY}_env": "X", f"{ID_HASH_KEY}_file": "/etc/key", "other_env": "Y"}
    assert sorted(server_side_references(AUDIT_LOG, config)) == [
        "id_hash_key_env",
        "id_hash_key_file",
    ]
    assert server_side_references(AUDIT_LOG, {ID_HASH_KEY: KEY}) == []
