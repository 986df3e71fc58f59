"""Validate an instance's config values against its integration's config wizard.

The schema is generated from the wizard's variables, so the wizard, the instance files, the
CLI and the UI can never disagree on what a valid configuration is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from integration_platform.integrations.model import ConfigVariable, Integration, VariableKind


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class ConfigError(ValueError):
    """Config values that do not fit the wizard; carries one FieldError per problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(error) for error in errors))


def _annotation(variable: ConfigVariable) -> Any:
    match variable.kind:
        case VariableKind.STRING:
            return str
        case VariableKind.BOOLEAN:
            return bool
        case VariableKind.NUMBER:
            return int if variable.integer else int | float
        case VariableKind.CHOICE:
            return Literal[variable.choices]
        case VariableKind.LIST:
            return list[Literal[variable.choices]] if variable.choices else list[str]
    raise ValueError(
        f"{variable.key}: {variable.kind} values are kept in Airflow connections, not as config"
    )


def _constraints(variable: ConfigVariable) -> dict[str, Any]:
    if variable.kind is VariableKind.STRING and variable.required:
        return {"min_length": 1}
    if variable.kind is VariableKind.NUMBER:
        bounds = {"ge": variable.minimum, "le": variable.maximum}
        return {name: bound for name, bound in bounds.items() if bound is not None}
    return {}


def _field(variable: ConfigVariable) -> tuple[Any, Any]:
    constraints = _constraints(variable)
    if variable.required and variable.default is None:
        return _annotation(variable), Field(..., **constraints)
    annotation = _annotation(variable)
    return annotation | None if variable.default is None else annotation, Field(
        variable.default, **constraints
    )


_MODELS: dict[int, tuple[Integration, type[BaseModel]]] = {}


def config_model(integration: Integration) -> type[BaseModel]:
    """A pydantic model of the integration's file-stored config (unknown keys rejected).

    Built once per integration: the DAG factory validates every instance file at parse time.
    """
    cached = _MODELS.get(id(integration))
    if cached is not None and cached[0] is integration:
        return cached[1]
    fields = {v.key: _field(v) for v in integration.variables if v.stored_in_instance_file}
    model = create_model(
        f"{integration.slug.title().replace('-', '')}Config",
        __config__=ConfigDict(extra="forbid", strict=False),
        **fields,
    )
    _MODELS[id(integration)] = (integration, model)
    return model


def field_errors(error: ValidationError, prefix: str = "") -> list[FieldError]:
    """Turn pydantic's errors into `FieldError`s with dotted field paths."""
    errors = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"])
        reason = "unknown key" if item["type"] == "extra_forbidden" else item["msg"]
        errors.append(FieldError(f"{prefix}{path}" if path else prefix.rstrip("."), reason))
    return errors


def validate_config(integration: Integration, values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the config with defaults applied, or raise ConfigError naming every bad field."""
    try:
        return config_model(integration).model_validate(dict(values)).model_dump()
    except ValidationError as error:
        raise ConfigError(field_errors(error, prefix="config.")) from None
