"""Contracts shared by the integration platform and the webhook relay, each defined once.

This distribution has no dependencies, so the relay can stay independent of the platform
(and of Airflow) while both import the very same grammar, names and shapes.
"""

from integration_contracts.events import EVENTS_CONF_KEY, THIN_EVENT_FIELDS, event_problem
from integration_contracts.ids import InvalidId, check_segment, is_valid_segment
from integration_contracts.routes import HOOKS_PATH_PREFIX, InvalidRoute, Route
from integration_contracts.runs import RunKind, run_id, run_kind

__all__ = [
    "EVENTS_CONF_KEY",
    "HOOKS_PATH_PREFIX",
    "THIN_EVENT_FIELDS",
    "InvalidId",
    "InvalidRoute",
    "Route",
    "RunKind",
    "check_segment",
    "event_problem",
    "is_valid_segment",
    "run_id",
    "run_kind",
]
