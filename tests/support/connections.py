"""Connections as `AIRFLOW_CONN_<ID>` environment variables, and retry policies whose waits
are recorded instead of slept, so retry tests are fast and can assert the waits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from acme_provider.hooks.acme_erp import AcmeErpHook
from acme_provider.hooks.retry import RetryPolicy
from tests.support.simulators import AcmeSimulator, ProgixSimulator

BASE_URL = "https://acme.test"
API_KEY = "sk_acme_TOPSECRET_4f9a2c"
PROGIX_URL = "https://progix.test"
PROGIX_KEY = "sk_progix_TOPSECRET_77d1"

SetConnection = Callable[..., str]


@pytest.fixture
def set_connection(monkeypatch: pytest.MonkeyPatch) -> SetConnection:
    """Define an Airflow connection through its environment variable (JSON form)."""

    def define(
        conn_id: str = "acme_unit",
        *,
        conn_type: str = "acme_erp",
        host: str | None = BASE_URL,
        password: str | None = API_KEY,
        extra: dict[str, Any] | None = None,
        **fields: Any,
    ) -> str:
        conn = {"conn_type": conn_type, "host": host, "password": password, **fields}
        if extra is not None:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return define


@pytest.fixture
def sleeps() -> list[float]:
    """The waits a retry policy asked for, in order."""
    return []


@pytest.fixture
def fast_policy(sleeps: list[float]) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=5.0, sleep=sleeps.append)


@pytest.fixture
def hook(set_connection: SetConnection, fast_policy: RetryPolicy) -> AcmeErpHook:
    """A hook on `https://acme.test` (fake it with `responses`) that records its waits."""
    return AcmeErpHook(set_connection(), retry_policy=fast_policy)


@pytest.fixture
def acme_conn(set_connection: SetConnection, acme_simulator: AcmeSimulator) -> str:
    """An `acme_erp` connection to the real Acme simulator (main test account)."""
    return set_connection("acme_sandbox", host=acme_simulator.url, password=acme_simulator.api_key)


@pytest.fixture
def sandbox_hook(acme_conn: str) -> AcmeErpHook:
    """A hook on the real Acme simulator with short real waits between retries."""
    return AcmeErpHook(
        acme_conn, retry_policy=RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=2.0)
    )


@pytest.fixture
def progix_conn(set_connection: SetConnection, progix_simulator: ProgixSimulator) -> str:
    """An `http` connection to the real Progix simulator; the key is the password."""
    return set_connection(
        "progix_sandbox",
        conn_type="http",
        host=progix_simulator.url,
        password=progix_simulator.api_key,
    )
