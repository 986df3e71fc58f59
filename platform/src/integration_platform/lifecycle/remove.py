"""Remove: stop intake and drain the instance's runs, run the remove flow (which retires its
relay routes), then delete the instance file, its connections and its pool."""

from __future__ import annotations

from collections.abc import Mapping

from integration_platform.integrations import naming
from integration_platform.integrations.instances import Instance, InstanceState
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle import pools
from integration_platform.lifecycle.errors import LifecycleError
from integration_platform.lifecycle.instance_lock import instance_lock
from integration_platform.lifecycle.relay_control import DrainResult, RunDrain
from integration_platform.lifecycle.results import Progress, RemoveResult, quiet
from integration_platform.lifecycle.waiting import Waiting


class Remove(Waiting):
    def remove(self, instance_id: str, *, progress: Progress | None = None) -> RemoveResult:
        """Stop intake and drain the instance's runs, run Teardown and wait; on success delete
        the instance file and its connections, and report what was discarded. If Teardown
        fails, nothing is deleted and the instance is marked failed with the reason."""
        with instance_lock(self.store.directory, instance_id):
            return self._remove(instance_id, progress or quiet)

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

        run_id = naming.teardown_run_id(instance.generation)
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

        late = RunDrain(self.airflow, self.settings).sweep(self._drained_dag_ids(instance_id))
        for flow_dag_id in self.dag_ids(instance_id).values():
            existing = self.airflow.get_dag(flow_dag_id)
            if existing is not None and not existing.is_paused:
                self.airflow.set_paused(flow_dag_id, True)  # nothing may run without connections
        discarded = self._discarded_events(dag_id, run_id)
        cleared = drained.cleared_queued + late
        report(
            f"Discarded {discarded} held relay event(s); cleared {cleared} queued run(s); "
            f"marked {drained.failed_running} running run(s) failed"
        )
        deleted = self._delete_instance(instance, report)
        return RemoveResult(
            instance_id,
            True,
            outcome,
            deleted_connections=tuple(deleted),
            discarded_events=discarded,
            cleared_runs=cleared,
            failed_runs=drained.failed_running,
        )

    def _delete_instance(self, instance: Instance, report: Progress) -> list[str]:
        """The instance file, its connections and its pool; returns the connections deleted."""
        self.store.delete(instance.id)
        report(f"Deleted {self.store.path_for(instance.id)}")
        deleted = []
        for conn_id in instance.connections.values():
            if self.airflow.delete_connection(conn_id):
                deleted.append(conn_id)
                report(f"Deleted connection {conn_id}")
        pools.delete_pool(self.airflow, instance.id, report)
        self._reparse_files(instance.id)
        return deleted

    def _drained_dag_ids(self, instance_id: str) -> list[str]:
        """The DAGs whose runs must be over before Teardown: the webhook flows, and the repair
        flows (a repair finishing after Teardown would re-create the webhooks it deleted)."""
        return [
            self.integration.dag_id(instance_id, flow.slug)
            for kind in (TriggerKind.WEBHOOK, TriggerKind.REPAIR)
            for flow in self.integration.flows_triggered_by(kind)
        ]

    def _stop_intake_and_drain(self, instance_id: str, report: Progress) -> DrainResult:
        """Pause the relay routes (no new runs), clear queued runs, let running ones finish
        (their DAGs stay unpaused meanwhile: a paused DAG's runs never complete). New repair
        runs skip themselves: the instance file says `removing`."""
        self.relay.set_paused(instance_id, True, report)
        return RunDrain(self.airflow, self.settings).drain(
            self._drained_dag_ids(instance_id), report
        )

    def _discarded_events(self, dag_id: str, run_id: str) -> int:
        """What the remove flow's `retire_routes` task reports the relay discarded."""
        try:
            counts = self.airflow.xcom_return_value(dag_id, run_id, "retire_routes")
        except LifecycleError:
            return 0
        return sum(counts.values()) if isinstance(counts, Mapping) else 0
