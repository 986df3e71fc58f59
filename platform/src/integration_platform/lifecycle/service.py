"""The instance lifecycle as a Python API, shared by the `integrations` CLI and the UI plugin.

    service = InstanceService(LifecycleSettings.from_env())      # or InstanceService.from_env()

    service.validate(instance_id, request)                 -> DeployPlan     (no side effects)
    service.deploy(instance_id, request, progress=cb)      -> DeployResult   (outcome deployed |
                                                                              unchanged | failed)
    service.remove(instance_id, progress=cb)               -> RemoveResult   (removed True/False)
    service.list_instances()                               -> list[Instance]
    service.broken_instance_files()                        -> list[InstanceFileError]
    service.get_instance(instance_id)                      -> Instance  (UnknownName if none)
    service.find_instance(instance_id)                     -> Instance | None
    service.webhook_urls(instance_id)                      -> {flow slug: URL} (last good init)
    service.dag_ids(instance_id)                           -> {flow slug: DAG id}
    service.flow(slug)                                     -> Flow      (UnknownName if none)
    service.status(instance_id, recent=5)                  -> InstanceReport (flows, DAG ids,
                                                              paused, webhook URLs, recent runs)
    service.pause(instance_id) / service.resume(instance_id) -> InstanceReport
    service.test_flow(instance_id, flow, payload=None, progress=cb) -> FlowTestResult
    service.replay(instance_id, flow=None, state="failed", since=None, dry_run=False)
                                                           -> list[ReplayItem]

`request` is a `request.DeployRequest` (`DeployRequest.from_mapping(data, source="UI form")`
builds one from a form). `progress` is any `Callable[[str], None]`; it receives one short
human line per step and never a secret.

Errors (all `errors.LifecycleError`, each with an `exit_code`): `InvalidRequest` (names the
source and every bad field; nothing was changed), `UnknownName` (lists the valid instances or
flows), `AirflowUnreachable` / `AirflowAuthError`, `AirflowApiError`, `InstanceBusy` (another
deploy or remove of the instance is running, from the CLI or the UI). A failed initialization
or teardown is *not* an exception: the result says `failed`, with the reason and a task log URL,
and the instance file records it (state `failed`) so a later deploy or remove retries.

Airflow is reached only through its REST API v2.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from integration_platform.integrations import naming
from integration_platform.integrations.config import FieldError
from integration_platform.integrations.instances import (
    Instance,
    InstanceFileError,
    InstanceState,
    InstanceStatus,
    InstanceStore,
)
from integration_platform.integrations.model import Flow, Integration, TriggerKind
from integration_platform.lifecycle.airflow_api import AirflowClient, Dag, DagRun, TaskInstance
from integration_platform.lifecycle.errors import (
    AirflowUnreachable,
    InvalidRequest,
    LifecycleError,
    UnknownName,
)
from integration_platform.lifecycle.instance_lock import instance_lock
from integration_platform.lifecycle.relay_control import DrainResult, InstanceRoutes, RunDrain
from integration_platform.lifecycle.request import DeployPlan, DeployRequest, plan_deploy
from integration_platform.lifecycle.samples import check_payload, sample_payload
from integration_platform.lifecycle.settings import LifecycleSettings
from integration_platform.registry import integrations, resolve_integration

Progress = Callable[[str], None]
DeployOutcome = Literal["deployed", "unchanged", "failed"]
REPLAYABLE_STATES = ("failed", "success")
_GENERATION_RUN_ID = re.compile(r"^(?:deploy|teardown)__generation_(\d+)")


def _quiet(_message: str) -> None:
    return None


def _now() -> datetime:
    return datetime.now(UTC)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str | None
    duration: float | None
    log_url: str
    try_number: int = 0


@dataclass(frozen=True)
class RunOutcome:
    """A finished (or timed out) run, its tasks, and the first failed task if any."""

    dag_id: str
    run_id: str
    state: str
    url: str
    tasks: tuple[TaskOutcome, ...] = ()
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed_task(self) -> TaskOutcome | None:
        return next((t for t in self.tasks if t.state in ("failed", "upstream_failed")), None)

    def failure_reason(self, what: str, error: str | None = None) -> tuple[str, str]:
        """`(reason, log URL)` for an unsuccessful run; `error` is the failed task's exception."""
        if self.timed_out:
            return f"{what} run {self.run_id} still {self.state} after the timeout", self.url
        task = self.failed_task
        if task is None:
            return f"{what} run {self.run_id} ended {self.state}", self.url
        reason = f"{what} run {self.run_id} failed in task {task.task_id}"
        return (f"{reason}: {error}" if error else reason), task.log_url


