"""Configuration from `RELAY_*` environment variables.

Secrets are `SecretStr` so they never show up in a repr, a log line or a traceback.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class RelaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RELAY_", extra="ignore", frozen=True)

    state_dir: Path = Field(Path(".state"), description="Where the default SQLite file lives")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite file", repr=False
    )
    signing_keys: SecretStr | None = Field(
        None, description="Comma-separated; the first derives route secrets, all verify"
    )
    public_url: str = "http://127.0.0.1:8000"
    airflow_url: str = "http://127.0.0.1:8080"
    airflow_username: str = "admin"
    airflow_password: SecretStr = SecretStr("")
    admin_token: SecretStr | None = None

    max_body_bytes: int = Field(1024 * 1024, gt=0)
    timestamp_tolerance_seconds: int = Field(300, gt=0)
    batch_max_events: int = Field(100, gt=0, le=10_000)
    batch_mode: Literal["adaptive", "fixed"] = Field(
        "adaptive",
        description="adaptive: follow Airflow's pace (at most max_waiting_runs queued runs per "
        "route, batches grow while they wait); fixed: a batch once the oldest event is "
        "batch_max_wait_ms old, whatever Airflow is doing",
    )
    batch_max_wait_ms: int = Field(1000, ge=0, description="fixed mode only")
    max_waiting_runs: int = Field(1, gt=0, le=100, description="per route, adaptive mode")
    run_poll_ms: int = Field(250, gt=0, description="how often run states are read (bulk)")
    flow_window_initial: float = Field(4.0, ge=1)
    flow_window_max: float = Field(256.0, ge=1, description="most runs waiting, all routes")
    flow_queue_target_seconds: float = Field(
        2.0, gt=0, description="queued longer than this: Airflow is saturated, halve the window"
    )
    run_state_timeout_seconds: float = Field(
        300.0, gt=0, description="stop tracking runs after Airflow's run list failed this long"
    )
    transient_retry_seconds: float = Field(
        600.0, ge=0, description="retry 404 / import-error answers this long, then dead-letter"
    )
    dispatch_concurrency: int = Field(4, gt=0, le=256)
    dispatch_poll_ms: int = Field(100, gt=0)
    lease_seconds: float = Field(60.0, gt=0)
    airflow_timeout_seconds: float = Field(30.0, gt=0)
    retry_base_seconds: float = Field(1.0, gt=0)
    retry_max_seconds: float = Field(300.0, gt=0)
    retry_give_up_hours: float = Field(48.0, gt=0)
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = Field(
        "FULL", description="FULL: fsync per commit (power-loss safe); NORMAL: crash safe only"
    )
    # 7 bound values per row; SQLite allows 32,766 per statement.
    ingest_commit_max_rows: int = Field(1000, gt=0, le=4000)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'relay.db').resolve()}"

    @cached_property
    def signing_key_list(self) -> tuple[str, ...]:
        """The signing keys, current first. Raises `ConfigError` when none are set."""
        raw = self.signing_keys.get_secret_value() if self.signing_keys else ""
        keys = tuple(k.strip() for k in raw.split(",") if k.strip())
        if not keys:
            raise ConfigError("RELAY_SIGNING_KEYS is not set (comma-separated signing keys)")
        return keys
