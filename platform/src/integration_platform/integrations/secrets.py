"""SECRET config variables: where Airflow keeps them, and how a flow reads one at run time.

Each secret of an instance is an Airflow connection of its own, `<integration>_<key>__<instance>`
(type `generic`, the value in its `password`): Airflow stores it encrypted (or in the
configured secrets backend), the REST API never returns it, and the task runner masks it in
every log the moment a task reads it. It is never in the instance file, a DAG run's conf or
an XCom; the instance file only names the connection, as it does for CONNECTION variables.
"""

from __future__ import annotations

from integration_platform.integrations import naming
from integration_platform.integrations.model import (
    ConfigVariable,
    ConnectionField,
    ConnectionSpec,
    Integration,
    VariableKind,
)

STORE_CONN_TYPE = "generic"
SECRET_FIELD = "password"  # noqa: S105 - the connection field that holds the value


def secret_spec(integration: Integration, variable: ConfigVariable) -> ConnectionSpec:
    """The connection a SECRET variable is stored in, as the deploy plan writes it."""
    if variable.kind is not VariableKind.SECRET:
        raise ValueError(f"variable {variable.key!r} is not a secret")
    prefix = f"{integration.slug}_{variable.key}".replace("-", "_")
    return ConnectionSpec(
        conn_type=STORE_CONN_TYPE,
        id_prefix=prefix,
        fields=(ConnectionField(SECRET_FIELD, variable.label, secret=True),),
    )


def secret_conn_id(integration: Integration, key: str, instance_id: str) -> str:
    spec = secret_spec(integration, integration.variable(key))
    return naming.connection_id(spec.id_prefix, instance_id)


def read_secret(conn_id: str) -> str:
    """The secret's value, inside a running task (masked in the task's log from now on)."""
    from airflow.sdk import Connection  # run time only

    value = Connection.get(conn_id).password
    if not value:
        raise ValueError(f"connection {conn_id!r} holds no secret value")
    return value


def expected_connection_ids(integration: Integration, instance_id: str) -> dict[str, str]:
    """`{config key: connection id}` of every CONNECTION and SECRET variable of an instance."""
    ids = {
        v.key: v.connection.conn_id(instance_id)
        for v in integration.connection_variables
        if v.connection
    }
    ids.update(
        {
            v.key: secret_spec(integration, v).conn_id(instance_id)
            for v in integration.secret_variables
        }
    )
    return ids
