"""The lifecycle's errors, each with the CLI exit code it maps to.

Callers (CLI, UI plugin) branch on the type; messages are one or two sentences a person can
act on and never contain secrets.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from integration_platform.integrations.config import FieldError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the operation ran and failed (initialization, teardown, a test run, a timeout)
    BAD_INPUT = 2  # invalid request, unknown instance or flow: nothing was changed
    AIRFLOW_UNAVAILABLE = 3  # Airflow unreachable or rejected our credentials
    BUSY = 4  # another deploy or remove of the same instance is running: nothing was changed


class LifecycleError(Exception):
    exit_code = ExitCode.FAILED


class InvalidRequest(LifecycleError):
    """A deploy request (or other input) that does not validate; names source and fields."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, source: str, errors: Sequence[FieldError]) -> None:
        self.source = source
        self.errors = list(errors)
        super().__init__(f"{source}: " + "; ".join(str(error) for error in self.errors))


class UnknownName(LifecycleError):
    """An unknown instance or flow; the message lists the valid names."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(self, kind: str, name: str, valid: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = list(valid)
        listing = ", ".join(self.valid) if self.valid else "none"
        super().__init__(f"no {kind} {name!r}; valid {kind}s: {listing}")


class InstanceBusy(LifecycleError):
    """Another deploy or remove of this instance is running (CLI or UI); nothing was changed."""

    exit_code = ExitCode.BUSY

    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id
        super().__init__(
            f"another deploy or remove of {instance_id!r} is running; "
            "try again once it has finished"
        )


class AirflowUnavailable(LifecycleError):
    """Base of the errors that mean: Airflow itself cannot be used right now."""

    exit_code = ExitCode.AIRFLOW_UNAVAILABLE


class AirflowUnreachable(AirflowUnavailable):
    def __init__(self, base_url: str, reason: str) -> None:
        self.base_url = base_url
        self.reason = reason
        super().__init__(
            f"Cannot reach Airflow at {base_url} ({reason}); is it running? "
            "Set INTEGRATION_AIRFLOW_URL or --airflow-url."
        )


class SessionExpired(AirflowUnavailable):
    """A forwarded user token was rejected, and there is no password to log in again with."""

    def __init__(self) -> None:
        super().__init__("Your Airflow session has expired; reload the page and log in again.")


class AirflowAuthError(AirflowUnavailable):
    def __init__(self, base_url: str, username: str) -> None:
        super().__init__(
            f"Airflow at {base_url} rejected the credentials of user {username!r}; "
            "check INTEGRATION_AIRFLOW_USERNAME / INTEGRATION_AIRFLOW_PASSWORD."
        )


class AirflowApiError(LifecycleError):
    """A non-2xx answer the caller did not expect, with Airflow's `detail`."""

    def __init__(self, status_code: int, method: str, path: str, detail: str) -> None:
        self.status_code = status_code
        self.method = method
        self.path = path
        self.detail = detail
        super().__init__(f"Airflow {method} {path} answered HTTP {status_code}: {detail}")


class OperationTimedOut(LifecycleError):
    """Waited long enough; says what for and where to look."""
