"""`deploy.envfile`: reading env files and writing `.env` with fresh secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from deploy.envfile import EnvFileError, main, parse_env, render_env, secrets_to_generate

EXAMPLE = """\
# comment
NAME=value
QUOTED="with spaces"
DB_PASSWORD=
AIRFLOW__CORE__FERNET_KEY=
OPTIONAL_KEYS=
"""
COMPOSE = """
x: ${DB_PASSWORD:?set it}
y: ${AIRFLOW__CORE__FERNET_KEY?set it}
z: ${OPTIONAL_KEYS:-}
w: ${NAME}
"""


def test_parse_env_reads_assignments_and_skips_comments() -> None:
    assert parse_env(EXAMPLE) == {
        "NAME": "value",
        "QUOTED": "with spaces",
        "DB_PASSWORD": "",
        "AIRFLOW__CORE__FERNET_KEY": "",
        "OPTIONAL_KEYS": "",
    }


def test_a_malformed_line_is_reported_with_file_and_line() -> None:
    with pytest.raises(EnvFileError, match=r"^x\.env:2: expected NAME=value"):
        parse_env("A=1\nexport B 2\n", source="x.env")


def test_only_empty_variables_the_compose_file_requires_are_generated() -> None:
    assert secrets_to_generate(parse_env(EXAMPLE), COMPOSE) == [
        "DB_PASSWORD",
        "AIRFLOW__CORE__FERNET_KEY",
    ]
    rendered = parse_env(render_env(EXAMPLE, COMPOSE))
    assert rendered["OPTIONAL_KEYS"] == ""
    assert len(rendered["DB_PASSWORD"]) >= 40
    Fernet(rendered["AIRFLOW__CORE__FERNET_KEY"].encode())  # a valid Fernet key
    assert render_env(EXAMPLE, COMPOSE) != render_env(EXAMPLE, COMPOSE)  # fresh every time
    assert "# comment" in render_env(EXAMPLE, COMPOSE)


def test_main_writes_a_private_env_file_and_never_overwrites_one(tmp_path: Path) -> None:
    example, compose, output = tmp_path / "example", tmp_path / "compose", tmp_path / ".env"
    example.write_text(EXAMPLE)
    compose.write_text(COMPOSE)
    argv = ["--example", str(example), "--compose", str(compose), "--output", str(output)]
    assert main(argv) == 0
    first = output.read_text()
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert parse_env(first)["DB_PASSWORD"]
    assert main(argv) == 1
    assert output.read_text() == first
