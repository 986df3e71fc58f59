"""Waiting for a condition: the one way tests wait (poll with a deadline, never a fixed sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 1.0,
    details: Callable[[], str] | None = None,
) -> T:
    """Call `check` until it returns something truthy and return that; on timeout, fail naming
    `what`, the last value and, if given, `details()` (e.g. the tails of process logs)."""
    deadline = time.monotonic() + timeout
    while True:
        last: Any = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    context = f"\n{details()}" if details is not None else ""
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}{context}"
    )
