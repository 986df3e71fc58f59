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
    secrets_keys: SecretStr | None = Field(
        None,
        description="Comma-separated Fernet keys for route secrets at rest: the first "
        "encrypts, all decrypt (rotate by prepending a new one, then `reencrypt-secrets`)",
    )
    public_url: str = "http://127.0.0.1:8000"
    airflow_url: str = "http://127.0.0.1:8080"
    airflow_username: str = "admin"
    airflow_password: SecretStr = SecretStr("")
    admin_token: SecretStr | None = None
    registrar_token: SecretStr | None = Field(
        None, description="May only register, retire, rotate and pause routes, read secrets"
    )
    rotation_overlap_seconds: int = Field(
        3600, ge=0, le=30 * 86400, description="How long a rotated-out secret still verifies"
    )
    registry_poll_ms: int = Field(
        500, gt=0, description="How often each process checks the registry for changes"
    )

    max_body_bytes: int = Field(1024 * 1024, gt=0)
    timestamp_tolerance_seconds: int = Field(300, gt=0)
    batch_max_events: int = Field(100, gt=0, le=10_000)
    batch_max_wait_ms: int = Field(1000, ge=0)
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
    def secrets_key_list(self) -> tuple[str, ...]:
        """The at-rest encryption keys, current first. `ConfigError` when none are set."""
        raw = self.secrets_keys.get_secret_value() if self.secrets_keys else ""
        keys = tuple(k.strip() for k in raw.split(",") if k.strip())
        if not keys:
            raise ConfigError(
                "RELAY_SECRETS_KEYS is not set (comma-separated Fernet keys; make one with "
                "`webhook-relay new-secrets-key`)"
            )
        return keys
