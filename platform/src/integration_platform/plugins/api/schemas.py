"""The API's documents: request bodies and responses, as they appear in its OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from integration_platform.integrations.instances import Instance
from integration_platform.integrations.model import ConfigVariable, Integration
from integration_platform.integrations.naming import INSTANCE_ID_PATTERN
from integration_platform.lifecycle.service import DriftCheck, FlowReport, InstanceReport
from integration_platform.plugins.api.operations import Operation

MAX_BULK = 500
InstanceId = Field(pattern=INSTANCE_ID_PATTERN, min_length=2, max_length=63)


class Problem(BaseModel):
    """Every 4xx/5xx: one sentence, plus the fields at fault for invalid input."""

    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class ConnectionFieldOut(BaseModel):
    name: str
    label: str
    secret: bool


class VariableOut(BaseModel):
    key: str
    label: str
    kind: str
    help: str
    required: bool
    default: Any = None
    choices: list[str] = Field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    connection_fields: list[ConnectionFieldOut] = Field(default_factory=list)

    @classmethod
    def of(cls, variable: ConfigVariable) -> VariableOut:
        fields = variable.connection.fields if variable.connection else ()
        return cls(
            key=variable.key,
            label=variable.label,
            kind=str(variable.kind),
            help=variable.help,
            required=variable.required,
            default=variable.default,
            choices=list(variable.choices),
            minimum=variable.minimum,
            maximum=variable.maximum,
            connection_fields=[
                ConnectionFieldOut(name=f.name, label=f.label, secret=f.secret) for f in fields
            ],
        )


class PageOut(BaseModel):
    title: str
    description: str
    variables: list[VariableOut]


class FlowInfo(BaseModel):
    slug: str
    name: str
    description: str
    trigger: str
    events: list[str] = Field(default_factory=list)
    schedule: str | None = None


class IntegrationOut(BaseModel):
    slug: str
    name: str
    description: str
    flows: list[FlowInfo]
    pages: list[PageOut]

    @classmethod
    def of(cls, integration: Integration) -> IntegrationOut:
        return cls(
            slug=integration.slug,
            name=integration.name,
            description=integration.description,
            flows=[
                FlowInfo(
                    slug=f.slug,
                    name=f.name,
                    description=f.description,
                    trigger=str(f.trigger),
                    events=list(f.events),
                    schedule=f.schedule,
                )
                for f in integration.flows
            ],
            pages=[
                PageOut(
                    title=p.title,
                    description=p.description,
                    variables=[VariableOut.of(v) for v in p.variables],
                )
                for p in integration.pages
            ],
        )


class InstanceSummary(BaseModel):
    id: str
    integration: str
    customer: str
    state: str
    generation: int
    reason: str | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, instance: Instance) -> InstanceSummary:
        return cls(
            id=instance.id,
            integration=instance.integration,
            customer=instance.customer,
            state=str(instance.state),
            generation=instance.generation,
            reason=instance.status.reason,
            updated_at=instance.status.updated_at,
        )


class RunOut(BaseModel):
    run_id: str
    state: str
    run_type: str
    start_date: datetime | None
    duration: float | None
    url: str


class DriftCheckOut(BaseModel):
    """One finished drift-repair check: what it repaired (flow slugs) or why it did not run."""

    run_id: str
    state: str
    checked_at: datetime | None
    url: str
    summary: str
    missing: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    foreign: list[str] = Field(default_factory=list)
    removed: int = 0

    @classmethod
    def of(cls, check: DriftCheck | None) -> DriftCheckOut | None:
        if check is None:
            return None
        report = check.report
        return cls(
            run_id=check.run_id,
            state=check.state,
            checked_at=check.checked_at,
            url=check.url,
            summary=check.summary,
            missing=list(report.missing) if report else [],
            changed=list(report.changed) if report else [],
            foreign=list(report.foreign) if report else [],
            removed=report.removed if report else 0,
        )


class DriftOut(BaseModel):
    last_check: DriftCheckOut | None = None
    last_repair: DriftCheckOut | None = None


class FlowStatus(BaseModel):
    slug: str
    name: str
    trigger: str
    dag_id: str
    exists: bool
    paused: bool | None
    webhook_url: str | None
    recent_runs: list[RunOut]
    drift: DriftOut | None = None  # repair flows: the last check and the last repair

    @classmethod
    def of(cls, flow: FlowReport) -> FlowStatus:
        return cls(
            slug=flow.slug,
            name=flow.name,
            trigger=flow.trigger,
            dag_id=flow.dag_id,
            exists=flow.exists,
            paused=flow.paused,
            webhook_url=flow.webhook_url,
            recent_runs=[RunOut(**vars(run)) for run in flow.recent_runs],
            drift=DriftOut(
                last_check=DriftCheckOut.of(flow.drift.last_check),
                last_repair=DriftCheckOut.of(flow.drift.last_repair),
            )
            if flow.drift
            else None,
        )


class InstanceOut(InstanceSummary):
    paused: bool
    config: dict[str, Any]
    connections: dict[str, str]
    log_url: str | None = None
    flows: list[FlowStatus]

    @classmethod
    def of_report(cls, report: InstanceReport) -> InstanceOut:
        instance = report.instance
        return cls(
            **InstanceSummary.of(instance).model_dump(),
            paused=report.paused,
            config=dict(instance.config),
            connections=dict(instance.connections),
            log_url=instance.status.log_url,
            flows=[FlowStatus.of(flow) for flow in report.flows],
        )


class DeployBody(BaseModel):
    """The instance's customer label, config values and connection fields (secrets included:
    they go into Airflow connections, never into the instance file or a response)."""

    model_config = ConfigDict(extra="forbid")

    customer: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    connections: dict[str, dict[str, str]] = Field(default_factory=dict)


class BulkDeployBody(BaseModel):
    """Many deploys in one operation: each instance's request, keyed by instance id. An
    invalid one is reported in the operation's result and not deployed; the rest are."""

    model_config = ConfigDict(extra="forbid")

    instances: dict[str, DeployBody] = Field(min_length=1, max_length=MAX_BULK)
    force: bool = Field(default=False, description="Run Initialization even where unchanged")


