"""The DAG factory: every deployed instance of an integration becomes one DAG per flow.

The factory is generic: an integration contributes its definition (flows, config wizard)
and one `FlowRecipe` per flow slug (the flow's tasks); the factory supplies what every DAG
shares (contract ids and tags, schedule by trigger kind, retries, `doc_md`).

Scale and isolation, the three things a DAG folder of 1,000 instances needs:

- **Shards.** Instances are spread over `shard_count` identical shim files
  (`dags/<integration>_shard_<n>.py`) by a stable hash of the instance id, so each file
  parses a fraction of the instances and stays well inside Airflow's parse timeouts.
- **Parsing context.** A worker running one task sets `get_parsing_context().dag_id`; the
  shim then reads only that instance's file and builds only that one DAG.
- **Broken files.** A broken instance file is skipped by its shard (the other instances keep
  their DAGs) and reported by one extra shim, `dags/<integration>_instance_errors.py`, whose
  import error names every broken file, field and reason. With `INTEGRATION_FACTORY_STRICT=1`
  (CI), a shard holding a broken file fails too.

Parsing reads local files only: no network, no Variables, no metadata database.
"""

from __future__ import annotations

import logging
import os
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param, get_parsing_context

from integration_platform.integrations import alerts, drift, limits, naming
from integration_platform.integrations.instances import (
    Instance,
    InstanceFileError,
    InstanceStore,
    resolve_instances_dir,
)
from integration_platform.integrations.model import Flow, Integration, TriggerKind

STRICT_ENV = "INTEGRATION_FACTORY_STRICT"
DEFAULT_SHARD_COUNT = 8
INSTANCES_SUBDIR = "instances"
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
"""A fixed past date: `@once` DAGs run once as soon as they appear, nothing is backfilled."""

DEFAULT_ARGS: Mapping[str, Any] = {
    "retries": 3,
    "retry_delay": timedelta(seconds=20),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=2),
}
"""Task retries for outages longer than the hooks' own request retries (20 s, 40 s, 80 s)."""

