from __future__ import annotations

from datetime import UTC, datetime

import pytest
import tenacity

from acme_provider.hooks.retry import RetryPolicy, build_retrying, parse_retry_after

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("Sat, 28 Nov 2026 12:00:07 GMT", 7.0),
        ("Sat, 28 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after_accepts_seconds_and_http_dates(
    header: str | None, expected: float | None
) -> None:
    assert parse_retry_after(header, now=NOW) == expected


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        self.retry_after = retry_after


def run(policy: RetryPolicy, errors: list[Exception]) -> int:
    calls = 0

    def attempt() -> int:
        nonlocal calls
        calls += 1
        if errors:
            raise errors.pop(0)
        return calls

    return build_retrying(policy, lambda e: isinstance(e, Flaky))(attempt)


def test_waits_follow_retry_after_capped_at_max_delay() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=5, base_delay=0.1, max_delay=10.0, sleep=sleeps.append)
    assert run(policy, [Flaky(2), Flaky(600), Flaky(0)]) == 4
    assert sleeps == [2.0, 10.0, 0.0]


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, max_delay=3.0, sleep=sleeps.append)
    run(policy, [Flaky() for _ in range(7)])
    assert len(sleeps) == 7
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 1.5
    assert all(0 < s <= 3.0 for s in sleeps)
    assert sleeps[-1] == 3.0


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    policy = RetryPolicy(max_attempts=2, base_delay=0, sleep=lambda _: None)
    last = Flaky()
    with pytest.raises(Flaky) as caught:
        run(policy, [Flaky(), last, Flaky()])
    assert caught.value is last


def test_non_retryable_errors_are_raised_at_once() -> None:
    policy = RetryPolicy(sleep=lambda _: pytest.fail("must not wait"))
    with pytest.raises(KeyError):
        build_retrying(policy, lambda e: isinstance(e, Flaky))(lambda: {}["x"])


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    assert isinstance(build_retrying(RetryPolicy(), bool), tenacity.Retrying)
