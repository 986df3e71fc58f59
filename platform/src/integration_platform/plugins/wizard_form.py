"""The config wizard as an HTML form, read back into the lifecycle's `DeployRequest`.

Field names: `instance_id`, `customer`, `config.<key>` for file-stored and SECRET variables
and `conn.<key>.<field>` for the fields of CONNECTION variables. A secret is a password input
that is never filled in: its value goes to the lifecycle and is never rendered back. This module only turns form
strings into a request and maps errors back onto fields; whether a request is *valid* is
decided by `lifecycle.request.plan_deploy`, the same code the CLI's deploy runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import ConfigVariable, Integration, VariableKind
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.request import DeployRequest

INSTANCE_ID_FIELD = "instance_id"
CUSTOMER_FIELD = "customer"
SOURCE = "Config wizard"


def config_field(variable: ConfigVariable) -> str:
    return f"config.{variable.key}"


def connection_field(variable: ConfigVariable, name: str) -> str:
    return f"conn.{variable.key}.{name}"


@dataclass
class WizardInput:
    """What the user entered: the request data, plus the values to show back after an error."""

    instance_id: str
    customer: str
    config: dict[str, Any] = field(default_factory=dict)
    connections: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def request_data(self) -> dict[str, Any]:
        return {"customer": self.customer, "config": self.config, "connections": self.connections}

    def to_request(self) -> DeployRequest:
        return DeployRequest.from_mapping(self.request_data(), source=SOURCE)

    def shown_values(self, integration: Integration) -> dict[str, Any]:
        """Form values to render again after an error: everything but secrets."""
        values: dict[str, Any] = {
            INSTANCE_ID_FIELD: self.instance_id,
            CUSTOMER_FIELD: self.customer,
        }
        secrets = {v.key for v in integration.secret_variables}
        values.update(
            {f"config.{key}": value for key, value in self.config.items() if key not in secrets}
        )
        for variable in integration.connection_variables:
            assert variable.connection is not None
            given = self.connections.get(variable.key, {})
            for spec in variable.connection.fields:
                if not spec.secret and spec.name in given:
                    values[connection_field(variable, spec.name)] = given[spec.name]
        return values


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _config_value(form: Any, variable: ConfigVariable) -> tuple[bool, Any]:
    """`(given, value)`: numbers stay strings for the config model to coerce and check."""
    name = config_field(variable)
    if variable.kind is VariableKind.BOOLEAN:
        return True, form.get(name) in ("on", "true", "1")
    if variable.kind is VariableKind.LIST:
        if variable.choices:
            return True, [v for v in form.getlist(name) if isinstance(v, str) and v]
        items = _text(form, name).replace(",", "\n").splitlines()
        return True, [item.strip() for item in items if item.strip()]
    raw = _text(form, name)
    return (bool(raw) or variable.required), raw


def parse_wizard_form(
    integration: Integration, form: Any, *, editing: str | None = None
) -> WizardInput:
    """Read the submitted wizard; when `editing` an instance, its id comes from the URL.

    An empty secret field is left out of the request: on a redeploy that keeps the secret
    Airflow already stores, on a first deploy `plan_deploy` reports it as required.
    """
    entered = WizardInput(
        instance_id=editing or _text(form, INSTANCE_ID_FIELD), customer=_text(form, CUSTOMER_FIELD)
    )
    for variable in integration.variables:
        if variable.kind is VariableKind.CONNECTION and variable.connection:
            fields = {}
            for spec in variable.connection.fields:
                value = _text(form, connection_field(variable, spec.name))
                if value or not spec.secret:
                    fields[spec.name] = value
            entered.connections[variable.key] = fields
        elif variable.kind is VariableKind.SECRET:
            value = form.get(config_field(variable))
            if isinstance(value, str) and value.strip():
                entered.config[variable.key] = value.strip()
        elif variable.stored_in_instance_file:
            given, value = _config_value(form, variable)
            if given:
                entered.config[variable.key] = value
    return entered


def form_field(error_field: str) -> str:
    """Where a lifecycle `FieldError` belongs in the form."""
    if error_field == "instance":
        return INSTANCE_ID_FIELD
    if error_field.startswith("connections."):
        return "conn." + error_field.removeprefix("connections.").removesuffix("_env")
    return error_field.removesuffix("_env").removesuffix("_file")


def form_errors(error: InvalidRequest) -> dict[str, str]:
    """`{form field: reason}`; the first reason per field wins."""
    errors: dict[str, str] = {}
    for problem in error.errors:
        errors.setdefault(form_field(problem.field), problem.reason)
    return errors


def errors_outside_form(errors: Mapping[str, str], known: set[str]) -> list[FieldError]:
    """Errors that no field shows (so the page lists them at the top instead)."""
    return [FieldError(name, reason) for name, reason in errors.items() if name not in known]


def form_field_names(integration: Integration) -> set[str]:
    names = {INSTANCE_ID_FIELD, CUSTOMER_FIELD}
    for variable in integration.variables:
        if variable.kind is VariableKind.CONNECTION and variable.connection:
            names.add(f"conn.{variable.key}")
            names.update(connection_field(variable, f.name) for f in variable.connection.fields)
        else:
            names.add(config_field(variable))
    return names