class Validation(BaseModel):
    """A validate-only deploy: the request is valid; nothing was changed."""

    valid: Literal[True] = True
    instance: str
    redeploy: bool
    connections: dict[str, str]


class TestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] | None = Field(
        default=None, description="The run's conf (thin events); omitted: sample events"
    )


class ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow: str | None = Field(default=None, description="One flow's slug; omitted: every flow")
    state: Literal["failed", "success"] = "failed"
    since: datetime | None = None
    until: datetime | None = None
    event_type: str | None = Field(default=None, max_length=256, description="Webhook flows")
    object_id: str | None = Field(default=None, max_length=256, description="Webhook flows")
    mode: Literal["tasks", "events", "quarantined"] = Field(
        default="tasks",
        description="tasks: clear the runs' failed tasks; events: re-send their events as new "
        "runs; quarantined: re-send only the events they set aside",
    )
    dry_run: bool = False


class OperationOut(BaseModel):
    id: str
    kind: str
    instance: str
    status: Literal["running", "succeeded", "failed"]
    steps: list[str]
    message: str
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None
    url: str
    instances: list[str] = Field(
        default_factory=list, description="Every instance the operation acts on"
    )

    @classmethod
    def of(cls, op: Operation, url: str) -> OperationOut:
        return cls(
            id=op.id,
            kind=op.kind,
            instance=op.instance,
            status=op.status,
            steps=list(op.steps),
            message=op.message,
            result=op.result,
            created_at=op.created_at,
            finished_at=op.finished_at,
            url=url,
            instances=sorted(op.covers),
        )
