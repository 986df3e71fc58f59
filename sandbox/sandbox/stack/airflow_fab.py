"""Airflow's components under the FAB auth manager, started as `airflow standalone` starts them.

`airflow standalone` always switches to SimpleAuthManager, whose roles are global: nobody can
be allowed to read one DAG and not another. Per-DAG permissions (a role with `can_read` on
`DAG:<dag_id>`) need the FAB auth manager, as the compose file runs it. This launcher does what
standalone does (migrate the database, run the scheduler, DAG processor, API server and
triggerer, stop them together) after creating the stack's users in FAB's tables with the
stack's own passwords. The components stay in this process's group, so stopping the group
(`ManagedProcess.stop`) stops them all.

    python -m sandbox.stack.airflow_fab     # with the stack's Airflow environment

`SANDBOX_AIRFLOW_PASSWORDS_FILE` names the 0600 JSON file `{user: password}`; the roles are
`FAB_ROLES`. Passwords never appear in a process listing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

PASSWORDS_FILE_ENV = "SANDBOX_AIRFLOW_PASSWORDS_FILE"
COMPONENTS = ("scheduler", "dag-processor", "api-server", "triggerer")
# FAB's own roles for the stack's users: the relay triggers runs (User), the lifecycle also
# writes connections (Admin here), the viewer reads every DAG (Viewer).
FAB_ROLES = {"admin": "Admin", "relay": "User", "viewer": "Viewer"}
STOP_TIMEOUT_S = 20.0


def _log(message: str) -> None:
    print(f"airflow-fab | {message}", flush=True)


def migrate() -> None:
    """`airflow db migrate`, in this process (FAB's tables are migrated with Airflow's)."""
    from airflow.cli import cli_parser

    args = cli_parser.get_parser().parse_args(["db", "migrate"])
    args.func(args)


def create_users(passwords: Mapping[str, str]) -> None:
    """Each user with its FAB role; an existing user keeps its role and gets the password."""
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        security.sync_roles()  # Viewer, User, Op exist once synced (`airflow sync-perm`)
        for username, password in passwords.items():
            role = security.find_role(FAB_ROLES[username])
            user = security.find_user(username=username)
            if user is None:
                email = f"{username}@sandbox.invalid"
                if not security.add_user(username, username, "(sandbox)", email, role, password):
                    raise RuntimeError(f"FAB did not create the user {username!r}")
            else:
                security.reset_password(user.id, password)
    _log(f"users ready: {', '.join(f'{u} ({FAB_ROLES[u]})' for u in passwords)}")


def supervise(airflow: str | None = None, components: tuple[str, ...] = COMPONENTS) -> int:
    """Run every component (`airflow <component>`) until one exits, whose code is then ours,
    or until we are told to stop."""
    airflow = airflow or str(Path(sys.executable).parent / "airflow")
    children: dict[str, subprocess.Popen[bytes]] = {}

    def stop(signum: int, _frame: FrameType | None) -> None:
        _log(f"signal {signum}: stopping the components")
        _stop_all(children)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)  # before any child exists: none is ever left behind
    signal.signal(signal.SIGINT, stop)
    # The roles were synced just before (`create_users`): the API server need not redo it.
    env = {**os.environ, "AIRFLOW__FAB__UPDATE_FAB_PERMS": "False"}
    for name in components:
        children[name] = subprocess.Popen([airflow, name], env=env)
    while True:
        for name, child in children.items():
            if (code := child.poll()) is not None:
                _log(f"{name} exited with code {code}: stopping the others")
                _stop_all(children)
                return code or 1
        time.sleep(1.0)


def _stop_all(children: Mapping[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children.values():
        try:
            child.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()


def main() -> int:
    path = os.environ.get(PASSWORDS_FILE_ENV)
    if not path:
        _log(f"set {PASSWORDS_FILE_ENV} to the users' passwords file")
        return 2
    passwords = json.loads(Path(path).read_text())
    migrate()
    create_users(passwords)
    return supervise()


if __name__ == "__main__":
    sys.exit(main())
