"""Scheduled drift repair: each instance re-checks what its deploy set up at the source.

Someone may delete or edit an instance's webhooks in the source system; without a check,
nothing notices until the next deploy. An integration adds `drift_page(...)` to its wizard
(the argument is its default interval; each instance may override it) and one flow with
`TriggerKind.REPAIR`, which the factory schedules every `drift_repair_minutes` of the
instance (0: never on its own, only when triggered). The recipe's tasks start after
`active_check_task` and end with the task `REPORT_TASK_ID` returning `repair_report(...)`,
the XCom that `status` and the instance page show ("last check 12:00, repaired: 1 missing,
1 changed").

The check skips the run unless the instance file says the last deploy succeeded (active or
paused), so a repair never races Initialization, a rotation or Teardown, and never repairs
toward a desired state that a failed deploy left half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from integration_platform.integrations.instances import (
    InstanceState,
    InstanceStore,
    resolve_instances_dir,
)
from integration_platform.integrations.model import ConfigPage, ConfigVariable, VariableKind

DRIFT_REPAIR_MINUTES = "drift_repair_minutes"
REPAIR_REPORT_KEY = "driftRepair"
CHECK_TASK_ID = "check_instance_active"
REPORT_TASK_ID = "repair_report"
"""The task whose return value is `repair_report(...)`: `status` reads it by this id."""
REPAIRABLE_STATES = (InstanceState.ACTIVE, InstanceState.PAUSED)


def drift_page(*, interval_minutes: float = 60) -> ConfigPage:
    """The wizard's Drift repair page; its default is the integration's interval."""
    return ConfigPage(
        title="Drift repair",
        description="How often this customer's webhook setup at the source is checked and "
        "repaired (missing, changed or foreign-owned webhooks at this instance's URLs).",
        variables=(
            ConfigVariable(
                key=DRIFT_REPAIR_MINUTES,
                label="Check and repair every (minutes)",
                kind=VariableKind.NUMBER,
                help="0 = never on its own (the repair flow still runs when triggered).",
                required=False,
                default=interval_minutes,
            ),
        ),
    )


def interval(config: Mapping[str, Any]) -> timedelta | None:
    """The repair flow's schedule from the instance config; None when 0, negative or unset."""
    value = config.get(DRIFT_REPAIR_MINUTES)
    if value is None or float(value) <= 0:
        return None
    return timedelta(minutes=float(value))


def drift_defaults(page: ConfigPage | None = None) -> dict[str, Any]:
    """The Drift repair page's values when an instance overrides nothing."""
    return {v.key: v.default for v in (page or drift_page()).variables}


@dataclass(frozen=True)
class RepairReport:
    """What one check found and repaired: webhook keys, and a count of extras deleted."""

    missing: tuple[str, ...] = ()  # re-created
    changed: tuple[str, ...] = ()  # URL, events, secret or enabled put back
    foreign: tuple[str, ...] = ()  # another owner's webhook at our URL, taken over
    removed: int = 0  # duplicates and leftovers of ours deleted
    unchanged: tuple[str, ...] = ()

    @property
    def repaired(self) -> int:
        return len(self.missing) + len(self.changed) + len(self.foreign) + self.removed

    @property
    def summary(self) -> str:
        """`repaired: 1 missing, 1 changed` or `nothing to repair`."""
        parts = [
            f"{len(self.missing)} missing" if self.missing else "",
            f"{len(self.changed)} changed" if self.changed else "",
            f"{len(self.foreign)} foreign-owned" if self.foreign else "",
            f"{self.removed} duplicate(s) removed" if self.removed else "",
        ]
        shown = [part for part in parts if part]
        return f"repaired: {', '.join(shown)}" if shown else "nothing to repair"

    def as_xcom(self) -> dict[str, Any]:
        return {
            REPAIR_REPORT_KEY: {
                "missing": list(self.missing),
                "changed": list(self.changed),
                "foreign": list(self.foreign),
                "removed": self.removed,
                "unchanged": list(self.unchanged),
            }
        }


def repair_report(
    *,
    missing: Sequence[str] = (),
    changed: Sequence[str] = (),
    foreign: Sequence[str] = (),
    removed: int = 0,
    unchanged: Sequence[str] = (),
) -> dict[str, Any]:
    """The XCom a repair flow's last task returns (keys and counts only, never a secret)."""
    return RepairReport(
        tuple(missing), tuple(changed), tuple(foreign), int(removed), tuple(unchanged)
    ).as_xcom()


def repair_report_of(xcom_value: Any) -> RepairReport | None:
    """The report a repair task returned, or None if `xcom_value` is not one."""
    if not isinstance(xcom_value, Mapping) or not isinstance(
        xcom_value.get(REPAIR_REPORT_KEY), Mapping
    ):
        return None
    data = xcom_value[REPAIR_REPORT_KEY]

    def keys(name: str) -> tuple[str, ...]:
        value = data.get(name)
        return tuple(str(v) for v in value) if isinstance(value, list) else ()

    removed = data.get("removed")
    return RepairReport(
        missing=keys("missing"),
        changed=keys("changed"),
        foreign=keys("foreign"),
        removed=removed if isinstance(removed, int) else 0,
        unchanged=keys("unchanged"),
    )


def check_instance_state(instances_dir: Path, integration: Any, instance_id: str) -> str:
    """The instance's state if a repair may run now; else `AirflowSkipException` saying why.

    Read from the instance file when the task runs (the lifecycle's durable record), never
    at parse time, so the DAG does not change when the state does."""
    store = InstanceStore(instances_dir, {integration.slug: integration})
    if not store.exists(instance_id):
        raise AirflowSkipException(f"instance {instance_id} is removed: nothing to repair")
    state = store.get(instance_id).state
    if state not in REPAIRABLE_STATES:
        raise AirflowSkipException(
            f"instance {instance_id} is {state}: drift repair waits for a successful deploy"
        )
    return str(state)


def _instances_dir_of_run() -> Path:
    """The factory's rule, at run time: `$INTEGRATION_INSTANCES_DIR`, else `instances/` next
    to the DAG's shim file (for DAGs built without a store, e.g. by `build_dag` directly)."""
    fileloc = get_current_context()["dag"].fileloc
    return resolve_instances_dir(Path(fileloc).resolve().parent / "instances")


def active_check_task(context: Any) -> Any:
    """Add `check_instance_active` to the open DAG (a repair flow's first task); return it.

    `context` is the recipe's `FlowContext`; a skip here skips every task downstream."""
    integration, instance_id = context.integration, context.instance.id
    known = Path(context.instances_dir).absolute() if context.instances_dir else None

    @task(task_id=CHECK_TASK_ID)
    def check_instance_active() -> str:
        """Run only for an instance whose last deploy succeeded (active or paused)."""
        return check_instance_state(known or _instances_dir_of_run(), integration, instance_id)

    return check_instance_active()
