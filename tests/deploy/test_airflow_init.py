"""airflow-init's user commands parse as Airflow's own CLI parses them, whatever the password."""

from __future__ import annotations

import pytest
from airflow.cli import cli_parser

from deploy.airflow.init import RELAY_ROLE, user_argv


@pytest.mark.parametrize("exists", [False, True])
@pytest.mark.parametrize("password", ["-starts-with-a-dash", "--double", "plain_Pw-1"])
def test_any_generated_password_reaches_airflow_intact(password: str, exists: bool) -> None:
    argv = user_argv("relay", password, RELAY_ROLE, email="relay@example.com", exists=exists)

    args = cli_parser.get_parser().parse_args(argv)

    assert (args.username, args.password) == ("relay", password)
    if not exists:
        assert (args.role, args.email, args.lastname) == (
            RELAY_ROLE,
            "relay@example.com",
            "(service)",
        )
