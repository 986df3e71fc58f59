"""The integration model: flows, their triggers, and the config wizard's pages and variables.

These are plain frozen dataclasses: an integration is defined in code once, read at DAG
parse time by the factory and at run time by the lifecycle service and the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from integration_platform.integrations import naming


class TriggerKind(StrEnum):
    WEBHOOK = "webhook"  # the relay triggers a run per batch of events
    DEPLOY = "deploy"  # runs on first deploy and on every redeploy
    REMOVE = "remove"  # runs when the instance is removed
    SCHEDULE = "schedule"  # runs on a cron/timetable schedule
    REPAIR = "repair"  # re-applies the deploy's setup at the source on the instance's interval


class VariableKind(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    NUMBER = "number"
    CHOICE = "choice"
    LIST = "list"
    SECRET = "secret"  # noqa: S105 - a variable kind, not a password
    CONNECTION = "connection"


SampleSource = Callable[[Mapping[str, str], int], list[str]]
"""`(connection ids by config key, how many) -> object ids`: the ids of the source's most
recently changed objects, asked at run time inside the flow's task (where the connections
are), so that a test run syncs real records. Supplied by the integration, called by
`integration_platform.integrations.sampling`."""


@dataclass(frozen=True)
class Flow:
    slug: str
    name: str
    description: str
    trigger: TriggerKind
    events: tuple[str, ...] = ()  # webhook flows: the event types they subscribe to
    schedule: str | None = None  # schedule flows: a cron expression or preset
    sample_object_ids: tuple[str, ...] = ()
    """Webhook flows: plausible object ids in the source's format, for the trigger form's
    example (and test runs of a flow without `sample_source`)."""
    sample_source: SampleSource | None = field(default=None, compare=False)
    """Webhook flows: real object ids for test runs, e.g. the most recently changed records."""

    def __post_init__(self) -> None:
        if (self.trigger is TriggerKind.WEBHOOK) != bool(self.events):
            raise ValueError(
                f"flow {self.slug!r}: events are required for, and only for, webhook flows"
            )
        if (self.trigger is TriggerKind.SCHEDULE) != bool(self.schedule):
            raise ValueError(
                f"flow {self.slug!r}: a schedule is required for, and only for, schedule flows"
            )


@dataclass(frozen=True)
class ConnectionField:
    """One field of an Airflow connection that the wizard asks for (host, login, password...)."""

    name: str
    label: str
    secret: bool = False
    placeholder: str = ""


@dataclass(frozen=True)
class ConnectionSpec:
    """How a CONNECTION variable becomes an Airflow connection `<id_prefix>__<instance>`."""

    conn_type: str
    id_prefix: str
    fields: tuple[ConnectionField, ...]

    def conn_id(self, instance_id: str) -> str:
        return naming.connection_id(self.id_prefix, instance_id)


@dataclass(frozen=True)
class ConfigVariable:
    key: str
    label: str
    kind: VariableKind
    help: str = ""
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()  # CHOICE: allowed values; LIST: allowed items (empty = any)
    connection: ConnectionSpec | None = None  # CONNECTION only
    minimum: float | None = None  # NUMBER only: the smallest value allowed
    maximum: float | None = None  # NUMBER only: the largest value allowed
    integer: bool = False  # NUMBER only: whole numbers only

    def __post_init__(self) -> None:
        if (self.kind is VariableKind.CONNECTION) != (self.connection is not None):
            raise ValueError(
                f"variable {self.key!r}: a connection spec is required for, and only for, connections"
            )
        if self.kind is VariableKind.CHOICE and not self.choices:
            raise ValueError(f"variable {self.key!r}: a choice variable needs choices")
        bounded = self.minimum is not None or self.maximum is not None or self.integer
        if bounded and self.kind is not VariableKind.NUMBER:
            raise ValueError(f"variable {self.key!r}: bounds are for number variables only")
        if self.kind is VariableKind.SECRET and (self.default is not None or not self.required):
            raise ValueError(f"variable {self.key!r}: a secret is required and has no default")

    @property
    def stored_in_instance_file(self) -> bool:
        """Secrets and connections live in Airflow connections, never in instance files."""
        return self.kind not in (VariableKind.SECRET, VariableKind.CONNECTION)


@dataclass(frozen=True)
class ConfigPage:
    title: str
    variables: tuple[ConfigVariable, ...]
    description: str = ""


@dataclass(frozen=True)
class Integration:
    slug: str
    name: str
    description: str
    flows: tuple[Flow, ...]
    pages: tuple[ConfigPage, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        slugs = [flow.slug for flow in self.flows]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"integration {self.slug!r}: flow slugs must be unique")
        keys = [variable.key for variable in self.variables]
        if len(set(keys)) != len(keys):
            raise ValueError(f"integration {self.slug!r}: config variable keys must be unique")

    @property
    def variables(self) -> tuple[ConfigVariable, ...]:
        return tuple(variable for page in self.pages for variable in page.variables)

    def variable(self, key: str) -> ConfigVariable:
        for variable in self.variables:
            if variable.key == key:
                return variable
        raise KeyError(
            f"{self.name} has no config variable {key!r}; valid: {', '.join(v.key for v in self.variables)}"
        )

    def flow(self, slug: str) -> Flow:
        for flow in self.flows:
            if flow.slug == slug:
                return flow
        raise KeyError(
            f"{self.name} has no flow {slug!r}; valid flows: {', '.join(f.slug for f in self.flows)}"
        )

    def flows_triggered_by(self, kind: TriggerKind) -> tuple[Flow, ...]:
        return tuple(flow for flow in self.flows if flow.trigger is kind)

    @property
    def connection_variables(self) -> tuple[ConfigVariable, ...]:
        return tuple(v for v in self.variables if v.kind is VariableKind.CONNECTION)

    @property
    def secret_variables(self) -> tuple[ConfigVariable, ...]:
        return tuple(v for v in self.variables if v.kind is VariableKind.SECRET)

    def dag_id(self, instance_id: str, flow_slug: str) -> str:
        return naming.dag_id(self.slug, instance_id, self.flow(flow_slug).slug)

    def webhook_urls(self, relay_public_url: str, instance_id: str) -> dict[str, str]:
        """`{flow slug: URL}` for every webhook flow: what Initialization returns as webhookUrls."""
        return {
            flow.slug: naming.webhook_url(relay_public_url, self.slug, instance_id, flow.slug)
            for flow in self.flows_triggered_by(TriggerKind.WEBHOOK)
        }
