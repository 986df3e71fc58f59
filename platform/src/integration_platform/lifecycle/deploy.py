"""Deploy and redeploy: validate, write connections and the instance file, run the deploy flow."""

from __future__ import annotations

from integration_platform.integrations import naming
from integration_platform.integrations.config import FieldError
from integration_platform.integrations.instances import Instance, InstanceState, InstanceStatus
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle import pools
from integration_platform.lifecycle.airflow_api import DagRun
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.instance_lock import instance_lock
from integration_platform.lifecycle.polling import poll
from integration_platform.lifecycle.request import DeployPlan, DeployRequest, plan_deploy
from integration_platform.lifecycle.results import DeployResult, Progress, RunOutcome, now, quiet
from integration_platform.lifecycle.status import Status


class Deploy(Status):
    def validate(self, instance_id: str, request: DeployRequest) -> DeployPlan:
        """Validate a deploy request without touching anything."""
        existing = self.find_instance(instance_id)
        return plan_deploy(self.integration, instance_id, request, is_redeploy=existing is not None)

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
            return self._deploy(instance_id, request, progress or quiet, force=force)

    def rotate(
        self,
        instance_id: str,
        *,
        overlap_seconds: int | None = None,
        progress: Progress | None = None,
    ) -> DeployResult:
        """New webhook secrets for the instance's routes in the relay (the old ones keep
        verifying for the overlap), then Initialization again so the source signs with them."""
        report = progress or quiet
        with instance_lock(self.store.directory, instance_id):
            existing = self.get_instance(instance_id)
            rotated = self.relay.rotate(instance_id, overlap_seconds)
            report(f"Rotated the relay secrets of {', '.join(rotated) or 'no route'}")
            instance = existing.model_copy(
                update={
                    "generation": existing.generation + 1,
                    "state": InstanceState.DEPLOYING,
                    "status": InstanceStatus(reason="rotating webhook secrets", updated_at=now()),
                }
            )
            return self._initialize(instance, existing, report)

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
        pools.sync_pool(self.airflow, instance_id, plan.config, report)
        instance = Instance(
            id=instance_id,
            integration=self.integration.slug,
            customer=plan.customer,
            generation=generation,
            state=InstanceState.DEPLOYING,
            config=dict(plan.config),
            connections=plan.connection_ids,
            config_digest=plan.digest,
            status=InstanceStatus(reason=f"deploying generation {generation}", updated_at=now()),
        )
        return self._initialize(instance, existing, report)

    def _initialize(
        self, instance: Instance, existing: Instance | None, report: Progress
    ) -> DeployResult:
        """Write the instance file of a new generation, run Initialization, wait."""
        instance_id = instance.id
        init_slug = self._flow_of(TriggerKind.DEPLOY).slug
        init_dag_id = self.integration.dag_id(instance_id, init_slug)
        init_dag_before = self.airflow.get_dag(init_dag_id)
        written_at = now()
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

        return self._settle(instance, outcome, init_dag_id, keep_paused=keep_paused, report=report)

    def _settle(
        self,
        instance: Instance,
        outcome: RunOutcome,
        init_dag_id: str,
        *,
        keep_paused: bool,
        report: Progress,
    ) -> DeployResult:
        """After a successful deploy flow: mark the instance active (or keep it paused)."""
        urls = self._webhook_urls_of_run(outcome.dag_id, outcome.run_id)
        generation = instance.generation
        if keep_paused:
            self.airflow.set_paused(init_dag_id, True)
            instance = self._save_state(instance, InstanceState.PAUSED, reason=None, log_url=None)
            message = (
                f"{instance.id} deployed (generation {generation}) and kept paused; "
                "resume it to process events"
            )
        else:
            instance = self._save_state(instance, InstanceState.ACTIVE, reason=None, log_url=None)
            message = f"{instance.id} deployed (generation {generation})"
        report(message)
        return DeployResult(
            instance=instance, outcome="deployed", webhook_urls=urls, run=outcome, message=message
        )

    def _check_kept_secrets(self, plan: DeployPlan, source: str) -> None:
        """A redeploy may omit secrets only if the Airflow connection already holds them."""
        errors = [
            FieldError(
                conn.field_path(name),
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
                highest = max(highest, naming.generation_of_run(run.run_id) or 0)
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
            first = poll(
                lambda: next(iter(self.airflow.list_dag_runs(dag_id, limit=5)), None),
                timeout=self.settings.once_grace,
                interval=self.settings.poll_interval,
            )
            if first is not None:
                return first
        run_id = naming.deploy_run_id(instance.generation)
        run, created = self.airflow.trigger_dag_run(
            dag_id,
            run_id,
            {"generation": instance.generation},
            note=f"deploy of {instance.id}, generation {instance.generation}",
        )
        report(f"{'Triggered' if created else 'Found'} Initialization run {run_id}")
        return run
