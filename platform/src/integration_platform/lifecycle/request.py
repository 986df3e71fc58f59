"""A deploy request (customer, config values, connection credentials) and its validation.

Everything is validated before anything changes: the service calls `plan_deploy` first and
only then touches Airflow or the instances directory. Errors name the source (file) and the
field, and never echo a secret.

Request file (YAML)::

    customer: Shop One
    config:
      tenant: shop-1
      regions: [eu]
    connections:
      source_connection: {host: "https://source.example.com", password_env: SHOP1_SOURCE_KEY}
      target_connection: {host: "https://target.example.com", password: "..."}

A secret field may be given as `<field>_env: VARIABLE` to read it from the environment; a
SECRET config variable as `<key>`, `<key>_env` or `<key>_file` (`lifecycle.secret_values`).
On a redeploy, omitted secrets keep the value already stored in the Airflow connection.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration_contracts.ids import InvalidId, check_segment
from integration_platform.integrations.config import ConfigError, FieldError, validate_config
from integration_platform.integrations.model import ConnectionSpec, Integration
from integration_platform.lifecycle.connection_plan import ConnectionPlan
from integration_platform.lifecycle.documents import read_document
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.secret_values import plan_secrets, split_secrets
from integration_platform.urls import parse_http_url

ENV_SUFFIX = "_env"
URL_FIELDS = frozenset({"host"})


@dataclass(frozen=True)
class DeployRequest:
    """What a person asks to deploy. `connections` maps a connection variable key (e.g.
    `source_connection`) to its fields (`host`, `password`, or `password_env`)."""

    customer: str
    config: Mapping[str, Any] = field(default_factory=dict)
    connections: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    source: str = "deploy request"  # named in error messages: a file path, "UI form", ...
    problems: tuple[FieldError, ...] = field(default=(), repr=False, compare=False)
    """Shape problems found by `from_mapping`, reported by `plan_deploy` together with every
    value problem: one run of validation lists them all."""

    @classmethod
    def from_mapping(cls, data: Any, *, source: str) -> DeployRequest:
        """Check the request's shape; what is wrong is kept in `problems` (and what can be
        read is kept) so that `plan_deploy` reports it with the value problems at once."""
        if not isinstance(data, Mapping):
            raise InvalidRequest(source, [FieldError("(file)", "must be a mapping")])
        errors = [
            FieldError(key, "unknown key; expected customer, config, connections")
            for key in data
            if key not in ("customer", "config", "connections")
        ]
        customer = data.get("customer")
        config = data.get("config") or {}
        connections = data.get("connections") or {}
        if not isinstance(customer, str) or not customer.strip():
            errors.append(FieldError("customer", "required: a non-empty string"))
        if not isinstance(config, Mapping):
            errors.append(FieldError("config", "must be a mapping of config values"))
        if not isinstance(connections, Mapping):
            errors.append(FieldError("connections", "must be a mapping"))
        else:
            for key, fields in connections.items():
                if not isinstance(fields, Mapping):
                    errors.append(FieldError(f"connections.{key}", "must be a mapping of fields"))
                    continue
                for name, value in fields.items():
                    if not isinstance(value, str):
                        errors.append(FieldError(f"connections.{key}.{name}", "must be a string"))
        return cls(
            customer=customer.strip() if isinstance(customer, str) else "",
            config=dict(config) if isinstance(config, Mapping) else {},
            connections={
                k: {n: str(v) for n, v in fields.items()}  # a non-string is in `problems`
                for k, fields in (connections.items() if isinstance(connections, Mapping) else ())
                if isinstance(fields, Mapping)
            },
            source=source,
            problems=tuple(errors),
        )


def load_request_file(path: Path) -> DeployRequest:
    """Read a YAML (or JSON) deploy request file."""
    data = read_document(path, formats="YAML")
    return DeployRequest.from_mapping(data, source=str(path))


@dataclass(frozen=True)
class DeployPlan:
    """A fully validated deploy: what will be written, and the digest that decides no-op."""

    instance_id: str
    customer: str
    config: Mapping[str, Any]
    connections: tuple[ConnectionPlan, ...]
    digest: str

    @property
    def connection_ids(self) -> dict[str, str]:
        return {plan.variable: plan.conn_id for plan in self.connections}


def _url_problem(value: str) -> str | None:
    url = parse_http_url(value)
    if url is None:
        return "must be an http:// or https:// URL with a host, e.g. https://api.example.com"
    if url.query or url.fragment:
        return "must not contain a query string or fragment"
    return None


def _plan_connection(
    key: str,
    spec: ConnectionSpec,
    given: Mapping[str, str],
    instance_id: str,
    environ: Mapping[str, str],
    is_redeploy: bool,
) -> tuple[ConnectionPlan | None, list[FieldError]]:
    errors: list[FieldError] = []
    known = {f.name for f in spec.fields}
    for name in given:
        base = name.removesuffix(ENV_SUFFIX)
        if base not in known:
            errors.append(
                FieldError(
                    f"connections.{key}.{name}",
                    f"unknown field; expected {', '.join(sorted(known))} (or <field>_env)",
                )
            )
    fields: dict[str, str] = {}
    kept: list[str] = []
    for spec_field in spec.fields:
        path = f"connections.{key}.{spec_field.name}"
        direct, env_name = given.get(spec_field.name), given.get(spec_field.name + ENV_SUFFIX)
        if direct is not None and env_name is not None:
            errors.append(
                FieldError(path, f"give either {spec_field.name} or {spec_field.name}_env")
            )
            continue
        value = direct
        if env_name is not None:
            value = environ.get(env_name)
            if not value:
                errors.append(
                    FieldError(f"{path}_env", f"environment variable {env_name!r} is not set")
                )
                continue
        if value is None or not value.strip():
            if spec_field.secret and is_redeploy and value is None:
                kept.append(spec_field.name)
                continue
            errors.append(FieldError(path, f"required ({spec_field.label})"))
            continue
        value = value.strip()
        if spec_field.name in URL_FIELDS and (problem := _url_problem(value)):
            errors.append(FieldError(path, problem))
            continue
        fields[spec_field.name] = value
    if errors:
        return None, errors
    plan = ConnectionPlan(
        variable=key,
        conn_id=spec.conn_id(instance_id),
        conn_type=spec.conn_type,
        fields=fields,
        secret_fields=frozenset(f.name for f in spec.fields if f.secret),
        kept_fields=tuple(kept),
    )
    return plan, []


def config_digest(
    customer: str, config: Mapping[str, Any], connections: tuple[ConnectionPlan, ...]
) -> str:
    """A digest of everything non-secret that a deploy applies: equal digest = nothing to do.

    Secrets are deliberately left out (not even hashed into the instance file); they are
    re-applied to the Airflow connections on every deploy instead.
    """
    public = {
        plan.variable: {k: v for k, v in plan.fields.items() if k not in plan.secret_fields}
        for plan in connections
    }
    canonical = json.dumps(
        {"customer": customer, "config": config, "connections": public},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _plan_connections(
    integration: Integration,
    instance_id: str,
    request: DeployRequest,
    environ: Mapping[str, str],
    is_redeploy: bool,
) -> tuple[list[ConnectionPlan], list[FieldError]]:
    """The connections a request asks for, each checked; a redeploy may leave one out."""
    specs = {v.key: v.connection for v in integration.connection_variables if v.connection}
    expected = ", ".join(sorted(specs))
    errors = [
        FieldError(f"connections.{key}", f"unknown connection; expected {expected}")
        for key in request.connections
        if key not in specs
    ]
    plans: list[ConnectionPlan] = []
    for key, spec in specs.items():
        given = request.connections.get(key)
        if given is None and not is_redeploy:
            errors.append(FieldError(f"connections.{key}", "required"))
            continue
        plan, problems = _plan_connection(
            key, spec, given or {}, instance_id or "x", environ, is_redeploy
        )
        errors.extend(problems)
        if plan is not None:
            plans.append(plan)
    return plans, errors


def plan_deploy(
    integration: Integration,
    instance_id: str,
    request: DeployRequest,
    *,
    is_redeploy: bool,
    environ: Mapping[str, str] | None = None,
) -> DeployPlan:
    """Validate everything about a deploy request; raise `InvalidRequest` listing every problem."""
    environ = os.environ if environ is None else environ
    errors: list[FieldError] = list(request.problems)
    try:
        check_segment("instance id", instance_id)  # the relay's route grammar, defined once
    except InvalidId as error:
        errors.append(FieldError("instance", str(error)))
    if len(request.customer) > 200:
        errors.append(FieldError("customer", "at most 200 characters"))
    config: dict[str, Any] = {}
    public_config, secret_values = split_secrets(integration, request.config)
    try:
        config = validate_config(integration, public_config)
    except ConfigError as error:
        errors.extend(error.errors)
    plans, problems = _plan_connections(integration, instance_id, request, environ, is_redeploy)
    errors.extend(problems)
    secret_plans, problems = plan_secrets(
        integration, instance_id or "x", secret_values, environ, is_redeploy=is_redeploy
    )
    errors.extend(problems)
    plans.extend(secret_plans)
    if errors:
        raise InvalidRequest(request.source, errors)
    connections = tuple(plans)
    return DeployPlan(
        instance_id=instance_id,
        customer=request.customer,
        config=config,
        connections=connections,
        digest=config_digest(request.customer, config, connections),
    )
