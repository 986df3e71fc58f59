"""`docker-compose.yaml` as data: YAML anchors resolved, `${...}` interpolated like Compose.

Used by the static checks and by the distributed run, which starts the services this file
describes with the environment and commands written here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Compose interpolation: $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}, ${NAME:+alternative}, ${NAME+alternative}, $NAME.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class ComposeError(ValueError):
    """The compose file is malformed, or a required variable is unset (the message names it)."""


def referenced_variables(value: Any) -> set[str]:
    """Every variable name a compose value (string, list, mapping; recursively) references."""
    if isinstance(value, str):
        return {
            match["braced"] or match["named"]
            for match in _REFERENCE.finditer(value)
            if not match["escaped"]
        }
    if isinstance(value, Mapping):
        return set().union(*(referenced_variables(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_variables(v) for v in value))
    return set()


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """`value` with every reference replaced as `docker compose` would (unset counts as empty)."""
    if isinstance(value, Mapping):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        is_set = name in variables
        current = variables.get(name, "")
        present = bool(current) if op and op.startswith(":") else is_set
        if op in (":-", "-"):
            return current if present else arg
        if op in (":?", "?"):
            if not present:
                raise ComposeError(f"variable {name} is required: {arg}")
            return current
        if op in (":+", "+"):
            return arg if present else ""
        return current

    return _REFERENCE.sub(replace, value)


@dataclass(frozen=True)
class Service:
    """One service after interpolation (anchors and `<<` merges already applied by YAML)."""

    name: str
    spec: Mapping[str, Any]

    @property
    def environment(self) -> dict[str, str]:
        env = self.spec.get("environment") or {}
        if isinstance(env, list):  # the `- NAME=value` form
            return dict(item.split("=", 1) for item in env)
        return {key: "" if value is None else str(value) for key, value in env.items()}

    @property
    def command(self) -> list[str]:
        command = self.spec.get("command") or []
        return command.split() if isinstance(command, str) else [str(c) for c in command]

    @property
    def profiles(self) -> list[str]:
        return list(self.spec.get("profiles") or [])

    @property
    def healthcheck(self) -> Mapping[str, Any] | None:
        return self.spec.get("healthcheck")

    @property
    def container_ports(self) -> list[int]:
        """Container-side ports of `ports:` ("HOST:CONTAINER") and `expose:`."""
        ports = [int(str(p).rsplit(":", 1)[-1]) for p in self.spec.get("ports") or []]
        return ports + [int(p) for p in self.spec.get("expose") or []]


@dataclass(frozen=True)
class ComposeFile:
    path: Path
    raw: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> ComposeFile:
        try:
            raw = yaml.safe_load(Path(path).read_text())
        except yaml.YAMLError as exc:
            raise ComposeError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, Mapping) or not isinstance(raw.get("services"), Mapping):
            raise ComposeError(f"{path}: no `services:` mapping")
        return cls(Path(path), raw)

    @property
    def service_names(self) -> list[str]:
        return list(self.raw["services"])

    def referenced_variables(self) -> set[str]:
        return referenced_variables(self.raw)

    def service(self, name: str, variables: Mapping[str, str]) -> Service:
        """Service `name` with `variables` interpolated into it."""
        try:
            spec = self.raw["services"][name]
        except KeyError:
            raise ComposeError(f"{self.path}: no service {name!r}") from None
        return Service(name, interpolate(spec, variables))

    def raw_service(self, name: str) -> Service:
        """Service `name` as written (references left in place)."""
        return Service(name, self.raw["services"][name])
