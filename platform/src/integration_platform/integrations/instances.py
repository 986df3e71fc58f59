"""Instance files: one strictly validated YAML file per deployed instance.

An instance file is data only (no code, no import paths, no secrets): the instance's id,
customer label, config values, the Airflow connection ids holding its credentials, its
deploy generation and its lifecycle state. The DAG factory reads these files at parse time
(local file I/O only); the lifecycle service writes them atomically.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from integration_platform.integrations.config import (
    ConfigError,
    FieldError,
    field_errors,
    validate_config,
)
from integration_platform.integrations.model import Integration
from integration_platform.integrations.naming import INSTANCE_ID_PATTERN, is_valid_instance_id
from integration_platform.integrations.secrets import expected_connection_ids

INSTANCES_DIR_ENV = "INTEGRATION_INSTANCES_DIR"
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader parses ~10x faster: the DAG factory reads every file at parse time."""
SUFFIX = ".yaml"


class InstanceState(StrEnum):
    DEPLOYING = "deploying"
    ACTIVE = "active"
    PAUSED = "paused"
    REMOVING = "removing"
    FAILED = "failed"


class InstanceStatus(BaseModel):
    """Why the instance is in its state: the reason and where to look (e.g. a task log URL)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = None
    log_url: str | None = None
    updated_at: datetime | None = None


class Instance(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=INSTANCE_ID_PATTERN)
    integration: str = Field(min_length=1)
    customer: str = Field(min_length=1, max_length=200)
    generation: int = Field(ge=1)
    state: InstanceState = InstanceState.DEPLOYING
    config: dict[str, Any] = Field(default_factory=dict)
    connections: dict[str, str] = Field(default_factory=dict)
    config_digest: str | None = None
    status: InstanceStatus = Field(default_factory=InstanceStatus)

    @model_validator(mode="after")
    def _connections_are_ids_not_secrets(self) -> Instance:
        for key, conn_id in self.connections.items():
            if not conn_id.replace("_", "").replace("-", "").replace(".", "").isalnum():
                raise ValueError(f"connections.{key}: {conn_id!r} is not an Airflow connection id")
        return self

    def check_against(self, integration: Integration) -> Instance:
        """Validate config and connection ids against the integration; return a normalised copy."""
        errors: list[FieldError] = []
        try:
            config = validate_config(integration, self.config)
        except ConfigError as error:
            errors.extend(error.errors)
            config = self.config
        expected = expected_connection_ids(integration, self.id)
        for key in sorted(set(expected) | set(self.connections)):
            if key not in expected:
                errors.append(FieldError(f"connections.{key}", "unknown connection or secret"))
            elif self.connections.get(key) != expected[key]:
                errors.append(FieldError(f"connections.{key}", f"must be {expected[key]!r}"))
        if errors:
            raise ConfigError(errors)
        return self.model_copy(update={"config": config})


class InstanceFileError(ValueError):
    """A broken instance file: names the file, the field and the reason."""

    def __init__(self, path: Path, errors: list[FieldError]) -> None:
        self.path = path
        self.errors = errors
        super().__init__(f"{path}: " + "; ".join(str(error) for error in errors))


class InstanceNotFound(KeyError):
    def __init__(self, instance_id: str, known: list[str]) -> None:
        self.instance_id = instance_id
        listing = ", ".join(known) if known else "none deployed"
        super().__init__(f"no instance {instance_id!r}; known instances: {listing}")

    def __str__(self) -> str:
        return str(self.args[0])


def parse_instance(path: Path, text: str, integrations: Mapping[str, Integration]) -> Instance:
    """Parse and fully validate one instance file's text (no I/O)."""
    try:
        data = yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader, C if available
    except yaml.YAMLError as error:
        raise InstanceFileError(path, [FieldError("(file)", f"not valid YAML: {error}")]) from None
    if not isinstance(data, dict):
        raise InstanceFileError(path, [FieldError("(file)", "must be a YAML mapping")])
    try:
        instance = Instance.model_validate(data)
    except ValidationError as error:
        raise InstanceFileError(path, field_errors(error)) from None
    if path.name != f"{instance.id}{SUFFIX}":
        raise InstanceFileError(
            path, [FieldError("id", f"must match the file name ({path.stem!r})")]
        )
    integration = integrations.get(instance.integration)
    if integration is None:
        known = ", ".join(sorted(integrations))
        raise InstanceFileError(
            path, [FieldError("integration", f"unknown integration; known: {known}")]
        )
    try:
        return instance.check_against(integration)
    except ConfigError as error:
        raise InstanceFileError(path, error.errors) from None


def resolve_instances_dir(default: Path | str) -> Path:
    """The instances directory: `$INTEGRATION_INSTANCES_DIR` if set, else `default`."""
    return Path(os.environ.get(INSTANCES_DIR_ENV) or default)


class InstanceStore:
    """The instances directory. Reads are plain file reads; writes are atomic renames."""

    def __init__(self, directory: Path | str, integrations: Mapping[str, Integration]) -> None:
        self.directory = Path(directory)
        self.integrations = integrations

    def path_for(self, instance_id: str) -> Path:
        """The file of a valid id; any other string (`../x`, `a/b`) never becomes a path."""
        if not is_valid_instance_id(instance_id):
            raise ValueError(f"{instance_id!r} is not a valid instance id")
        return self.directory / f"{instance_id}{SUFFIX}"

    def paths(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def ids(self) -> list[str]:
        return [path.stem for path in self.paths()]

    def load_file(self, path: Path) -> Instance:
        return parse_instance(path, path.read_text(encoding="utf-8"), self.integrations)

    def get(self, instance_id: str) -> Instance:
        path = self.path_for(instance_id)
        if not path.exists():
            raise InstanceNotFound(instance_id, self.ids())
        return self.load_file(path)

    def exists(self, instance_id: str) -> bool:
        return is_valid_instance_id(instance_id) and self.path_for(instance_id).exists()

    def scan(self) -> tuple[list[Instance], list[InstanceFileError]]:
        """Every valid instance, and one error per broken file (a bad file never hides others)."""
        instances, errors = [], []
        for path in self.paths():
            try:
                instances.append(self.load_file(path))
            except InstanceFileError as error:
                errors.append(error)
        return instances, errors

    def save(self, instance: Instance) -> Path:
        """Write atomically: readers (the DAG processor) see the old file or the new, never half."""
        integration = self.integrations[instance.integration]
        instance = instance.check_against(integration)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path_for(instance.id)
        text = yaml.safe_dump(instance.model_dump(mode="json", exclude_none=True), sort_keys=False)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{instance.id}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def delete(self, instance_id: str) -> None:
        self.path_for(instance_id).unlink(missing_ok=True)
