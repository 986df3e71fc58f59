"""airflow-init: migrate the metadata database, then create the relay's role and the users.

One script for `docker compose` (the `airflow-init` service) and the distributed run on
loopback, so both initialise Airflow the same way. It calls the documented `airflow` CLI
commands (`db migrate`, `roles import`, `users create`, `users reset-password`) in one process:
each separate `airflow` invocation pays ~10 s of start-up, and passwords never appear in a
process listing.

Idempotent: re-running it keeps users and the role, and resets the two passwords to the
values from the environment, so `.env` stays the single source of truth.

Environment: AIRFLOW_ADMIN_USERNAME, AIRFLOW_ADMIN_PASSWORD, RELAY_AIRFLOW_USERNAME,
RELAY_AIRFLOW_PASSWORD (plus the usual AIRFLOW__* settings).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The role the relay's user gets: exactly what `POST /api/v2/dags/{id}/dagRuns` needs under
# the FAB auth manager (create on "DAG Runs", edit on "DAGs"), plus read on both for the
# dispatcher's bulk run-state reads (`POST /api/v2/dags/~/dagRuns/list`), and nothing else.
ROLES_FILE = Path(__file__).with_name("roles.json")
RELAY_ROLE = "WebhookRelay"

REQUIRED = (
    "AIRFLOW_ADMIN_USERNAME",
    "AIRFLOW_ADMIN_PASSWORD",
    "RELAY_AIRFLOW_USERNAME",
    "RELAY_AIRFLOW_PASSWORD",
)


def _airflow(*argv: str) -> None:
    """Run one `airflow ...` command in this process (argparse, like the console script)."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(list(argv))
    args.func(args)


def _user_exists(username: str) -> bool:
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        return appbuilder.sm.find_user(username=username) is not None


def user_argv(username: str, password: str, role: str, *, email: str, exists: bool) -> list[str]:
    """`airflow users ...` arguments. Values go as `--option=value`: a generated password
    may start with `-`, which argparse would otherwise read as the next option."""
    if exists:
        return ["users", "reset-password", f"--username={username}", f"--password={password}"]
    return [
        "users", "create",
        f"--username={username}",
        f"--password={password}",
        f"--role={role}",
        f"--firstname={username}",
        "--lastname=(service)" if role == RELAY_ROLE else "--lastname=(admin)",
        f"--email={email}",
    ]  # fmt: skip


def _ensure_user(username: str, password: str, role: str, *, email: str) -> None:
    _airflow(*user_argv(username, password, role, email=email, exists=_user_exists(username)))


def main() -> int:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        print(f"airflow-init: set {', '.join(missing)} (see .env.example)", file=sys.stderr)
        return 2
    env = os.environ
    _airflow("db", "migrate")
    _airflow("roles", "import", str(ROLES_FILE))
    _ensure_user(
        env["AIRFLOW_ADMIN_USERNAME"],
        env["AIRFLOW_ADMIN_PASSWORD"],
        "Admin",
        email=f"{env['AIRFLOW_ADMIN_USERNAME']}@airflow.invalid",
    )
    _ensure_user(
        env["RELAY_AIRFLOW_USERNAME"],
        env["RELAY_AIRFLOW_PASSWORD"],
        RELAY_ROLE,
        email=f"{env['RELAY_AIRFLOW_USERNAME']}@airflow.invalid",
    )
    print("airflow-init: metadata database migrated; admin and relay users ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
