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
    # 9 bound values per row; SQLite allows 32,766 per statement.
    ingest_commit_max_rows: int = Field(1000, gt=0, le=3600)

    # --- limits: hostile or merely slow input never holds resources for long -----------
    max_json_depth: int = Field(
        64, gt=0, le=10_000, description="Deepest JSON nesting accepted in a body (else 400)"
    )
    ingest_queue_max_rows: int = Field(
        20_000, gt=0, description="Rows waiting for a commit before ingest answers 503"
    )
    retry_after_seconds: int = Field(
        1, ge=0, description="Retry-After sent with 503 when the writer queue is full"
    )
    body_read_timeout_seconds: float = Field(
        30.0, gt=0, description="Time a sender gets to deliver the whole body (else 408)"
    )
    header_read_timeout_seconds: float = Field(
        10.0, gt=0, description="Time from a request's first byte to its last header line"
    )
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Request line plus headers; larger is refused (431)"
    )
    max_connections: int = Field(
        2000, gt=0, description="Concurrent connections and requests (uvicorn's 503 beyond)"
    )
    keep_alive_timeout_seconds: float = Field(
        5.0, gt=0, description="Idle time before a keep-alive connection is closed"
    )
    health_timeout_seconds: float = Field(
        2.0, gt=0, description="/healthz fails when the store does not answer within this"
    )
    pg_connect_timeout_seconds: int = Field(
        10, gt=0, description="PostgreSQL connect timeout (libpq connect_timeout)"
    )
    pg_statement_timeout_ms: int = Field(
        30_000, ge=0, description="PostgreSQL statement_timeout per session; 0 disables"
    )

    # --- retention ------------------------------------------------------------------------
    retention_payload_days: float = Field(
        7.0, gt=0, description="Payloads of dispatched events are dropped after this"
    )
    retention_dedup_days: float = Field(
        30.0, gt=0, description="(route, webhook_id) of pruned events kept for deduplication"
    )
    retention_dead_days: float = Field(
        30.0, gt=0, description="Dead and quarantined events kept this long for replays"
    )
    prune_interval_seconds: float = Field(
        300.0, ge=0, description="How often serve/dispatch prune; 0 disables"
    )
    prune_batch_size: int = Field(
        500, gt=0, le=10_000, description="Rows per pruning transaction (bounds lock time)"
    )

    @property
    def retention_policy(self):
        """The retention settings as the store's `RetentionPolicy`."""
        from webhook_relay.store.retention import RetentionPolicy

        return RetentionPolicy(
            payload_days=self.retention_payload_days,
            dedup_days=max(self.retention_dedup_days, self.retention_payload_days),
            dead_days=self.retention_dead_days,
            batch_size=self.prune_batch_size,
        )

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
