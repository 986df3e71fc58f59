"""Read-only pages: the instance list and one instance's detail."""

from __future__ import annotations

from contextlib import closing

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from integration_platform.integrations import drift
from integration_platform.integrations.instances import Instance
from integration_platform.integrations.model import Integration, TriggerKind, VariableKind
from integration_platform.lifecycle.drift_status import drift_lines
from integration_platform.lifecycle.errors import AirflowApiError
from integration_platform.lifecycle.quarantine import QuarantinedEntry
from integration_platform.lifecycle.service import InstanceReport, InstanceService
from integration_platform.plugins import executions
from integration_platform.plugins.auth import CallerDep
from integration_platform.plugins.deps import IntegrationDep, ServiceFactoryDep
from integration_platform.plugins.notices import notice_from
from integration_platform.plugins.rendering import render
from integration_platform.plugins.views import (
    ConnectionBlock,
    DriftLine,
    DriftRow,
    FlowCell,
    InstanceDetail,
    InstanceRow,
    RunRow,
    SettingRow,
    WebhookRow,
)
from integration_platform.plugins.visibility import VisibleInstance, visible_broken, visible_of
from integration_platform.registry import integrations

router = APIRouter(dependencies=[VisibleInstance])
RECENT_RUNS = 25
QUARANTINE_LIMIT = 50


def _row(
    integration: Integration,
    instance: Instance,
    paused_by_dag: dict[str, bool],
    latest: dict[str, RunRow],
) -> InstanceRow:
    flows = []
    for flow in integration.flows:
        dag_id = integration.dag_id(instance.id, flow.slug)
        flows.append(
            FlowCell(
                slug=flow.slug,
                name=flow.name,
                trigger=str(flow.trigger),
                dag_id=dag_id,
                paused=paused_by_dag.get(dag_id),
                last_run=latest.get(dag_id),
            )
        )
    states = [cell.paused for cell in flows if cell.paused is not None]
    return InstanceRow(
        id=instance.id,
        customer=instance.customer,
        state=str(instance.state),
        generation=instance.generation,
        paused=bool(states) and all(states),
        flows=tuple(flows),
    )


@router.get("/", response_class=HTMLResponse)
def instance_list(
    request: Request, caller: CallerDep, integration: IntegrationDep, services: ServiceFactoryDep
) -> HTMLResponse:
    with closing(services()) as service:
        every = service.list_instances()
        instances = visible_of(integration, caller, every)
        broken_files = visible_broken(
            integration,
            caller,
            service.broken_instance_files(),
            sees_every_instance=len(instances) == len(every),
        )
        broken = [str(error) for error in broken_files]
        dags = (
            service.airflow.list_dags(tags=[f"integration:{integration.slug}"]) if instances else []
        )
        paused_by_dag = {dag.dag_id: dag.is_paused for dag in dags}
        flow_of_dag = {
            integration.dag_id(i.id, f.slug): f.slug for i in instances for f in integration.flows
        }
        known = [d for d in flow_of_dag if d in paused_by_dag]
        latest_runs = executions.latest_run_per_dag(service.airflow, known)
        rows = executions.run_rows(integration, flow_of_dag, list(latest_runs.values()), {})
    latest = {row.dag_id: row for row in rows}
    return render(
        request,
        "instances.html",
        caller=caller,
        integration=integration,
        installed=list(integrations().values()),
        instances=[_row(integration, i, paused_by_dag, latest) for i in instances],
        broken=broken,
        notice=notice_from(request),
    )


def _settings(integration: Integration, instance: Instance) -> tuple[SettingRow, ...]:
    rows = [SettingRow("Customer", instance.customer)]
    for variable in integration.variables:
        if not variable.stored_in_instance_file:
            continue
        value = instance.config.get(variable.key)
        if variable.kind is VariableKind.BOOLEAN:
            shown = "yes" if value else "no"
        elif variable.kind is VariableKind.LIST:
            shown = ", ".join(str(v) for v in value) if value else "(all)"
        else:
            shown = "—" if value in (None, "") else str(value)
        rows.append(SettingRow(variable.label, shown, mono=variable.kind is VariableKind.STRING))
    return tuple(rows)


