"""The session-scoped `stack` fixture: the whole local system, started once per test session.

Registered in `tests/conftest.py` (`pytest_plugins`). Starts, on free loopback ports, what
`make demo` starts (`sandbox.stack.Stack`): embedded PostgreSQL, Airflow (the components
`airflow standalone` runs, under the FAB auth manager as in the compose file), the relay and
both simulators, with two Acme accounts and two Progix tenants so tests can check
isolation; Airflow's DAGs folder also holds the test-only audit-log integration's shims. Logs stay in `.state/artifacts/stack-<time>-<pid>/logs/`; when a test that used the
stack fails, the tail of every process log is attached to its report.

Fixture ``stack`` -> :class:`StackHandle`
    ``.stack`` the running `Stack` (URLs, ``rest(user)``, ``client_environment()``...)
    ``.acme`` / ``.progix`` `AcmeSimulator` / `ProgixSimulator` handles (tests/support/simulators)
    for the first account/tenant, with ``other_*`` for the second.
    ``.acme_for(account)`` / ``.progix_for(tenant)`` the same, bound to that account/tenant.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from integration_contracts.routes import HOOKS_PATH_PREFIX
from sandbox.stack import Stack, StackOptions, StackPorts
from tests.support.simulators import ACME_TEST_FLAGS, AcmeSimulator, ProgixSimulator

if TYPE_CHECKING:  # imported when used: loading this plugin must not configure Airflow
    from integration_platform.lifecycle.service import InstanceService
    from integration_platform.lifecycle.settings import LifecycleSettings

ACME_ACCOUNTS = ("acme-one", "acme-two")
PROGIX_TENANTS = ("progix-one", "progix-two")
_STACK_KEY = pytest.StashKey["Stack"]()
# Small batches waiting briefly: tests see runs within a second and still see batching.
RELAY_TEST_ENV = {"RELAY_BATCH_MAX_WAIT_MS": "300", "RELAY_RETRY_BASE_SECONDS": "0.5"}
REPO_ROOT = Path(__file__).resolve().parents[2]
DAG_SHIM_FOLDERS = {
    "acme_erp": REPO_ROOT / "dags",  # the repository's own shims, as deployed
    "audit_log": REPO_ROOT / "tests" / "support" / "audit_log_integration" / "dags",
}
"""The stack's DAGs folder links these: every installed integration's shims, side by side."""


@dataclass
class StackHandle:
    stack: Stack

    def acme_for(self, account: str) -> AcmeSimulator:
        other = next(a for a in ACME_ACCOUNTS if a != account)
        keys = self.stack.acme_keys
        process = self.stack.process("acme")
        return AcmeSimulator(
            self.stack.acme_url, keys[account], keys[other], process, account, other
        )

    def progix_for(self, tenant: str) -> ProgixSimulator:
        other = next(t for t in PROGIX_TENANTS if t != tenant)
        keys = self.stack.progix_keys
        process = self.stack.process("progix")
        return ProgixSimulator(
            self.stack.progix_url, keys[tenant], keys[other], process, tenant, other
        )

    @property
    def acme(self) -> AcmeSimulator:
        return self.acme_for(ACME_ACCOUNTS[0])

    @property
    def progix(self) -> ProgixSimulator:
        return self.progix_for(PROGIX_TENANTS[0])

    def webhooks_of(
        self, instance: str, *, integration: str = "acme-erp", account: str = ACME_ACCOUNTS[0]
    ) -> dict[str, dict[str, Any]]:
        """One instance's webhooks in an Acme account, by flow (the last segment of their URL)."""
        prefix = f"{HOOKS_PATH_PREFIX}{integration}/{instance}/"
        return {
            hook["url"].rsplit("/", 1)[1]: hook
            for hook in self.acme_for(account).list_webhooks()
            if prefix in hook["url"]
        }

    def airflow_http(self, user: str | None = None) -> httpx.Client:
        """An HTTP client of the stack's Airflow API server, with `user`'s token (or none)."""
        headers = {}
        if user is not None:
            headers["Authorization"] = f"Bearer {self.stack.rest(user).token()}"
        return httpx.Client(base_url=self.stack.airflow_url, headers=headers, timeout=60)

    def lifecycle_settings(
        self, *, run_timeout: float, with_relay: bool = False, **extra: Any
    ) -> LifecycleSettings:
        """The lifecycle's settings for this stack's Airflow, as `admin`; `with_relay`: and its
        relay's URL and registrar token (the lifecycle's own hand on routes)."""
        from integration_platform.lifecycle.settings import LifecycleSettings

        if with_relay:
            extra.update(
                relay_url=self.stack.relay_url,
                relay_registrar_token=self.stack.relay_registrar_token,
            )
        return LifecycleSettings(
            airflow_url=self.stack.airflow_url,
            airflow_username="admin",
            airflow_password=self.stack.airflow_password("admin"),
            instances_dir=self.stack.instances_dir,
            run_timeout=run_timeout,
            **extra,
        )

    def acme_erp_request(
        self,
        customer: str,
        *,
        account: str = ACME_ACCOUNTS[0],
        tenant: str = PROGIX_TENANTS[0],
        **config: Any,
    ) -> dict[str, Any]:
        """An Acme ERP deploy request, as a request file holds it, for one Acme account and
        Progix tenant of this stack (`progix_tenant` set to match; `config` adds settings)."""
        running = self.stack
        return {
            "customer": customer,
            "config": {"progix_tenant": tenant, **config},
            "connections": {
                "acme_connection": {
                    "host": running.acme_url,
                    "password": running.acme_keys[account],
                },
                "progix_connection": {
                    "host": running.progix_url,
                    "password": running.progix_keys[tenant],
                },
            },
        }

    def acme_erp_service(self, **settings: Any) -> InstanceService:
        """The Acme ERP integration's lifecycle service on this stack (see `lifecycle_settings`)."""
        from integration_platform.lifecycle.service import InstanceService

        return InstanceService(self.lifecycle_settings(**settings), integration="acme-erp")


