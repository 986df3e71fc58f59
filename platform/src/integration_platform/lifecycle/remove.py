"""Remove: run the remove flow, then delete the instance file and its connections."""

from __future__ import annotations

from integration_platform.integrations import naming
from integration_platform.integrations.instances import InstanceState
from integration_platform.integrations.model import TriggerKind
from integration_platform.lifecycle import pools
from integration_platform.lifecycle.instance_lock import instance_lock
from integration_platform.lifecycle.results import Progress, RemoveResult, quiet
from integration_platform.lifecycle.waiting import Waiting


class Remove(Waiting):
    def remove(self, instance_id: str, *, progress: Progress | None = None) -> RemoveResult:
        """Run Teardown and wait; on success delete the instance file and its connections.
        If Teardown fails, nothing is deleted and the instance is marked failed with the reason."""
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

        for flow_dag_id in self.dag_ids(instance_id).values():
            existing = self.airflow.get_dag(flow_dag_id)
            if existing is not None and not existing.is_paused:
                self.airflow.set_paused(flow_dag_id, True)  # nothing may run without connections
        self.store.delete(instance_id)
        report(f"Deleted {self.store.path_for(instance_id)}")
        deleted = []
        for conn_id in instance.connections.values():
            if self.airflow.delete_connection(conn_id):
                deleted.append(conn_id)
                report(f"Deleted connection {conn_id}")
        pools.delete_pool(self.airflow, instance_id, report)
        self._reparse_files(instance_id)
        return RemoveResult(instance_id, True, outcome, deleted_connections=tuple(deleted))
