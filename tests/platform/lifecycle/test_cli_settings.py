"""Number, choice and secret settings through the CLI: bad values are named by file (or
"interactive input") and field with exit code 2, and a secret is never echoed or printed.

Airflow's URL points at a port where nothing listens, so a request that passes validation
ends with exit code 3 (Airflow unreachable) and one that does not ends with 2 before it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from integration_platform.lifecycle.cli import app
from sandbox.processes import free_port

SECRET = "hash-key-NEVER-ECHOED-42"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in ("INTEGRATION_AIRFLOW_URL", "INTEGRATION_AIRFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    nowhere = f"http://127.0.0.1:{free_port()}"

    def invoke(integration: str, *args: str, input: str | None = None):
        base = ["--airflow-url", nowhere, "--instances-dir", str(tmp_path / "instances")]
        return CliRunner().invoke(
            app, [*base, "--integration", integration, *args], input=input, catch_exceptions=False
        )

    return invoke


def acme_request(tmp_path: Path, **config: object) -> Path:
    path = tmp_path / "shop-1.yaml"
    data = {
        "customer": "Shop One",
        "config": {"progix_tenant": "shop-1", **config},
        "connections": {
            "acme_connection": {"host": "https://acme.example.com", "password": "sk"},
            "progix_connection": {"host": "https://progix.example.com", "password": "pk"},
        },
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("config", "field", "reason"),
    [
        ({"sync_page_size": 500}, "config.sync_page_size", "less than or equal to 100"),
        ({"sync_page_size": 0}, "config.sync_page_size", "greater than or equal to 1"),
        ({"sync_page_size": 2.5}, "config.sync_page_size", "valid integer"),
        ({"invalid_records": "maybe"}, "config.invalid_records", "'fail' or 'skip'"),
    ],
)
def test_a_bad_number_or_choice_in_a_request_file_is_named(
    cli, tmp_path, config, field, reason
) -> None:
    path = acme_request(tmp_path, **config)
    result = cli("acme-erp", "deploy", "shop-1", "--config", str(path))
    assert result.exit_code == 2, result.output
    assert str(path) in result.stderr
    assert field in result.stderr
    assert reason in result.stderr


def test_good_numbers_and_choices_pass_validation(cli, tmp_path) -> None:
    path = acme_request(tmp_path, sync_page_size=25, invalid_records="skip")
    result = cli("acme-erp", "deploy", "shop-1", "--config", str(path))
    assert result.exit_code == 3, result.output  # valid: it went on to Airflow


def test_a_bad_number_typed_interactively_is_named(cli) -> None:
    answers = [
        "Shop One",
        "https://acme.example.com",
        "sk_acme",
        "https://progix.example.com",
        "pk",
        "shop-1",
        "",  # warehouses
        "abc",  # records per Acme request
        "",  # invalid records: the default
    ]
    result = cli("acme-erp", "deploy", "shop-1", "-i", input="\n".join(answers) + "\n" * 40)
    assert result.exit_code == 2, result.output
    assert "Records per Acme request (1-100)" in result.output
    assert "interactive input" in result.stderr
    assert "config.sync_page_size" in result.stderr


def audit_answers(secret: str) -> str:
    return "\n".join(["Audit One", "https://acme.example.com", "sk_acme", secret]) + "\n"


def test_a_secret_variable_is_prompted_without_echo(cli) -> None:
    result = cli("audit-log", "deploy", "audit-one", "-i", input=audit_answers(SECRET))
    assert result.exit_code == 3, result.output  # valid: it went on to Airflow
    assert "Pseudonymisation key" in result.output
    assert SECRET not in result.output
    assert SECRET not in result.stderr


def test_a_secret_from_the_environment_and_a_missing_one(cli, tmp_path, monkeypatch) -> None:
    path = tmp_path / "audit.yaml"
    request = {
        "customer": "Audit One",
        "config": {"id_hash_key_env": "AUDIT_HASH_KEY"},
        "connections": {"source_connection": {"host": "https://a.example.com", "password": "k"}},
    }
    path.write_text(yaml.safe_dump(request))
    missing = cli("audit-log", "deploy", "audit-one", "--config", str(path))
    assert missing.exit_code == 2, missing.output
    assert "config.id_hash_key_env: environment variable 'AUDIT_HASH_KEY' is not set" in (
        missing.stderr
    )

    monkeypatch.setenv("AUDIT_HASH_KEY", SECRET)
    given = cli("audit-log", "deploy", "audit-one", "--config", str(path))
    assert given.exit_code == 3, given.output
    assert SECRET not in given.output + given.stderr
