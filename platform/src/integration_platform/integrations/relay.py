"""The webhook relay as the flows see it: one Airflow connection, read only at run time.

Connection `webhook_relay`: `host` = the relay's public base URL (scheme included, e.g.
`https://hooks.example.com`), `password` = the relay's *registrar* token (it may only
manage routes and read their secrets; Airflow holds no relay master key), optional extra
`admin_url` when the admin API is reached elsewhere than the public URL. Initialization
registers the instance's routes and fetches each route's current secret from the relay;
Teardown retires them. Secrets stay inside the task: masked in logs, never XCom or conf.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import mask_secret

from integration_platform.integrations import naming
from integration_platform.relay_client import RelayRegistrar, RelayRegistryError
from integration_platform.urls import parse_http_url

RELAY_CONN_ID = "webhook_relay"
PERMANENT_STATUSES = (400, 401, 403, 404, 410)


class RelayConnectionError(ValueError):
    """The relay connection is unusable; one sentence naming the connection and the field."""

    def __init__(self, conn_id: str, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        super().__init__(f"Connection {conn_id!r}: field {field!r} {problem}.")


@dataclass(frozen=True)
class RelaySettings:
    public_url: str
    registrar_token: str = field(repr=False)
    admin_url: str = ""

    def __repr__(self) -> str:
        return f"RelaySettings(public_url={self.public_url!r}, registrar_token=***)"

    def registrar(self) -> RelayRegistrar:
        return RelayRegistrar(self.admin_url or self.public_url, self.registrar_token)


def _base_url(conn_id: str, name: str, value: str) -> str:
    url = value.strip().rstrip("/")
    if parse_http_url(url) is None:
        raise RelayConnectionError(
            conn_id, name, "must be the relay's base URL with its scheme, e.g. https://..."
        )
    return url


def relay_settings(conn_id: str = RELAY_CONN_ID) -> RelaySettings:
    """Read and check the relay connection; errors name the connection and the field."""
    connection = BaseHook.get_connection(conn_id)
    url = _base_url(conn_id, "host", connection.host or "")
    if not connection.password:
        raise RelayConnectionError(conn_id, "password", "(the relay's registrar token) is empty")
    mask_secret(connection.password)
    extra = connection.extra_dejson or {}
    admin_url = (
        _base_url(conn_id, "extra.admin_url", extra["admin_url"]) if extra.get("admin_url") else ""
    )
    return RelaySettings(public_url=url, registrar_token=connection.password, admin_url=admin_url)


def _settings_or_fail(conn_id: str) -> RelaySettings:
    try:
        return relay_settings(conn_id)
    except RelayConnectionError as error:
        raise AirflowFailException(str(error)) from error  # a retry cannot fix the config


def _fail_if_permanent(error: RelayRegistryError) -> None:
    if error.status in PERMANENT_STATUSES:
        raise AirflowFailException(str(error)) from error


def register_routes(
    integration: str, instance_id: str, flow_slugs: Iterable[str], conn_id: str = RELAY_CONN_ID
) -> RelaySettings:
    """Register the instance's webhook routes in the relay (idempotent); returns the settings."""
    settings = _settings_or_fail(conn_id)
    routes = [naming.route(integration, instance_id, slug) for slug in flow_slugs]
    try:
        with settings.registrar() as registrar:
            registrar.register(routes)
    except RelayRegistryError as error:
        _fail_if_permanent(error)
        raise
    return settings


def retire_routes(
    integration: str, instance_id: str, flow_slugs: Iterable[str], conn_id: str = RELAY_CONN_ID
) -> dict[str, int]:
    """Retire the instance's routes; `{route: events the relay discarded}`."""
    settings = _settings_or_fail(conn_id)
    discarded = {}
    try:
        with settings.registrar() as registrar:
            for slug in flow_slugs:
                route = naming.route(integration, instance_id, slug)
                discarded[route] = registrar.retire(route)["discarded_events"]
    except RelayRegistryError as error:
        _fail_if_permanent(error)
        raise
    return discarded


class RouteSecretResolver:
    """A deploy flow's `secret_resolver`: the current signing secret of one webhook's route.

    Called at execute time with `{"key": <flow slug>, ...}`; asks the relay then, so no
    secret is ever part of the DAG, its conf or its XCom, and masks it in the task's logs.
    """

    def __init__(self, integration: str, instance_id: str, conn_id: str = RELAY_CONN_ID) -> None:
        self.integration = integration
        self.instance_id = instance_id
        self.conn_id = conn_id

    def __call__(self, webhook: Mapping[str, Any]) -> str:
        settings = _settings_or_fail(self.conn_id)
        route = naming.route(self.integration, self.instance_id, webhook["key"])
        try:
            with settings.registrar() as registrar:
                secret = registrar.secret(route)
        except RelayRegistryError as error:
            _fail_if_permanent(error)
            raise
        mask_secret(secret)
        return secret

    def __repr__(self) -> str:
        return f"RouteSecretResolver({self.integration!r}, {self.instance_id!r}, {self.conn_id!r})"