def _connections(
    integration: Integration, instance: Instance, service: InstanceService, may_read: bool
) -> tuple[ConnectionBlock, ...]:
    """Connection ids always; non-secret fields only if Airflow lets the caller read them."""
    blocks = []
    for variable in integration.connection_variables:
        assert variable.connection is not None
        conn_id = instance.connections.get(variable.key, variable.connection.conn_id(instance.id))
        stored = service.airflow.get_connection(conn_id) if may_read else None
        fields = []
        for spec in variable.connection.fields:
            if spec.secret:
                fields.append(SettingRow(spec.label, "", secret=True))
            elif stored is not None:
                fields.append(SettingRow(spec.label, str(stored.get(spec.name) or "—")))
        blocks.append(ConnectionBlock(variable.label, conn_id, tuple(fields)))
    return tuple(blocks)


def _drift_rows(instance: Instance, report: InstanceReport) -> tuple[DriftRow, ...]:
    """Each repair flow's interval and its last check and repair, with links to the runs."""
    every = drift.interval(instance.config)
    schedule = f"every {every.total_seconds() / 60:g} min" if every else "only when triggered"
    rows = []
    for flow in report.flows:
        if flow.drift is None:
            continue
        checks = {"last check": flow.drift.last_check, "last repair": flow.drift.last_repair}
        lines = tuple(
            DriftLine(label, text, checks[label].url, checks[label].state)
            if checks[label] is not None
            else DriftLine(label, text, "", "")
            for label, text in drift_lines(flow.drift)
        )
        rows.append(DriftRow(flow.slug, flow.name, schedule, lines))
    return tuple(rows)


def _quarantined(
    service: InstanceService, instance_id: str
) -> tuple[tuple[QuarantinedEntry, ...], tuple[str, ...]]:
    """Both sources' quarantined events, and a line for each source the page could not read
    (the relay down or not configured, the caller not allowed to read XComs)."""
    problems = []
    relay, known = service.relay_quarantined(instance_id, limit=QUARANTINE_LIMIT)
    if not known:
        problems.append("the relay's quarantine is not shown: relay not configured or down")
    try:
        flows = service.flow_quarantined(instance_id, limit=QUARANTINE_LIMIT)
    except AirflowApiError as error:
        flows = ()
        problems.append(f"events set aside by runs are not shown: {error}")
    return relay + flows, tuple(problems)


def instance_detail(
    integration: Integration,
    service: InstanceService,
    report: InstanceReport,
    may_read_connections: bool,
) -> InstanceDetail:
    instance = report.instance
    flow_of_dag = {flow.dag_id: flow.slug for flow in report.flows}
    known = [flow.dag_id for flow in report.flows if flow.exists]
    runs = executions.recent_runs(service.airflow, known, RECENT_RUNS)
    log_tasks = executions.log_tasks(service.airflow, runs)
    paused = {flow.dag_id: bool(flow.paused) for flow in report.flows if flow.exists}
    row = _row(integration, instance, paused, {})
    webhooks = tuple(
        WebhookRow(
            flow_slug=flow.slug,
            flow_name=flow.name,
            events=integration.flow(flow.slug).events,
            url=flow.webhook_url or "(registered by the first successful Initialization)",
            held_events=flow.held_events,
        )
        for flow in report.flows
        if integration.flow(flow.slug).trigger is TriggerKind.WEBHOOK
    )
    quarantined, problems = _quarantined(service, instance.id)
    testable = tuple(
        cell for cell in row.flows if integration.flow(cell.slug).trigger is not TriggerKind.REMOVE
    )
    return InstanceDetail(
        row=row,
        integration_name=integration.name,
        status_reason=instance.status.reason,
        status_log_url=instance.status.log_url,
        settings=_settings(integration, instance),
        connections=_connections(integration, instance, service, may_read_connections),
        webhooks=webhooks,
        runs=tuple(executions.run_rows(integration, flow_of_dag, runs, log_tasks)),
        testable_flows=testable,
        drift=_drift_rows(instance, report),
        quarantined=quarantined,
        quarantine_problems=problems,
    )


@router.get("/instances/{instance_id}", response_class=HTMLResponse)
def instance_page(
    instance_id: str,
    request: Request,
    caller: CallerDep,
    integration: IntegrationDep,
    services: ServiceFactoryDep,
) -> HTMLResponse:
    with closing(services()) as service:
        report = service.status(instance_id, recent=1)
        detail = instance_detail(integration, service, report, caller.can_read_connections)
    return render(
        request,
        "instance.html",
        caller=caller,
        detail=detail,
        crumbs=[(instance_id, None)],
        notice=notice_from(request),
    )
