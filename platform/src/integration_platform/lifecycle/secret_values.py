"""SECRET config values in a deploy request: taken out of `config`, planned as connections.

In a request a secret is given under `config` in one of three ways, never on a command
line: `<key>: value` (the request file or the wizard's password input), `<key>_env: NAME`
(an environment variable) or `<key>_file: PATH` (a file, e.g. a mounted Docker or Kubernetes
secret; its trailing newline is dropped). Omitted on a redeploy, the stored value is kept.
Errors name `config.<key>` (or `config.<key>_env`, `config.<key>_file`), never the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from integration_platform.integrations.config import FieldError
from integration_platform.integrations.model import ConfigVariable, Integration
from integration_platform.integrations.secrets import SECRET_FIELD, secret_spec
from integration_platform.lifecycle.connection_plan import ConnectionPlan

ENV_SUFFIX = "_env"
FILE_SUFFIX = "_file"
SUFFIXES = ("", ENV_SUFFIX, FILE_SUFFIX)
MAX_SECRET_LENGTH = 4096


def split_secrets(
    integration: Integration, config: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """`(config without secrets, {secret key: {suffix: given}})`."""
    names = {
        v.key + suffix: (v.key, suffix) for v in integration.secret_variables for suffix in SUFFIXES
    }
    rest: dict[str, Any] = {}
    given: dict[str, dict[str, Any]] = {}
    for name, value in config.items():
        if name in names:
            key, suffix = names[name]
            given.setdefault(key, {})[suffix] = value
        else:
            rest[name] = value
    return rest, given


def server_side_references(integration: Integration, config: Mapping[str, Any]) -> list[str]:
    """The `<key>_env` / `<key>_file` names in `config`: what a remote caller must not use."""
    _, given = split_secrets(integration, config)
    return [key + suffix for key, ways in given.items() for suffix in ways if suffix]


def _read_file(path: str) -> tuple[str | None, str | None]:
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n"), None
    except (OSError, UnicodeDecodeError) as error:
        return None, f"cannot read file {path!r}: {type(error).__name__}"


def _value(
    variable: ConfigVariable, given: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[str | None, FieldError | None]:
    """The secret's value (None: not given), or the error naming where it went wrong."""
    path = f"config.{variable.key}"
    if len(given) > 1:
        ways = ", ".join(variable.key + s for s in SUFFIXES)
        return None, FieldError(path, f"give only one of {ways}")
    if not given:
        return None, None
    suffix, raw = next(iter(given.items()))
    if not isinstance(raw, str):
        return None, FieldError(path + suffix, "must be a string")
    value: str | None = raw
    if suffix == ENV_SUFFIX:
        value = environ.get(raw)
        if not value:
            return None, FieldError(path + suffix, f"environment variable {raw!r} is not set")
    elif suffix == FILE_SUFFIX:
        value, problem = _read_file(raw)
        if problem:
            return None, FieldError(path + suffix, problem)
    if not value or not value.strip():
        return None, FieldError(path + suffix, f"required ({variable.label}): empty")
    if len(value) > MAX_SECRET_LENGTH or "\n" in value.strip():
        return None, FieldError(path + suffix, f"at most {MAX_SECRET_LENGTH} characters, one line")
    return value.strip(), None


def plan_secrets(
    integration: Integration,
    instance_id: str,
    given: Mapping[str, Mapping[str, Any]],
    environ: Mapping[str, str],
    *,
    is_redeploy: bool,
) -> tuple[list[ConnectionPlan], list[FieldError]]:
    """One connection plan per SECRET variable; an omitted secret is kept on a redeploy."""
    plans: list[ConnectionPlan] = []
    errors: list[FieldError] = []
    for variable in integration.secret_variables:
        value, problem = _value(variable, given.get(variable.key, {}), environ)
        if problem is not None:
            errors.append(problem)
            continue
        if value is None and not is_redeploy:
            errors.append(FieldError(f"config.{variable.key}", f"required ({variable.label})"))
            continue
        spec = secret_spec(integration, variable)
        plans.append(
            ConnectionPlan(
                variable=variable.key,
                conn_id=spec.conn_id(instance_id),
                conn_type=spec.conn_type,
                fields={} if value is None else {SECRET_FIELD: value},
                secret_fields=frozenset({SECRET_FIELD}),
                kept_fields=(SECRET_FIELD,) if value is None else (),
                is_secret_variable=True,
            )
        )
    return plans, errors
