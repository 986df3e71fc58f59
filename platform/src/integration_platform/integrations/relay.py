"""The webhook relay as the flows see it: one Airflow connection, read only at run time.

Connection `webhook_relay`: `host` = the relay's public base URL (scheme included, e.g.
`https://hooks.example.com`), `password` = the relay's current signing key. Deploy flows
turn the URL into each webhook flow's URL and derive each route's signing secret from the
key; the key and the secrets stay inside the task (never XCom, conf or logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowFailException

from integration_contracts.secrets import route_secret
from integration_platform.integrations import naming

RELAY_CONN_ID = "webhook_relay"


class RelayConnectionError(ValueError):
    """The relay connection is unusable; one sentence naming the connection and the field."""

    def __init__(self, conn_id: str, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        super().__init__(f"Connection {conn_id!r}: field {field!r} {problem}.")


@dataclass(frozen=True)
class RelaySettings:
    public_url: str
    signing_key: str

    def __repr__(self) -> str:
        return f"RelaySettings(public_url={self.public_url!r}, signing_key=***)"


def relay_settings(conn_id: str = RELAY_CONN_ID) -> RelaySettings:
    """Read and check the relay connection; errors name the connection and the field."""
    connection = BaseHook.get_connection(conn_id)
    url = (connection.host or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RelayConnectionError(
            conn_id, "host", "must be the relay's public base URL with its scheme, e.g. https://..."
        )
    if not connection.password:
        raise RelayConnectionError(conn_id, "password", "(the relay's signing key) is empty")
    return RelaySettings(public_url=url, signing_key=connection.password)


class RouteSecretResolver:
    """A deploy flow's `secret_resolver`: the signing secret of one webhook's route.

    Called at execute time with `{"key": <flow slug>, ...}`; reads the signing key from the
    relay connection then, so no secret is ever part of the DAG, its conf or its XCom.
    """

    def __init__(self, integration: str, instance_id: str, conn_id: str = RELAY_CONN_ID) -> None:
        self.integration = integration
        self.instance_id = instance_id
        self.conn_id = conn_id

    def __call__(self, webhook: Mapping[str, Any]) -> str:
        try:
            key = relay_settings(self.conn_id).signing_key
        except RelayConnectionError as error:
            raise AirflowFailException(str(error)) from error  # a retry cannot fix the config
        return route_secret(key, naming.route(self.integration, self.instance_id, webhook["key"]))

    def __repr__(self) -> str:
        return f"RouteSecretResolver({self.integration!r}, {self.instance_id!r}, {self.conn_id!r})"
