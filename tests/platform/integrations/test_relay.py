"""The relay connection and the registry calls the deploy flows make, against a real relay:
routes registered, each route's secret fetched at run time, routes retired; bad
connections name the field and never show the token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from airflow.sdk.exceptions import AirflowFailException

from integration_platform.integrations.relay import (
    RELAY_CONN_ID,
    RelayConnectionError,
    RouteSecretResolver,
    register_routes,
    relay_settings,
    retire_routes,
)
from tests.relay.harness import REGISTRAR_TOKEN, Relay, ingest_only_relay

TOKEN = "registrar-TOPSECRET"
FLOWS = ["sync-customer-data", "sync-inventory-data"]


@pytest.fixture
def relay_conn(monkeypatch: pytest.MonkeyPatch):
    def define(host: str | None, password: str | None, **extra: str) -> None:
        value = {"conn_type": "http", "host": host, "password": password, "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{RELAY_CONN_ID.upper()}", json.dumps(value))

    return define


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Relay]:
    with ingest_only_relay(tmp_path_factory.mktemp("platform-relay")) as service:
        yield service


def test_routes_are_registered_their_secrets_fetched_and_retired(relay_conn, relay) -> None:
    relay_conn(relay.url, REGISTRAR_TOKEN)
    settings = register_routes("acme-erp", "shop-1", FLOWS)
    assert settings.public_url == relay.url
    assert REGISTRAR_TOKEN not in repr(settings)

    resolver = RouteSecretResolver("acme-erp", "shop-1")
    secret = resolver({"key": "sync-customer-data", "url": "x"})
    assert secret == relay.current_secret("acme-erp/shop-1/sync-customer-data")
    assert resolver({"key": "sync-inventory-data"}) != secret
    register_routes("acme-erp", "shop-1", FLOWS)  # a redeploy: same secrets
    assert resolver({"key": "sync-customer-data"}) == secret
    assert relay.deliver("acme-erp/shop-1/sync-customer-data", secret=secret).status_code == 200

    assert retire_routes("acme-erp", "shop-1", FLOWS) == {
        "acme-erp/shop-1/sync-customer-data": 1,
        "acme-erp/shop-1/sync-inventory-data": 0,
    }
    with pytest.raises(AirflowFailException, match="410"):
        resolver({"key": "sync-customer-data"})
    assert retire_routes("acme-erp", "never-deployed", FLOWS) == {
        "acme-erp/never-deployed/sync-customer-data": 0,
        "acme-erp/never-deployed/sync-inventory-data": 0,
    }


def test_a_wrong_token_fails_the_task_without_showing_it(relay_conn, relay) -> None:
    relay_conn(relay.url, TOKEN)
    with pytest.raises(AirflowFailException) as caught:
        register_routes("acme-erp", "shop-2", FLOWS)
    assert "401" in str(caught.value)
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "password", "extra", "field"),
    [
        ("hooks.example.com", TOKEN, {}, "host"),  # no scheme
        ("ftp://hooks.example.com", TOKEN, {}, "host"),
        (None, TOKEN, {}, "host"),
        ("http://127.0.0.1:8700", None, {}, "password"),
        ("http://127.0.0.1:8700", TOKEN, {"admin_url": "relay:9000"}, "extra.admin_url"),
    ],
)
def test_bad_connection_names_the_field_and_never_the_token(
    relay_conn, host, password, extra, field
) -> None:
    relay_conn(host, password, **extra)
    with pytest.raises(RelayConnectionError) as caught:
        relay_settings()
    assert (caught.value.conn_id, caught.value.field) == (RELAY_CONN_ID, field)
    assert TOKEN not in str(caught.value)
