"""Poll until something is there, with a deadline: one tenacity policy for every wait.

The lifecycle waits for Airflow in three places (DAGs parsed, the first `@once` run, a run
finished); each is "call `check` every `interval` seconds until it returns a value or
`timeout` seconds have passed". A briefly unreachable Airflow is waited out, not an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

T = TypeVar("T")


def poll(check: Callable[[], T | None], *, timeout: float, interval: float) -> T | None:
    """`check()`'s first non-None result, or None once `timeout` seconds have passed."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(lambda result: result is None),
        retry_error_callback=lambda _state: None,
    )
    return retrying(check)
