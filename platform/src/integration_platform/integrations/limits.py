"""Concurrency and limits as settings: per flow in the definition, overridable per instance.

An integration adds `limits_page(...)` to its wizard with its per-flow defaults; each instance
may override them. Per webhook or scheduled flow: how many runs may be active at once
(`max_active_runs`), or FIFO (one run at a time, started in the order the runs arrived: Airflow
starts a DAG's queued runs by `run_after`, which for triggered runs is their arrival time).
Per instance: an Airflow pool (`integration__<instance>`) of `pool_slots` slots that every task
of the instance uses, capping concurrent calls against that customer's systems (0 = no pool).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integration_platform.integrations.model import ConfigPage, ConfigVariable, VariableKind

POOL_SLOTS = "pool_slots"
POOL_PREFIX = "integration__"


@dataclass(frozen=True)
class FlowLimits:
    """A flow's defaults in the definition."""

    max_active_runs: int = 1
    fifo: bool = False


def runs_key(flow_slug: str) -> str:
    return f"max_active_runs__{flow_slug.replace('-', '_')}"


def fifo_key(flow_slug: str) -> str:
    return f"fifo__{flow_slug.replace('-', '_')}"


def pool_name(instance_id: str) -> str:
    return f"{POOL_PREFIX}{instance_id}"


def limits_page(flows: Mapping[str, FlowLimits], *, pool_slots: int = 0) -> ConfigPage:
    """The wizard's Limits page; `flows` maps flow slugs to their defaults."""
    variables: list[ConfigVariable] = []
    for slug, limits in flows.items():
        variables += [
            ConfigVariable(
                key=runs_key(slug),
                label=f"{slug}: concurrent runs",
                kind=VariableKind.NUMBER,
                help="How many runs of this flow may be active at once.",
                required=False,
                default=limits.max_active_runs,
            ),
            ConfigVariable(
                key=fifo_key(slug),
                label=f"{slug}: one at a time, in arrival order (FIFO)",
                kind=VariableKind.BOOLEAN,
                help="Overrides the concurrent runs above with 1.",
                required=False,
                default=limits.fifo,
            ),
        ]
    variables.append(
        ConfigVariable(
            key=POOL_SLOTS,
            label="Concurrent tasks against this customer's systems",
            kind=VariableKind.NUMBER,
            help="Size of the instance's Airflow pool; 0 = no pool (no cap).",
            required=False,
            default=pool_slots,
        )
    )
    return ConfigPage(
        title="Limits",
        description="How much of this customer's work may run at once.",
        variables=tuple(variables),
    )


def max_active_runs(config: Mapping[str, Any], flow_slug: str) -> int | None:
    """The flow's run limit from the instance config, or None if the page does not set it."""
    if config.get(fifo_key(flow_slug)):
        return 1
    value = config.get(runs_key(flow_slug))
    return max(1, int(value)) if value is not None else None


def pool_slots(config: Mapping[str, Any]) -> int:
    value = config.get(POOL_SLOTS)
    return max(0, int(value)) if value is not None else 0


def task_defaults(config: Mapping[str, Any], instance_id: str) -> dict[str, Any]:
    """`default_args` for every task of the instance: its pool, when it has one."""
    return {"pool": pool_name(instance_id)} if pool_slots(config) else {}


def limit_defaults(page: ConfigPage) -> dict[str, Any]:
    """The Limits page's values when an instance overrides nothing."""
    return {v.key: v.default for v in page.variables}
