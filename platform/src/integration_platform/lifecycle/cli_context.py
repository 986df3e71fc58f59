"""The `integrations` CLI's per-invocation state: settings, output mode, the service (one
per thread for bulk deploys), progress on stderr, and errors mapped to exit codes."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from integration_platform.lifecycle.cli_output import err, print_json, styled
from integration_platform.lifecycle.errors import ExitCode, InvalidRequest, LifecycleError
from integration_platform.lifecycle.service import InstanceService
from integration_platform.lifecycle.settings import LifecycleSettings


@dataclasses.dataclass
class CliContext:
    """Per-invocation state (typer's `ctx.obj`): settings, output mode, the lazy service."""

    settings: LifecycleSettings
    as_json: bool
    integration: str | None = None
    _service: InstanceService | None = None

    @property
    def service(self) -> InstanceService:
        if self._service is None:
            self._service = self.new_service()
        return self._service

    def new_service(self) -> InstanceService:
        """A service of its own (its own Airflow client), e.g. for another thread."""
        try:
            service = InstanceService(self.settings, integration=self.integration)
            service.integration  # noqa: B018 - resolve now: an unknown name is bad input
        except KeyError as error:
            err.print(styled("error:", "red", f" {error.args[0]}"), highlight=False)
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        return service

    def with_run_timeout(self, timeout: float | None) -> None:
        if timeout is not None:
            self.settings = dataclasses.replace(self.settings, run_timeout=timeout)

    def run(self, action: Callable[[InstanceService], Any]) -> Any:
        """Call the service; a `LifecycleError` becomes a message and its exit code."""
        try:
            return action(self.service)
        except LifecycleError as error:
            raise self.fail(error) from None
        finally:
            if self._service is not None:
                self._service.close()

    @contextmanager
    def progress(self, message: str) -> Iterator[Callable[[str], None]]:
        """Progress lines on stderr (never stdout), under a spinner on a terminal."""
        if self.as_json or not err.is_terminal:
            yield lambda line: err.print(f"  {line}", highlight=False)
            return
        with err.status(message) as status:

            def report(line: str) -> None:
                err.print(f"  {line}", highlight=False)
                status.update(line)

            yield report

    def fail(self, error: LifecycleError) -> typer.Exit:
        if self.as_json:
            payload = {
                "error": type(error).__name__,
                "message": str(error),
                "exit_code": int(error.exit_code),
            }
            if isinstance(error, InvalidRequest):
                payload["fields"] = [{"field": e.field, "reason": e.reason} for e in error.errors]
            print_json(payload)
        elif isinstance(error, InvalidRequest) and len(error.errors) > 1:
            err.print(styled("error:", "red", f" {error.source}:"), highlight=False)
            for item in error.errors:
                err.print(f"  - {item.field}: {item.reason}", highlight=False, soft_wrap=True)
        else:
            err.print(styled("error:", "red", f" {error}"), highlight=False, soft_wrap=True)
        return typer.Exit(int(error.exit_code))


def airflow_password(path: Path | None, ask: bool) -> str | None:
    """The password from a file (its first line) or a hidden prompt; None: the env var's."""
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            err.print(styled("error:", "red", f" --airflow-password-file {path}: {error.strerror}"))
            raise typer.Exit(int(ExitCode.BAD_INPUT)) from None
        return lines[0].strip() if lines else ""
    if ask:
        return typer.prompt("Airflow password", hide_input=True)
    return None