def _state_dir(artifacts_dir: Path) -> Path:
    return artifacts_dir / f"stack-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"


def _dags_folder(folder: Path) -> Path:
    """A DAGs folder of symlinks to each integration's shim folder (Airflow follows links)."""
    for name, target in DAG_SHIM_FOLDERS.items():
        (folder / name).symlink_to(target, target_is_directory=True)
    return folder


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest, artifacts_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StackHandle]:
    """The running local stack (see the module docstring); stopped at the end of the session."""
    running = Stack(
        StackOptions(
            state_dir=_state_dir(artifacts_dir),
            dags_folder=_dags_folder(tmp_path_factory.mktemp("dags")),
            ports=StackPorts.free(),
            acme_accounts=ACME_ACCOUNTS,
            progix_tenants=PROGIX_TENANTS,
            acme_args=ACME_TEST_FLAGS,
            relay_env=RELAY_TEST_ENV,
            # FAB, not standalone's SimpleAuthManager: its roles can grant single DAGs, which
            # the scoped-viewer tests need (tests/support/fab_users.py); production runs FAB too.
            airflow_auth_manager="fab",
        )
    )
    try:
        running.start()
    except Exception as error:
        shutil.rmtree(running.postgres.data_dir, ignore_errors=True)
        raise RuntimeError(f"the stack did not start: {error}\n{running.log_tails()}") from error
    request.config.stash[_STACK_KEY] = running
    try:
        yield StackHandle(running)
    finally:
        running.stop()
        # The database files are big and useless after the run; the logs stay.
        shutil.rmtree(running.postgres.data_dir, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    """Attach every stack process's log tail to the report of a failed stack test."""
    report = yield
    running = item.config.stash.get(_STACK_KEY, None)
    if report.failed and running is not None and "stack" in getattr(item, "fixturenames", ()):
        report.sections.append(("stack process logs (tails)", running.log_tails()))
    return report