@dataclass(frozen=True)
class DeployResult:
    instance: Instance
    outcome: DeployOutcome
    webhook_urls: Mapping[str, str] = field(default_factory=dict)
    run: RunOutcome | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


@dataclass(frozen=True)
class RemoveResult:
    instance_id: str
    removed: bool
    run: RunOutcome | None = None
    reason: str | None = None
    log_url: str | None = None
    deleted_connections: tuple[str, ...] = ()
    discarded_events: int = 0  # held in the relay, discarded when its routes were retired
    cleared_runs: int = 0  # queued runs marked failed before they started
    failed_runs: int = 0  # running runs marked failed after the drain timeout


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    state: str
    run_type: str
    start_date: datetime | None
    duration: float | None
    url: str


@dataclass(frozen=True)
class FlowReport:
    slug: str
    name: str
    trigger: str
    dag_id: str
    exists: bool
    paused: bool | None
    webhook_url: str | None
    recent_runs: tuple[RunSummary, ...] = ()
    held_events: int | None = None  # events the relay holds for this flow (None: unknown)


@dataclass(frozen=True)
class InstanceReport:
    instance: Instance
    flows: tuple[FlowReport, ...]

    @property
    def paused(self) -> bool:
        states = [flow.paused for flow in self.flows if flow.exists]
        return bool(states) and all(states)


@dataclass(frozen=True)
class FlowTestResult:
    instance_id: str
    flow: str
    conf: Mapping[str, Any]
    run: RunOutcome


@dataclass(frozen=True)
class ReplayItem:
    flow: str
    dag_id: str
    run_id: str
    state: str
    tasks: tuple[str, ...]
    dry_run: bool


# -- the service -------------------------------------------------------------------------------