_MAX_ACTIVE_RUNS: Mapping[TriggerKind, int] = {
    # Sync runs are idempotent (versioned upserts), so a few may overlap to drain a burst.
    TriggerKind.WEBHOOK: 4,
    # Reconciling webhooks or tearing them down concurrently would race with itself.
    TriggerKind.DEPLOY: 1,
    TriggerKind.REMOVE: 1,
    TriggerKind.SCHEDULE: 1,
    # Two checks of one instance's webhooks at once would both re-create a missing one.
    TriggerKind.REPAIR: 1,
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowContext:
    """What a recipe needs to build one flow of one instance."""

    integration: Integration
    instance: Instance
    flow: Flow
    instances_dir: Path | None = None
    """Where the instance's file is (a repair flow reads its state when it runs)."""

    @property
    def dag_id(self) -> str:
        return naming.dag_id(self.integration.slug, self.instance.id, self.flow.slug)

    @property
    def owner(self) -> str:
        """A stable name for what this instance owns in external systems (e.g. webhooks)."""
        return f"{self.integration.slug}/{self.instance.id}"

    @property
    def config(self) -> Mapping[str, Any]:
        return self.instance.config

    def conn_id(self, variable_key: str) -> str:
        """The Airflow connection id of one CONNECTION config variable."""
        return self.instance.connections[variable_key]

    def route(self, flow_slug: str) -> str:
        return naming.route(self.integration.slug, self.instance.id, flow_slug)


@dataclass(frozen=True)
class FlowRecipe:
    """One flow's part of the DAG: its tasks, and optionally its trigger form."""

    build_tasks: Callable[[FlowContext], None]
    """Called inside the open `DAG` context; creates the flow's tasks."""
    params: Callable[[FlowContext], Mapping[str, Param]] | None = None
    """The DAG's `params` (the UI's trigger form and the schema of a run's conf)."""


class InstanceFilesInvalid(ValueError):
    """Raised by the error-report shim (and by shards in strict mode): lists broken files."""

    def __init__(self, errors: list[InstanceFileError]) -> None:
        self.errors = errors
        lines = [str(error) for error in errors]
        super().__init__(
            f"{len(errors)} broken instance file(s); their DAGs are not built:\n" + "\n".join(lines)
        )


def shard_of(instance_id: str, shard_count: int) -> int:
    """The shard of an instance: a hash that is stable across processes and Python versions."""
    return zlib.crc32(instance_id.encode()) % shard_count


def is_strict() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class DagFactory:
    """Builds the DAGs of one integration's instances, one shard file at a time."""

    def __init__(
        self,
        integration: Integration,
        recipes: Mapping[str, FlowRecipe],
        *,
        integrations: Mapping[str, Integration] | None = None,
        shard_count: int = DEFAULT_SHARD_COUNT,
    ) -> None:
        missing = [flow.slug for flow in integration.flows if flow.slug not in recipes]
        unknown = sorted(set(recipes) - {flow.slug for flow in integration.flows})
        if missing or unknown:
            raise ValueError(
                f"{integration.name}: recipes must match the flows exactly "
                f"(missing: {missing or 'none'}, unknown: {unknown or 'none'})"
            )
        if shard_count < 1:
            raise ValueError("shard_count must be at least 1")
        self.integration = integration
        self.recipes = recipes
        self.integrations = integrations or {integration.slug: integration}
        self.shard_count = shard_count
        self._shard_file = re.compile(rf"^{re.escape(self.file_prefix)}_shard_(\d+)\.py$")

    # -- names --------------------------------------------------------------------------------

    @property
    def file_prefix(self) -> str:
        return self.integration.slug.replace("-", "_")

    def shard_file_names(self) -> list[str]:
        return [f"{self.file_prefix}_shard_{n}.py" for n in range(self.shard_count)]

    @property
    def errors_file_name(self) -> str:
        return f"{self.file_prefix}_instance_errors.py"

    def shard_of(self, instance_id: str) -> int:
        return shard_of(instance_id, self.shard_count)

    def shard_from_file(self, shim_file: str | Path) -> int:
        """The shard a shim serves, from its own file name (`<prefix>_shard_<n>.py`)."""
        name = Path(shim_file).name
        match = self._shard_file.match(name)
        if not match or int(match.group(1)) >= self.shard_count:
            raise ValueError(
                f"{shim_file}: a shard shim must be named {self.file_prefix}_shard_<n>.py "
                f"with 0 <= n < {self.shard_count}"
            )
        return int(match.group(1))

    def store_for(self, shim_file: str | Path) -> InstanceStore:
        """`$INTEGRATION_INSTANCES_DIR`, else `instances/` next to the shim."""
        default = Path(shim_file).resolve().parent / INSTANCES_SUBDIR
        return InstanceStore(resolve_instances_dir(default), self.integrations)

    # -- building -----------------------------------------------------------------------------

    def build_dag(self, instance: Instance, flow: Flow, instances_dir: Path | None = None) -> DAG:
        """One flow of one instance as a DAG (contract id and tags, retries, docs)."""
        context = FlowContext(self.integration, instance, flow, instances_dir)
        recipe = self.recipes[flow.slug]
        callbacks = _alert_callbacks(context)
        with DAG(
            dag_id=context.dag_id,
            description=f"{flow.name} for {instance.customer}",
            doc_md=flow_doc(context),
            tags=naming.dag_tags(self.integration.slug, instance.id, flow.slug),
            schedule=_schedule(flow, instance.config),
            start_date=START_DATE,
            catchup=False,
            is_paused_upon_creation=False,
            max_active_runs=_max_active_runs(context),
            default_args={
                **DEFAULT_ARGS,
                "owner": self.integration.slug,
                **callbacks,
                **limits.task_defaults(context.config, instance.id),
            },
            params=dict(recipe.params(context)) if recipe.params else None,
            deadline=_deadline(context),
        ) as dag:
            recipe.build_tasks(context)
        return dag

    def build_instance(
        self,
        instance: Instance,
        flow_slugs: Iterable[str] | None = None,
        instances_dir: Path | None = None,
    ) -> list[DAG]:
        slugs = set(flow_slugs) if flow_slugs is not None else None
        return [
            self.build_dag(instance, flow, instances_dir)
            for flow in self.integration.flows
            if slugs is None or flow.slug in slugs
        ]

    def build_shard(
        self, store: InstanceStore, shard: int
    ) -> tuple[list[DAG], list[InstanceFileError]]:
        """Every DAG of the shard's instances, and the shard's broken files (skipped)."""
        dags: list[DAG] = []
        errors: list[InstanceFileError] = []
        for path in store.paths():
            if self.shard_of(path.stem) != shard:
                continue
            try:
                instance = store.load_file(path)
            except InstanceFileError as error:
                errors.append(error)
                continue
            if instance.integration == self.integration.slug:
                dags.extend(self.build_instance(instance, instances_dir=store.directory))
        return dags, errors

    def build_for_task(self, store: InstanceStore, shard: int, dag_id: str) -> list[DAG]:
        """A worker's parse: only `dag_id`, from only its instance's file (if in this shard)."""
        parsed = naming.parse_dag_id(
            self.integration.slug, dag_id, (flow.slug for flow in self.integration.flows)
        )
        if parsed is None:
            return []
        instance_id, flow_slug = parsed
        if self.shard_of(instance_id) != shard or not store.exists(instance_id):
            return []
        instance = store.get(instance_id)
        if instance.integration != self.integration.slug:
            return []
        return self.build_instance(instance, [flow_slug], store.directory)

    # -- the two shims ------------------------------------------------------------------------

    def populate_shard(
        self, shim_file: str | Path, module_globals: MutableMapping[str, Any]
    ) -> None:
        """Body of a shard shim: put this shard's DAGs into the shim module's globals."""
        shard = self.shard_from_file(shim_file)
        store = self.store_for(shim_file)
        target = get_parsing_context().dag_id
        if target:
            dags = self.build_for_task(store, shard, target)
        else:
            dags, errors = self.build_shard(store, shard)
            if errors and is_strict():
                raise InstanceFilesInvalid(errors)
            for error in errors:
                log.warning(
                    "Skipping broken instance file (%s=1 makes this fatal): %s", STRICT_ENV, error
                )
        for dag in dags:
            module_globals[dag.dag_id] = dag

    def report_broken_instances(self, shim_file: str | Path) -> None:
        """Body of the error-report shim: raise one import error listing every broken file."""
        if get_parsing_context().dag_id:
            return  # a worker never needs this file: it holds no DAGs
        _, errors = self.store_for(shim_file).scan()
        if errors:
            raise InstanceFilesInvalid(errors)


def _max_active_runs(context: FlowContext) -> int:
    """The instance's setting for a webhook or scheduled flow, else the trigger's default;
    deploy and remove flows always run one at a time (they would race with themselves)."""
    default = _MAX_ACTIVE_RUNS[context.flow.trigger]
    if context.flow.trigger not in (TriggerKind.WEBHOOK, TriggerKind.SCHEDULE):
        return default
    return limits.max_active_runs(context.config, context.flow.slug) or default


def _alert_callbacks(context: FlowContext) -> dict[str, Any]:
    """Every task's `on_failure_callback` (after its retries): the instance's alerts."""
    notifiers = alerts.failure_callbacks(
        context.integration.slug,
        context.instance.customer,
        context.instance.id,
        context.flow.name,
        context.config,
    )
    return {"on_failure_callback": notifiers} if notifiers else {}


def _deadline(context: FlowContext) -> Any:
    """A Deadline Alert on the deploy flow (Initialization) when alerts are configured."""
    if context.flow.trigger is not TriggerKind.DEPLOY:
        return None
    return alerts.initialization_deadline(
        context.integration.slug,
        context.instance.customer,
        context.instance.id,
        context.flow.name,
        context.dag_id,
        context.config,
    )


def _schedule(flow: Flow, config: Mapping[str, Any]) -> str | timedelta | None:
    match flow.trigger:
        case TriggerKind.DEPLOY:
            return "@once"  # the first deploy; redeploys are triggered with a generation run id
        case TriggerKind.SCHEDULE:
            return flow.schedule
        case TriggerKind.REPAIR:
            return drift.interval(config)  # every N minutes from when the DAG appears
        case _:
            return None  # webhook flows are triggered by the relay, removal by the lifecycle


_TRIGGER_TEXT: Mapping[TriggerKind, str] = {
    TriggerKind.WEBHOOK: "the webhook relay, one run per batch of events",
    TriggerKind.DEPLOY: "deploy: once when the instance first appears, and on every redeploy "
    "(run id `deploy__generation_<n>`)",
    TriggerKind.REMOVE: "removal of the instance",
    TriggerKind.SCHEDULE: "its schedule",
    TriggerKind.REPAIR: "the instance's drift-repair interval (`drift_repair_minutes`)",
}


def flow_doc(context: FlowContext) -> str:
    """The DAG's `doc_md`: what the flow does, for which customer, and how it is configured.

    Only what a deploy changes: `doc_md` is part of the serialized DAG, so anything that
    changes on pause/resume (the instance's state, its status) would make a new DAG version
    of every flow each time."""
    integration, instance, flow = context.integration, context.instance, context.flow
    lines = [
        f"# {integration.name} · {flow.name} · {instance.customer}",
        "",
        flow.description,
        "",
        f"- **Instance:** `{instance.id}` (customer *{instance.customer}*), "
        f"deploy generation {instance.generation}",
        f"- **Flow:** `{flow.slug}`, triggered by {_TRIGGER_TEXT[flow.trigger]}",
    ]
    if flow.trigger is TriggerKind.WEBHOOK:
        lines.append(
            f"- **Webhook path:** `/hooks/{context.route(flow.slug)}` on the relay; "
            f"events: {', '.join(f'`{event}`' for event in flow.events)}"
        )
    if instance.connections:
        conns = ", ".join(f"{key} → `{conn}`" for key, conn in sorted(instance.connections.items()))
        lines.append(f"- **Connections:** {conns}")
    if instance.config:
        lines += ["", "| config | value |", "|---|---|"]
        lines += [f"| `{key}` | `{value!r}` |" for key, value in instance.config.items()]
    return "\n".join(lines)
