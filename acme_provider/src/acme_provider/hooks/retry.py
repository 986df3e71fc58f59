"""One retry policy for every HTTP call of the provider: bounded attempts, exponential backoff
with jitter, and the server's `Retry-After` honoured up to a cap.

Hooks decide *what* is retryable (the predicate); this module decides *how long* to wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import tenacity

DEFAULT_MAX_RETRIES = 5
DEFAULT_MAX_RETRY_WAIT = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    `max_delay` caps both the backoff and any `Retry-After` the server sends, so one task can
    never be parked for an hour by a misbehaving rate limiter. `sleep` is injectable so tests
    can observe the waits instead of sitting through them.
    """

    max_attempts: int = DEFAULT_MAX_RETRIES + 1
    base_delay: float = 0.5
    max_delay: float = DEFAULT_MAX_RETRY_WAIT
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), else None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class wait_retry_after_or_backoff(tenacity.wait.wait_base):
    """Wait what the server asked for (`exc.retry_after`, capped), else back off with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = tenacity.wait_exponential_jitter(
            initial=policy.base_delay, max=policy.max_delay, jitter=policy.base_delay
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        hint = getattr(outcome.exception(), "retry_after", None) if outcome else None
        if hint is not None:
            return min(float(hint), self.policy.max_delay)
        return min(self.backoff(retry_state), self.policy.max_delay)


def build_retrying(
    policy: RetryPolicy,
    is_retryable: Callable[[BaseException], bool],
    before_sleep: Callable[[tenacity.RetryCallState], Any] | None = None,
) -> tenacity.Retrying:
    """A tenacity `Retrying` that re-raises the last error once attempts are exhausted."""
    return tenacity.Retrying(**tenacity_kwargs(policy, is_retryable, before_sleep))


def tenacity_kwargs(
    policy: RetryPolicy,
    is_retryable: Callable[[BaseException], bool],
    before_sleep: Callable[[tenacity.RetryCallState], Any] | None = None,
) -> dict[str, Any]:
    """The same policy as keyword arguments, for `HttpHook.run_with_advanced_retry`."""
    return {
        "stop": tenacity.stop_after_attempt(policy.max_attempts),
        "wait": wait_retry_after_or_backoff(policy),
        "retry": tenacity.retry_if_exception(is_retryable),
        "sleep": policy.sleep,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def log_retries(
    logger: logging.Logger, what: str, max_attempts: int
) -> Callable[[tenacity.RetryCallState], None]:
    """A `before_sleep` callback: one warning per retry naming the request, never its payload."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        status = getattr(error, "status_code", None)
        reason = f"HTTP {status}" if status is not None else type(error).__name__
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s failed (%s); attempt %d of %d, retrying in %.1f s",
            what,
            reason,
            state.attempt_number,
            max_attempts,
            wait,
        )

    return before_sleep
