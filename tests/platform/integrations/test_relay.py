"""The relay connection: checked fields, and route secrets derived at run time only."""

from __future__ import annotations

import json

import pytest

from integration_contracts.secrets import route_secret
from integration_platform.integrations.relay import (
    RELAY_CONN_ID,
    RelayConnectionError,
    RouteSecretResolver,
    relay_settings,
)

KEY = "relay-key-TOPSECRET"


@pytest.fixture
def relay_conn(monkeypatch: pytest.MonkeyPatch):
    def define(host: str | None, password: str | None) -> None:
        value = {"conn_type": "http", "host": host, "password": password}
        monkeypatch.setenv(f"AIRFLOW_CONN_{RELAY_CONN_ID.upper()}", json.dumps(value))

    return define


def test_settings_and_route_secret(relay_conn) -> None:
    relay_conn("https://hooks.example.com/", KEY)
    settings = relay_settings()
    assert settings.public_url == "https://hooks.example.com"
    assert KEY not in repr(settings)
    resolver = RouteSecretResolver("acme-erp", "shop-1")
    assert resolver({"key": "sync-customer-data", "url": "x"}) == route_secret(
        KEY, "acme-erp/shop-1/sync-customer-data"
    )
    assert resolver({"key": "sync-inventory-data"}) != resolver({"key": "sync-customer-data"})


@pytest.mark.parametrize(
    ("host", "password", "field"),
    [
        ("hooks.example.com", KEY, "host"),  # no scheme
        ("ftp://hooks.example.com", KEY, "host"),
        (None, KEY, "host"),
        ("http://127.0.0.1:8700", None, "password"),
    ],
)
def test_bad_connection_names_the_field_and_never_the_key(
    relay_conn, host, password, field
) -> None:
    relay_conn(host, password)
    with pytest.raises(RelayConnectionError) as caught:
        relay_settings()
    assert (caught.value.conn_id, caught.value.field) == (RELAY_CONN_ID, field)
    assert KEY not in str(caught.value)
