"""Operations surface: health, metrics, admin authentication and validation, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from tests.relay.harness import (
    ADMIN_TOKEN,
    SECRETS_KEY,
    Relay,
    ingest_only_relay,
    migrated_store,
    unique_route,
)
from webhook_relay.cli import app as cli_app
from webhook_relay.signatures import secret_to_key


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with ingest_only_relay(tmp_path_factory.mktemp("operations")) as service:
        yield service


def test_healthz_and_metrics_are_open(relay: Relay) -> None:
    assert httpx.get(f"{relay.url}/healthz").json()["status"] == "ok"
    metrics = httpx.get(f"{relay.url}/metrics").text
    for name in (
        "relay_ingest_requests_total",
        "relay_ingest_latency_seconds_bucket",
        "relay_queue_depth",
        "relay_queue_oldest_age_seconds",
        "relay_dead_letters",
    ):
        assert name in metrics


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer not-the-token"}, "invalid bearer token"),
        ({"Authorization": f"Basic {ADMIN_TOKEN}"}, "missing bearer token"),
    ],
)
def test_admin_api_requires_the_bearer_token(relay: Relay, headers: dict, detail: str) -> None:
    for method, path in (
        ("GET", "/admin/events"),
        ("GET", "/admin/stats"),
        ("POST", "/admin/replay"),
        ("POST", "/admin/routes/acme-erp/shop-1/sync-customer-data/pause"),
    ):
        response = relay.http.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json()["detail"] == detail


def test_pausing_an_invalid_route_is_refused_with_the_reason(relay: Relay) -> None:
    response = relay.admin("POST", "/routes/acme-erp/Shop_1/sync/pause")
    assert response.status_code == 400
    assert "instance" in response.json()["detail"]
    assert relay.admin("GET", "/stats").json()["paused_routes"] == []


def test_a_malformed_route_filter_is_refused_with_the_reason(relay: Relay) -> None:
    for path in ("/events", "/batches", "/quarantine"):
        response = relay.admin("GET", path, params={"route": "acme-erp/Shop_1/sync"})
        assert response.status_code == 400, path
        assert "instance" in response.json()["detail"], path


def test_route_description_gives_webhook_url_and_dag_id(relay: Relay) -> None:
    route = unique_route()
    assert relay.deliver(route).status_code == 200
    described = relay.admin("GET", f"/routes/{route}").json()
    assert described["webhook_url"] == f"{relay.url}/hooks/{route}"
    assert described["dag_id"] == "__".join(p.replace("-", "_") for p in route.split("/"))
    assert described["events"] == {"pending": 1}
    assert described["held"] == 1
    assert described["state"] == "active"
    assert described["paused"] is False


def test_replay_without_a_selection_is_refused(relay: Relay) -> None:
    response = relay.admin("POST", "/replay", json={})
    assert response.status_code == 422
    assert "event_ids" in json.dumps(response.json())


def test_stats_counts_queued_events(relay: Relay) -> None:
    route = unique_route()
    before = relay.admin("GET", "/stats").json()["queue_depth"]
    assert relay.deliver(route).status_code == 200
    stats = relay.admin("GET", "/stats").json()
    assert stats["queue_depth"] == before + 1
    assert stats["oldest_queued_age_seconds"] >= 0


def test_admin_api_is_disabled_without_a_token(tmp_path: Path) -> None:
    """An edge case of configuration, checked in-process (no lifespan, no dispatcher)."""
    from webhook_relay.app import create_app
    from webhook_relay.settings import RelaySettings

    settings = RelaySettings(secrets_keys=SECRETS_KEY, admin_token=None)

    async def get_stats(app) -> httpx.Response:
        transport = httpx.ASGITransport(app=app.api)
        async with httpx.AsyncClient(transport=transport, base_url="http://relay") as client:
            return await client.get("/admin/stats", headers={"Authorization": "Bearer x"})

    with migrated_store(f"sqlite:///{tmp_path / 'relay.db'}") as store:
        response = asyncio.run(get_stats(create_app(settings, store, with_dispatcher=False)))
    assert response.status_code == 503
    assert "RELAY_ADMIN_TOKEN" in response.json()["detail"]


# --- CLI (in-process through typer's runner; one test runs the real console script) ---


def cli(*args: str, env: dict[str, str] | None = None, tmp: Path) -> Result:
    base = {"RELAY_STATE_DIR": str(tmp), "RELAY_SECRETS_KEYS": SECRETS_KEY}
    cleared = {k: None for k in os.environ if k.startswith("RELAY_")}
    return CliRunner().invoke(cli_app, list(args), env={**cleared, **base, **(env or {})})


def test_console_script_registers_a_route_and_prints_its_secret(tmp_path: Path) -> None:
    script = str(Path(sys.executable).parent / "webhook-relay")
    env = {**os.environ, "RELAY_STATE_DIR": str(tmp_path), "RELAY_SECRETS_KEYS": SECRETS_KEY}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [script, "routes", *args], env=env, capture_output=True, text=True, timeout=120
        )

    route = "acme-erp/shop-1/sync-customer-data"
    registered = run("register", route)
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["routes"][0]["result"] == "created"
    secret = run("secret", route)
    assert secret.returncode == 0, secret.stderr
    assert len(secret_to_key(secret.stdout.strip())) == 32


def test_settings_never_show_secrets() -> None:
    from webhook_relay.settings import RelaySettings

    settings = RelaySettings(
        database_url="postgresql+psycopg2://relay:db-secret@db/relay",
        secrets_keys="key-secret",
        registrar_token="registrar-secret",
        airflow_password="af-secret",
        admin_token="admin-secret",
    )
    shown = repr(settings) + str(settings)
    for secret in ("db-secret", "key-secret", "af-secret", "admin-secret", "registrar-secret"):
        assert secret not in shown


def test_route_secret_rejects_a_bad_route_naming_the_segment(tmp_path: Path) -> None:
    result = cli("routes", "secret", "acme-erp/Shop/sync-customer-data", tmp=tmp_path)
    assert result.exit_code == 2
    assert "instance 'Shop'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_commands_fail_clearly_without_secrets_keys(tmp_path: Path) -> None:
    result = cli("serve", "--port", "1", env={"RELAY_SECRETS_KEYS": ""}, tmp=tmp_path)
    assert result.exit_code == 2
    assert "RELAY_SECRETS_KEYS is not set" in result.stderr
    result = cli("serve", "--port", "1", env={"RELAY_SECRETS_KEYS": "not-a-key"}, tmp=tmp_path)
    assert result.exit_code == 2
    assert "RELAY_SECRETS_KEYS entry 1 is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.output


def test_invalid_setting_names_the_variable_and_hides_secrets(tmp_path: Path) -> None:
    env = {"RELAY_BATCH_MAX_EVENTS": "lots", "RELAY_AIRFLOW_PASSWORD": "hunter2-secret"}
    result = cli("stats", env=env, tmp=tmp_path)
    assert result.exit_code == 2
    assert "RELAY_BATCH_MAX_EVENTS" in result.stderr
    assert "hunter2-secret" not in result.output


def test_migrate_stats_and_replay_work_on_a_fresh_store(tmp_path: Path) -> None:
    assert cli("migrate", tmp=tmp_path).exit_code == 0
    assert cli("migrate", tmp=tmp_path).exit_code == 0  # idempotent
    stats = json.loads(cli("stats", tmp=tmp_path).stdout)
    assert stats["queue_depth"] == 0
    assert stats["events"] == {
        "pending": 0,
        "batched": 0,
        "dispatched": 0,
        "dead": 0,
        "quarantined": 0,
        "pruned": 0,
    }
    assert stats["quarantined"] == 0
    replay = cli("replay", "--dead-letters", tmp=tmp_path)
    assert json.loads(replay.stdout) == {"replayed": 0}
    refused = cli("replay", tmp=tmp_path)
    assert refused.exit_code == 2
    assert "--dead-letters" in refused.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["serve"],
        ["dispatch"],
        ["replay"],
        ["stats"],
        ["migrate"],
        ["quarantine", "list"],
        ["quarantine", "replay"],
        ["prune"],
        ["reencrypt-secrets"],
        ["new-secrets-key"],
        *(["routes", c] for c in ("register", "retire", "secret", "rotate", "pause", "resume")),
        ["routes", "list"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    result = cli(*command, "--help", tmp=tmp_path)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout
