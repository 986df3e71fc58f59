"""Which API errors are worth a task retry, and which fail the task at once.

The hooks already retry transient errors (connection errors, timeouts, 429, 5xx) with
backoff, and a task's own retries cover longer outages. A wrong API key, a rejected request
or a missing connection stays wrong however often it is retried: those end the task now
(`AirflowFailException`), so a bad deploy shows its reason in seconds, not after minutes of
retries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from acme_provider.exceptions import (
    AcmeAuthError,
    AcmeValidationError,
    ConnectionConfigError,
)

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    ConnectionConfigError,
    AirflowNotFoundException,
    AcmeAuthError,
    AcmeValidationError,
)


@contextmanager
def fail_fast_on_permanent_errors(*extra: type[Exception]) -> Iterator[None]:
    """Re-raise permanent errors (and `extra` ones) as `AirflowFailException`: no task retries."""
    try:
        yield
    except (*PERMANENT_ERRORS, *extra) as error:
        raise AirflowFailException(str(error)) from error
