from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk import Connection

from acme_provider.exceptions import AcmeConnectionConfigError
from acme_provider.hooks.acme_connection import CONN_FIELDS, AcmeConnectionSettings

KEY = "sk_acme_TOPSECRET_4f9a2c"


def connection(
    host: str | None = "https://acme.test", password: str | None = KEY, **extra: Any
) -> Connection:
    return Connection(
        conn_id="acme_shop_1",
        conn_type="acme_erp",
        host=host,
        password=password,
        extra=json.dumps(extra) if extra else None,
    )


def test_valid_connection_uses_defaults_and_keeps_the_key_out_of_repr() -> None:
    settings = AcmeConnectionSettings.from_connection(connection("https://acme.test/api/"))
    assert settings.base_url == "https://acme.test/api"
    assert settings.api_key == KEY
    assert (settings.timeout, settings.max_retries, settings.max_retry_wait) == (30.0, 5, 30.0)
    assert KEY not in repr(settings)


def test_declared_extras_are_read_plain_or_with_the_legacy_prefix() -> None:
    settings = AcmeConnectionSettings.from_connection(
        connection(timeout=5, extra__acme_erp__max_retries="2", max_retry_wait=None)
    )
    assert (settings.timeout, settings.max_retries, settings.max_retry_wait) == (5.0, 2, 30.0)


def test_port_field_is_added_when_the_url_has_none() -> None:
    conn = connection("http://127.0.0.1")
    conn.port = 8701
    assert AcmeConnectionSettings.from_connection(conn).base_url == "http://127.0.0.1:8701"


@pytest.mark.parametrize(
    ("host", "password", "message"),
    [
        (None, KEY, "Connection 'acme_shop_1': field 'host' (Acme API base URL) is empty"),
        ("  ", KEY, "field 'host' (Acme API base URL) is empty"),
        ("acme.test", KEY, "field 'host' (Acme API base URL) is not an http(s) URL"),
        ("ftp://acme.test", KEY, "field 'host' (Acme API base URL) is not an http(s) URL"),
        ("https://", KEY, "field 'host' (Acme API base URL) is not an http(s) URL"),
        ("http://acme.test:99999", KEY, "field 'host' (Acme API base URL) is not an http(s) URL"),
        ("https://acme.test/?x=1", KEY, "must not have a query string"),
        (
            "https://acme.test",
            None,
            "Connection 'acme_shop_1': field 'password' (API key) is empty.",
        ),
        ("https://acme.test", "", "field 'password' (API key) is empty"),
    ],
)
def test_bad_url_or_missing_key_is_one_sentence_naming_id_and_field(
    host: str | None, password: str | None, message: str
) -> None:
    with pytest.raises(AcmeConnectionConfigError) as caught:
        AcmeConnectionSettings.from_connection(connection(host, password))
    assert message in str(caught.value)
    assert str(caught.value).count(".") >= 1
    assert "\n" not in str(caught.value)
    assert caught.value.conn_id == "acme_shop_1"


def test_credentials_in_the_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(AcmeConnectionConfigError, match="must not contain credentials") as caught:
        AcmeConnectionSettings.from_connection(connection("https://user:hunter2pass@acme.test"))
    assert "hunter2pass" not in str(caught.value)


def test_unknown_extras_are_rejected_by_name_without_their_values() -> None:
    with pytest.raises(AcmeConnectionConfigError) as caught:
        AcmeConnectionSettings.from_connection(
            connection(api_key="leaked-value", **{"X-Tenant": "a"})
        )
    message = str(caught.value)
    assert message.startswith(
        "Connection 'acme_shop_1': field 'extra' has unknown key(s) 'X-Tenant', 'api_key'"
    )
    assert "leaked-value" not in message
    assert caught.value.field == "extra"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"timeout": 0}, "extra.timeout"),
        ({"timeout": "soon"}, "extra.timeout"),
        ({"timeout": True}, "extra.timeout"),
        ({"max_retries": 2.5}, "extra.max_retries"),
        ({"max_retries": 21}, "extra.max_retries"),
        ({"max_retries": -1}, "extra.max_retries"),
        ({"max_retry_wait": -3}, "extra.max_retry_wait"),
    ],
)
def test_bad_extra_values_name_the_field(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(AcmeConnectionConfigError, match=f"field '{field}' must be") as caught:
        AcmeConnectionSettings.from_connection(connection(**extra))
    assert caught.value.field == field


def test_every_declared_extra_has_a_label_and_a_json_schema() -> None:
    assert set(CONN_FIELDS) == {"timeout", "max_retries", "max_retry_wait"}
    for definition in CONN_FIELDS.values():
        assert definition["label"]
        assert definition["description"]
        assert "null" in definition["schema"]["type"]