class InstanceService:
    """Deploy, inspect and remove instances of one integration (by default the only one
    installed; name it when several are)."""

    def __init__(
        self,
        settings: LifecycleSettings,
        *,
        integration: Integration | str | None = None,
        client: AirflowClient | None = None,
    ) -> None:
        self.settings = settings
        self.integration = (
            integration
            if isinstance(integration, Integration)
            else resolve_integration(integration)
        )
        self.store = InstanceStore(settings.instances_dir, integrations())
        self._client = client
        self.relay = InstanceRoutes(settings, self.integration)

    @classmethod
    def from_env(cls, **overrides: Any) -> InstanceService:
        return cls(LifecycleSettings.from_env(**overrides))

    @property
    def airflow(self) -> AirflowClient:
        """The REST client, created on first use (validation alone never needs Airflow)."""
        if self._client is None:
            self._client = AirflowClient(
                self.settings.airflow_url,
                self.settings.airflow_username,
                self.settings.airflow_password,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- lookups -----------------------------------------------------------------------------

    def list_instances(self) -> list[Instance]:
        instances, _errors = self.store.scan()
        return [i for i in instances if i.integration == self.integration.slug]

    def broken_instance_files(self) -> list[InstanceFileError]:
        return self.store.scan()[1]

    def get_instance(self, instance_id: str) -> Instance:
        """The instance, or `UnknownName` listing the deployed ones."""
        if not self.store.exists(instance_id):
            raise UnknownName("instance", instance_id, [i.id for i in self.list_instances()])
        try:
            return self.store.get(instance_id)
        except InstanceFileError as error:
            raise InvalidRequest(str(error.path), error.errors) from None

    def flow(self, slug: str) -> Flow:
        try:
            return self.integration.flow(slug)
        except KeyError:
            raise UnknownName("flow", slug, [f.slug for f in self.integration.flows]) from None

    def dag_ids(self, instance_id: str) -> dict[str, str]:
        """`{flow slug: DAG id}` for every flow of the integration."""
        return {
            f.slug: self.integration.dag_id(instance_id, f.slug) for f in self.integration.flows
        }

    def _flow_of(self, kind: TriggerKind) -> Flow:
        return self.integration.flows_triggered_by(kind)[0]

    # -- deploy ------------------------------------------------------------------------------

    def validate(self, instance_id: str, request: DeployRequest) -> DeployPlan:
        """Validate a deploy request without touching anything."""
        existing = self.find_instance(instance_id)
        return plan_deploy(self.integration, instance_id, request, is_redeploy=existing is not None)

    def find_instance(self, instance_id: str) -> Instance | None:
        """The deployed instance, or None (also for an invalid id or a broken file)."""
        if not naming.is_valid_instance_id(instance_id) or not self.store.exists(instance_id):
            return None
        try:
            return self.store.get(instance_id)
        except InstanceFileError:
            return None  # a broken file is replaced by a valid deploy

    def deploy(
        self,
        instance_id: str,
        request: DeployRequest,
        *,
        progress: Progress | None = None,
        force: bool = False,
    ) -> DeployResult:
        """Validate, write connections and the instance file, run Initialization, wait.

        Unchanged config on an active instance is a no-op (secrets are still re-applied)
        unless `force`, which re-runs Initialization on purpose (re-applies the webhooks and
        their secrets, repairs drift); anything else starts a new generation. A paused
        instance stays paused: only its Initialization runs, and its flows wait for
        `resume`. See the module docstring for errors.
        """
        with instance_lock(self.store.directory, instance_id):
            return self._deploy(instance_id, request, progress or _quiet, force=force)

    def _deploy(
        self, instance_id: str, request: DeployRequest, report: Progress, *, force: bool = False
    ) -> DeployResult:
        existing = self.find_instance(instance_id)
        plan = plan_deploy(self.integration, instance_id, request, is_redeploy=existing is not None)
        self._check_kept_secrets(plan, request.source)

        settled = (InstanceState.ACTIVE, InstanceState.PAUSED)
        unchanged = existing is not None and existing.config_digest == plan.digest
        if unchanged and not force and existing.state in settled:
            self._apply_connections(plan, report, only_secrets=True)
            return DeployResult(
                instance=existing,
                outcome="unchanged",
                webhook_urls=self.webhook_urls(instance_id),
                message=f"{instance_id} is unchanged (generation {existing.generation}); "
                "nothing to do",
            )

        generation = existing.generation + 1 if existing else self._next_generation(instance_id)
        report(f"Deploying {instance_id} (generation {generation})")
        self._apply_connections(plan, report, only_secrets=False)
        instance = Instance(
            id=instance_id,
            integration=self.integration.slug,
            customer=plan.customer,
            generation=generation,
            state=InstanceState.DEPLOYING,
            config=dict(plan.config),
            connections=plan.connection_ids,
            config_digest=plan.digest,
            status=InstanceStatus(reason=f"deploying generation {generation}", updated_at=_now()),
        )
        return self._initialize(instance, existing, report)

    def rotate(
        self,
        instance_id: str,
        *,
        overlap_seconds: int | None = None,
        progress: Progress | None = None,
    ) -> DeployResult:
        """New webhook secrets for the instance's routes in the relay (the old ones keep
        verifying for the overlap), then Initialization again so Acme signs with the new."""
        report = progress or _quiet
        with instance_lock(self.store.directory, instance_id):
            existing = self.get_instance(instance_id)
            rotated = self.relay.rotate(instance_id, overlap_seconds)
            report(f"Rotated the relay secrets of {', '.join(rotated) or 'no route'}")
            instance = existing.model_copy(
                update={
                    "generation": existing.generation + 1,
                    "state": InstanceState.DEPLOYING,
                    "status": InstanceStatus(reason="rotating webhook secrets", updated_at=_now()),
                }
            )
            return self._initialize(instance, existing, report)

    def _initialize(
        self, instance: Instance, existing: Instance | None, report: Progress
    ) -> DeployResult:
        """Write the instance file of a new generation, run Initialization, wait."""
        instance_id, generation = instance.id, instance.generation
        init_slug = self._flow_of(TriggerKind.DEPLOY).slug
        init_dag_id = self.integration.dag_id(instance_id, init_slug)
        init_dag_before = self.airflow.get_dag(init_dag_id)
        written_at = _now()
        self.store.save(instance)
        report(f"Wrote {self.store.path_for(instance_id)}")

        dags = self._wait_for_dags(instance_id, parsed_after=written_at, report=report)
        if dags is None:
            reason = self._dags_missing_reason(instance_id)
            return self._deploy_failed(instance, reason, None, report)
        keep_paused = existing is not None and existing.state is InstanceState.PAUSED
        self._unpause({init_slug: dags[init_slug]} if keep_paused else dags, report)

        run = self._start_initialization(
            instance,
            init_dag_id,
            first_life=init_dag_before is None,
            report=report,
        )
        outcome = self._wait_for_run(run.dag_id, run.run_id, "Initialization", report)
        if not outcome.succeeded:
            reason, log_url = self._failure(outcome, "Initialization")
            return self._deploy_failed(instance, reason, log_url, report, outcome)

        urls = self._webhook_urls_of_run(outcome.dag_id, outcome.run_id)
        if keep_paused:
            self.airflow.set_paused(init_dag_id, True)
            instance = self._save_state(instance, InstanceState.PAUSED, reason=None, log_url=None)
            message = (
                f"{instance_id} deployed (generation {generation}) and kept paused; "
                "resume it to process events"
            )
        else:
            instance = self._save_state(instance, InstanceState.ACTIVE, reason=None, log_url=None)
            message = f"{instance_id} deployed (generation {generation})"
        report(message)
        return DeployResult(
            instance=instance, outcome="deployed", webhook_urls=urls, run=outcome, message=message
        )

    def _check_kept_secrets(self, plan: DeployPlan, source: str) -> None:
        """A redeploy may omit secrets only if the Airflow connection already holds them."""
        errors = [
            FieldError(
                f"connections.{conn.variable}.{name}",
                f"required (connection {conn.conn_id!r} does not exist in Airflow)",
            )
            for conn in plan.connections
            if conn.kept_fields and self.airflow.get_connection(conn.conn_id) is None
            for name in conn.kept_fields
        ]
        if errors:
            raise InvalidRequest(source, errors)

    def _apply_connections(self, plan: DeployPlan, report: Progress, *, only_secrets: bool) -> None:
        for conn in plan.connections:
            fields = dict(conn.fields)
            if only_secrets:
                fields = {k: v for k, v in fields.items() if k in conn.secret_fields}
                if not fields:
                    continue
            created = self.airflow.upsert_connection(
                conn.conn_id,
                conn.conn_type,
                fields,
                description=f"{self.integration.name} instance {plan.instance_id}: {conn.variable}",
            )
            report(f"{'Created' if created else 'Updated'} connection {conn.conn_id}")

    def _next_generation(self, instance_id: str) -> int:
        """For a new instance id: one past any generation Airflow remembers for it, so a removed
        and re-deployed instance never reuses (and gets a 409 on) an old run id."""
        highest = 0
        for flow in (self._flow_of(TriggerKind.DEPLOY), self._flow_of(TriggerKind.REMOVE)):
            dag_id = self.integration.dag_id(instance_id, flow.slug)
            if self.airflow.get_dag(dag_id) is None:
                continue
            for run in self.airflow.list_dag_runs(dag_id):
                if match := _GENERATION_RUN_ID.match(run.run_id):
                    highest = max(highest, int(match.group(1)))
        return highest + 1

    def _deploy_failed(
        self,
        instance: Instance,
        reason: str,
        log_url: str | None,
        report: Progress,
        run: RunOutcome | None = None,
    ) -> DeployResult:
        instance = self._save_state(instance, InstanceState.FAILED, reason=reason, log_url=log_url)
        report(f"{instance.id} failed: {reason}")
        return DeployResult(
            instance=instance,
            outcome="failed",
            run=run,
            message=f"{reason}" + (f"; log: {log_url}" if log_url else ""),
        )

    def _save_state(
        self, instance: Instance, state: InstanceState, *, reason: str | None, log_url: str | None
    ) -> Instance:
        updated = instance.model_copy(
            update={
                "state": state,
                "status": InstanceStatus(reason=reason, log_url=log_url, updated_at=_now()),
            }
        )
        self.store.save(updated)
        return updated

    def _start_initialization(
        self,
        instance: Instance,
        dag_id: str,
        *,
        first_life: bool,
        report: Progress,
    ) -> DagRun:
        """Generation 1 of a never-seen instance: Airflow's own `@once` run does the work (wait
        for it). Otherwise, or if it does not appear in time, trigger `deploy__generation_N`."""
        if instance.generation == 1 and first_life:
            report("Waiting for Airflow to start the first Initialization run")
            deadline = time.monotonic() + self.settings.once_grace
            while time.monotonic() < deadline:
                runs = self.airflow.list_dag_runs(dag_id, limit=5)
                if runs:
                    return runs[0]
                time.sleep(self.settings.poll_interval)
        run_id = naming.deploy_run_id(instance.generation)
        run, created = self.airflow.trigger_dag_run(
            dag_id,
            run_id,
            {"generation": instance.generation},
            note=f"deploy of {instance.id}, generation {instance.generation}",
        )
        report(f"{'Triggered' if created else 'Found'} Initialization run {run_id}")
        return run

    # -- waiting -----------------------------------------------------------------------------

    def _reparse_files(self, instance_id: str) -> None:
        """Ask Airflow to re-read the DAG file holding the instance now, instead of at its next
        parse interval. Which factory shard holds a known instance is visible on its DAGs (stale
        ones included); for a new instance, every file of the integration is re-read. A file
        without any DAG yet has no token: Airflow's periodic parse finds it."""
        dags = self.airflow.list_dags(tags=[f"instance:{instance_id}"], include_stale=True)
        if not dags:
            dags = self.airflow.list_dags(tags=[f"integration:{self.integration.slug}"])
        tokens = {dag.fileloc: dag.file_token for dag in dags if dag.file_token}
        for token in tokens.values():
            self.airflow.request_reparse(token)

    def _wait_for_dags(
        self, instance_id: str, *, parsed_after: datetime | None, report: Progress
    ) -> dict[str, Dag] | None:
        """Every flow's DAG, once Airflow has parsed it (after `parsed_after`); None on timeout."""
        wanted = self.dag_ids(instance_id)
        report(f"Waiting for Airflow to parse {len(wanted)} DAGs of {instance_id}")
        self._reparse_files(instance_id)
        deadline = time.monotonic() + self.settings.dag_timeout
        next_reparse = time.monotonic() + 15
        while True:
            found: dict[str, Dag] = {}
            try:
                for slug, dag_id in wanted.items():
                    dag = self.airflow.get_dag(dag_id)
                    fresh = dag is not None and not dag.is_stale
                    if fresh and parsed_after and dag.last_parsed_time:
                        fresh = dag.last_parsed_time >= parsed_after
                    if fresh and dag is not None:
                        found[slug] = dag
            except AirflowUnreachable as error:
                report(f"Airflow is not answering ({error.reason}); still waiting")
            if len(found) == len(wanted):
                report(f"Airflow has parsed the DAGs of {instance_id}")
                return found
            if time.monotonic() >= deadline:
                return None
            if time.monotonic() >= next_reparse:
                self._reparse_files(instance_id)
                next_reparse = time.monotonic() + 15
            time.sleep(self.settings.poll_interval)

    def _dags_missing_reason(self, instance_id: str) -> str:
        reason = (
            f"Airflow did not parse the DAGs of {instance_id} within "
            f"{self.settings.dag_timeout:.0f}s"
        )
        errors = self.airflow.import_errors()
        if errors:
            first = errors[0]
            last_line = (first.get("stack_trace") or "").strip().splitlines()[-1:] or [""]
            reason += f"; import error in {first.get('filename')}: {last_line[0]}"
        return reason

    def _unpause(self, dags: Mapping[str, Dag], report: Progress) -> None:
        for dag in dags.values():
            if dag.is_paused:
                self.airflow.set_paused(dag.dag_id, False)
                report(f"Unpaused {dag.dag_id}")

    def _wait_for_run(self, dag_id: str, run_id: str, what: str, report: Progress) -> RunOutcome:
        """Poll until the run finishes (or `run_timeout`), reporting run and task state changes.
        A slow or briefly unreachable Airflow is waited out, not treated as a failure."""
        deadline = time.monotonic() + self.settings.run_timeout
        seen: dict[str, str | None] = {}
        run = None
        polls = 0
        while time.monotonic() < deadline:
            try:
                run = self.airflow.get_dag_run(dag_id, run_id)
                state = run.state if run else "missing"
                if seen.get("") != state:
                    report(f"{what} run {run_id}: {state}")
                    seen[""] = state
                if run is not None and run.finished:
                    return self._run_outcome(run)
                if run is not None and polls % 3 == 0:
                    for ti in self.airflow.task_instances(dag_id, run_id):
                        if ti.state and seen.get(ti.task_id) != ti.state:
                            report(f"  task {ti.task_id}: {ti.state}")
                            seen[ti.task_id] = ti.state
            except AirflowUnreachable as error:
                report(f"Airflow is not answering ({error.reason}); still waiting")
            polls += 1
            time.sleep(self.settings.poll_interval)
        return RunOutcome(
            dag_id=dag_id,
            run_id=run_id,
            state=run.state if run else "missing",
            url=self.airflow.run_url(dag_id, run_id),
            tasks=self._task_outcomes(dag_id, run_id) if run else (),
            timed_out=True,
        )

    def _task_outcomes(self, dag_id: str, run_id: str) -> tuple[TaskOutcome, ...]:
        return tuple(
            self._task_outcome(dag_id, run_id, ti)
            for ti in self.airflow.task_instances(dag_id, run_id)
        )

    def _task_outcome(self, dag_id: str, run_id: str, ti: TaskInstance) -> TaskOutcome:
        return TaskOutcome(
            task_id=ti.task_id,
            state=ti.state,
            duration=ti.duration,
            log_url=self.airflow.task_log_url(dag_id, run_id, ti.task_id),
            try_number=ti.try_number,
        )

    def _failure(self, outcome: RunOutcome, what: str) -> tuple[str, str]:
        """Why a run failed, with the failed task's exception when its log is readable."""
        task = outcome.failed_task
        error = None
        if task is not None and task.state == "failed" and task.try_number:
            try:
                error = self.airflow.task_error(
                    outcome.dag_id, outcome.run_id, task.task_id, task.try_number
                )
            except LifecycleError:
                error = None  # the reason without the exception is still worth recording
        return outcome.failure_reason(what, error)

    def _run_outcome(self, run: DagRun) -> RunOutcome:
        return RunOutcome(
            dag_id=run.dag_id,
            run_id=run.run_id,
            state=run.state,
            url=self.airflow.run_url(run.dag_id, run.run_id),
            tasks=self._task_outcomes(run.dag_id, run.run_id),
        )

    # -- webhook URLs ------------------------------------------------------------------------

    def _webhook_urls_of_run(self, dag_id: str, run_id: str) -> dict[str, str]:
        """`webhookUrls` as returned by the run's first task that returned them."""
        for ti in self.airflow.task_instances(dag_id, run_id):
            if ti.state != "success":
                continue
            value = self.airflow.xcom_return_value(dag_id, run_id, ti.task_id)
            if isinstance(value, Mapping) and isinstance(value.get("webhookUrls"), Mapping):
                return {str(k): str(v) for k, v in value["webhookUrls"].items()}
        return {}

    def webhook_urls(self, instance_id: str) -> dict[str, str]:
        """Webhook URLs from the newest successful Initialization run ({} if none succeeded)."""
        dag_id = self.integration.dag_id(instance_id, self._flow_of(TriggerKind.DEPLOY).slug)
        if self.airflow.get_dag(dag_id) is None:
            return {}
        runs = self.airflow.list_dag_runs(dag_id, states=["success"], limit=1)
        return self._webhook_urls_of_run(dag_id, runs[0].run_id) if runs else {}

    # -- remove ------------------------------------------------------------------------------

    def remove(self, instance_id: str, *, progress: Progress | None = None) -> RemoveResult:
        """Run Teardown and wait; on success delete the instance file and its connections.
        If Teardown fails, nothing is deleted and the instance is marked failed with the reason."""
        with instance_lock(self.store.directory, instance_id):
            return self._remove(instance_id, progress or _quiet)

    def _remove(self, instance_id: str, report: Progress) -> RemoveResult:
        instance = self.get_instance(instance_id)
        dag_id = self.integration.dag_id(instance_id, self._flow_of(TriggerKind.REMOVE).slug)
        instance = self._save_state(
            instance, InstanceState.REMOVING, reason="running Teardown", log_url=None
        )
        dag = self.airflow.get_dag(dag_id)
        if dag is None or dag.is_stale:
            dags = self._wait_for_dags(instance_id, parsed_after=None, report=report)
            dag = dags.get(self._flow_of(TriggerKind.REMOVE).slug) if dags else None
        if dag is None:
            reason = f"Teardown DAG {dag_id} is not in Airflow; nothing was deleted"
            self._save_state(instance, InstanceState.FAILED, reason=reason, log_url=None)
            return RemoveResult(instance_id, removed=False, reason=reason)
        if dag.is_paused:
            self.airflow.set_paused(dag_id, False)
        drained = self._stop_intake_and_drain(instance_id, report)

        run_id = f"teardown__generation_{instance.generation}"
        run, created = self.airflow.trigger_dag_run(
            dag_id, run_id, {"generation": instance.generation}, note=f"remove {instance_id}"
        )
        if not created and run.state == "failed":
            report(f"Retrying the failed tasks of Teardown run {run_id}")
            self.airflow.clear_dag_run(dag_id, run_id, only_failed=True, dry_run=False)
        else:
            report(f"{'Triggered' if created else 'Found'} Teardown run {run_id}")
        outcome = self._wait_for_run(dag_id, run_id, "Teardown", report)
        if not outcome.succeeded:
            reason, log_url = self._failure(outcome, "Teardown")
            reason += "; nothing was deleted"
            self._save_state(instance, InstanceState.FAILED, reason=reason, log_url=log_url)
            report(f"{instance_id} not removed: {reason}")
            return RemoveResult(instance_id, False, outcome, reason, log_url)

        late = RunDrain(self.airflow, self.settings).sweep(self._webhook_dag_ids(instance_id))
        for flow_dag_id in self.dag_ids(instance_id).values():
            existing = self.airflow.get_dag(flow_dag_id)
            if existing is not None and not existing.is_paused:
                self.airflow.set_paused(flow_dag_id, True)  # nothing may run without connections
        discarded = self._discarded_events(dag_id, run_id)
        report(
            f"Discarded {discarded} held relay event(s); cleared {drained.cleared_queued + late}"
            f" queued run(s); marked {drained.failed_running} running run(s) failed"
        )
        deleted = self._delete_instance(instance, report)
        return RemoveResult(
            instance_id,
            True,
            outcome,
            deleted_connections=tuple(deleted),
            discarded_events=discarded,
            cleared_runs=drained.cleared_queued + late,
            failed_runs=drained.failed_running,
        )

    def _delete_instance(self, instance: Instance, report: Progress) -> list[str]:
        """The instance file and its connections; returns the connection ids deleted."""
        self.store.delete(instance.id)
        report(f"Deleted {self.store.path_for(instance.id)}")
        deleted = []
        for conn_id in instance.connections.values():
            if self.airflow.delete_connection(conn_id):
                deleted.append(conn_id)
                report(f"Deleted connection {conn_id}")
        self._reparse_files(instance.id)
        return deleted

    def _webhook_dag_ids(self, instance_id: str) -> list[str]:
        return [
            self.integration.dag_id(instance_id, flow.slug)
            for flow in self.integration.flows_triggered_by(TriggerKind.WEBHOOK)
        ]

    def _stop_intake_and_drain(self, instance_id: str, report: Progress) -> DrainResult:
        """Pause the relay routes (no new runs), clear queued runs, let running ones finish
        (their DAGs stay unpaused meanwhile: a paused DAG's runs never complete)."""
        self.relay.set_paused(instance_id, True, report)
        return RunDrain(self.airflow, self.settings).drain(
            self._webhook_dag_ids(instance_id), report
        )

    def _discarded_events(self, dag_id: str, run_id: str) -> int:
        """What Teardown's `retire_routes` task reports the relay discarded."""
        try:
            counts = self.airflow.xcom_return_value(dag_id, run_id, "retire_routes")
        except LifecycleError:
            return 0
        return sum(counts.values()) if isinstance(counts, Mapping) else 0

    # -- status, pause, resume ---------------------------------------------------------------

    def status(self, instance_id: str, *, recent: int = 5) -> InstanceReport:
        instance = self.get_instance(instance_id)
        urls = self.webhook_urls(instance_id)
        held = self.relay.held(instance_id)
        flows = []
        for flow in self.integration.flows:
            dag_id = self.integration.dag_id(instance_id, flow.slug)
            dag = self.airflow.get_dag(dag_id)
            runs = self.airflow.list_dag_runs(dag_id, limit=recent) if dag else []
            flows.append(
                FlowReport(
                    slug=flow.slug,
                    name=flow.name,
                    trigger=str(flow.trigger),
                    dag_id=dag_id,
                    exists=dag is not None and not dag.is_stale,
                    paused=dag.is_paused if dag else None,
                    webhook_url=urls.get(flow.slug),
                    held_events=held.get(flow.slug),
                    recent_runs=tuple(
                        RunSummary(
                            run_id=r.run_id,
                            state=r.state,
                            run_type=r.run_type,
                            start_date=r.start_date,
                            duration=r.duration,
                            url=self.airflow.run_url(dag_id, r.run_id),
                        )
                        for r in runs
                    ),
                )
            )
        return InstanceReport(instance=instance, flows=tuple(flows))

    def pause(self, instance_id: str, *, progress: Progress | None = None) -> InstanceReport:
        """Pause the instance's routes in the relay, then its DAGs: the relay keeps accepting
        and holds the events, no DAG run is created until `resume`."""
        return self._set_paused(instance_id, True, progress or _quiet)

    def resume(self, instance_id: str, *, progress: Progress | None = None) -> InstanceReport:
        """Unpause the DAGs, then the routes: the held events are delivered in batches."""
        return self._set_paused(instance_id, False, progress or _quiet)

    def _set_paused(self, instance_id: str, paused: bool, report: Progress) -> InstanceReport:
        instance = self.get_instance(instance_id)
        if paused:
            self.relay.set_paused(instance_id, True, report)
        for dag_id in self.dag_ids(instance_id).values():
            dag = self.airflow.get_dag(dag_id)
            if dag is not None and dag.is_paused != paused:
                self.airflow.set_paused(dag_id, paused)
        if not paused:
            self.relay.set_paused(instance_id, False, report)
        if instance.state in (InstanceState.ACTIVE, InstanceState.PAUSED):
            state = InstanceState.PAUSED if paused else InstanceState.ACTIVE
            if state != instance.state:
                self._save_state(instance, state, reason=None, log_url=None)
        return self.status(instance_id)

    # -- test a flow -------------------------------------------------------------------------

    def test_flow(
        self,
        instance_id: str,
        flow_slug: str,
        *,
        payload: Mapping[str, Any] | None = None,
        payload_source: str = "payload",
        progress: Progress | None = None,
    ) -> FlowTestResult:
        """Run one flow of an instance now (webhook flows with sample or given thin events)."""
        report = progress or _quiet
        self.get_instance(instance_id)
        flow = self.flow(flow_slug)
        if flow.trigger is TriggerKind.REMOVE:
            raise InvalidRequest(
                "flow",
                [FieldError(flow.slug, "deletes the instance's webhooks; use `remove` instead")],
            )
        conf = (
            sample_payload(flow)
            if payload is None
            else check_payload(flow, payload, source=payload_source)
        )
        dag_id = self.integration.dag_id(instance_id, flow.slug)
        dag = self.airflow.get_dag(dag_id)
        if dag is None or dag.is_stale:
            raise InvalidRequest(
                "flow", [FieldError(flow.slug, f"DAG {dag_id} is not in Airflow; deploy first")]
            )
        if dag.is_paused:
            raise InvalidRequest(
                "flow", [FieldError(flow.slug, f"{instance_id} is paused; resume it first")]
            )
        stamp = _now().strftime("%Y%m%dT%H%M%S")
        run_id = f"test__{stamp}__{secrets.token_hex(4)}"
        self.airflow.trigger_dag_run(dag_id, run_id, conf, note="test-flow")
        report(f"Triggered {flow.name} run {run_id}")
        outcome = self._wait_for_run(dag_id, run_id, flow.name, report)
        return FlowTestResult(instance_id=instance_id, flow=flow.slug, conf=conf, run=outcome)

    # -- replay ------------------------------------------------------------------------------

    def replay(
        self,
        instance_id: str,
        *,
        flow: str | None = None,
        state: str = "failed",
        since: datetime | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> list[ReplayItem]:
        """Re-run matching runs by clearing them (failed runs: only their failed tasks).

        Without `flow`, every webhook and scheduled flow; `since` filters on the run's time."""
        report = progress or _quiet
        self.get_instance(instance_id)
        if state not in REPLAYABLE_STATES:
            raise InvalidRequest(
                "--state", [FieldError("state", f"must be one of {', '.join(REPLAYABLE_STATES)}")]
            )
        flows = (
            [self.flow(flow)]
            if flow
            else [
                f
                for f in self.integration.flows
                if f.trigger in (TriggerKind.WEBHOOK, TriggerKind.SCHEDULE)
            ]
        )
        items = []
        for selected in flows:
            dag_id = self.integration.dag_id(instance_id, selected.slug)
            if self.airflow.get_dag(dag_id) is None:
                continue
            for run in self.airflow.list_dag_runs(dag_id, states=[state], since=since):
                tasks = self.airflow.clear_dag_run(
                    dag_id, run.run_id, only_failed=state == "failed", dry_run=dry_run
                )
                report(f"{'Would re-run' if dry_run else 'Re-running'} {dag_id} {run.run_id}")
                items.append(
                    ReplayItem(
                        flow=selected.slug,
                        dag_id=dag_id,
                        run_id=run.run_id,
                        state=run.state,
                        tasks=tuple(tasks),
                        dry_run=dry_run,
                    )
                )
        return items


def parse_since(value: str) -> datetime:
    """`--since`: an ISO timestamp (naive = UTC) or a relative `30m`, `6h`, `2d`."""
    match = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {
            "m": timedelta(minutes=amount),
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
        }
        return _now() - delta[unit]
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(
            "--since",
            [FieldError("since", "must be an ISO timestamp (2026-01-31T12:00) or 30m / 6h / 2d")],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
