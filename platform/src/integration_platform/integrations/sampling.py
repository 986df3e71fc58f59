"""Test runs of webhook flows on real objects: thin events for the source's latest changes.

A test run without a payload carries `{"events": [], "sample_recent": N}` in its conf. The
webhook flow's task asks the flow's `sample_source` (supplied by the integration, called
here in the worker, where the instance's connections are) for the ids of the N most recently
changed objects and syncs them as if their events had arrived, so a successful test has
fetched real records. Which ids were chosen is logged; the run's XCom keeps counts only.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from integration_contracts.events import EVENTS_CONF_KEY
from integration_platform.integrations.model import Flow

SAMPLE_CONF_KEY = "sample_recent"
DEFAULT_SAMPLE_SIZE = 3
MAX_SAMPLE_SIZE = 100

log = logging.getLogger(__name__)


class SampleUnavailable(ValueError):
    """The run asks for samples that this flow or its source cannot give."""


def thin_events(flow: Flow, object_ids: Iterable[str]) -> list[dict[str, Any]]:
    """One thin event per object id, as the source would have sent it (first event type)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        {
            "id": f"evt_test_{secrets.token_hex(6)}",
            "type": flow.events[0],
            "object_id": object_id,
            "occurred_at": now,
        }
        for object_id in object_ids
    ]


def sample_conf(count: int = DEFAULT_SAMPLE_SIZE) -> dict[str, Any]:
    """The conf of a test run that asks the flow for the source's latest changes."""
    return {EVENTS_CONF_KEY: [], SAMPLE_CONF_KEY: count}


def sample_size(conf: Mapping[str, Any]) -> int | None:
    """How many recent objects the run asks for (None: a normal run with its own events)."""
    count = conf.get(SAMPLE_CONF_KEY)
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SAMPLE_SIZE:
        raise SampleUnavailable(
            f"conf.{SAMPLE_CONF_KEY} must be a whole number from 1 to {MAX_SAMPLE_SIZE}"
        )
    return count


def run_events(flow: Flow, connections: Mapping[str, str]) -> Any:
    """Inside a webhook flow's task: the run's thin events, or samples if the run asks."""
    from airflow.sdk import get_current_context  # run time only
    from airflow.sdk.exceptions import AirflowFailException

    context = get_current_context()
    dag_run = context.get("dag_run")
    conf = (getattr(dag_run, "conf", None) or {}) if dag_run is not None else {}
    try:
        count = sample_size(conf)
        if count is not None and flow.sample_source is None:
            raise SampleUnavailable(f"flow {flow.slug!r} has no sample source; give a payload")
    except SampleUnavailable as error:
        raise AirflowFailException(str(error)) from None  # retrying cannot help
    if count is None or flow.sample_source is None:
        return context["params"][EVENTS_CONF_KEY]
    ids = list(dict.fromkeys(str(i) for i in flow.sample_source(connections, count)))[:count]
    log.info(
        "test run: the %d most recently changed object(s) in the source: %s",
        len(ids),
        ", ".join(ids) or "none",
    )
    return thin_events(flow, ids)
