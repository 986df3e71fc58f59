"""DAG run ids: who made a run, derived from what it carries so a retry is a 409, not a copy.

`relay__<batch>` (a relay batch), `deploy__generation_<n>` (Initialization of one deploy),
`teardown__generation_<n>`, `test__<stamp>` (a manual test of one flow), `replay__<stamp>`.
"""

from __future__ import annotations

from enum import StrEnum

RUN_ID_SEPARATOR = "__"


class RunKind(StrEnum):
    RELAY = "relay"
    DEPLOY = "deploy"
    TEARDOWN = "teardown"
    TEST = "test"
    REPLAY = "replay"


def run_id(kind: RunKind, key: str | int) -> str:
    """`deploy__generation_3` for (DEPLOY, "generation_3"); `relay__42` for (RELAY, 42)."""
    return f"{kind.value}{RUN_ID_SEPARATOR}{key}"


def generation_key(generation: int) -> str:
    return f"generation_{generation}"


def run_kind(dag_run_id: str) -> RunKind | None:
    """Which kind made `dag_run_id`, or None for runs made by Airflow or by hand."""
    prefix, sep, _ = dag_run_id.partition(RUN_ID_SEPARATOR)
    if not sep:
        return None
    try:
        return RunKind(prefix)
    except ValueError:
        return None
