"""Start, wait for and stop the real processes that the demo and the tests run.

One implementation serves `make demo` and the pytest fixtures, so the tests start the
services exactly as a user would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

import httpx


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class ProcessFailed(RuntimeError):
    """A managed process exited early or never became ready."""


class ManagedProcess:
    """A child process in its own process group, with its output in a log file.

    `ready_url` is polled until it answers below 500; `stop()` sends SIGTERM to the whole
    group and SIGKILL after `stop_timeout` seconds, so grandchildren (uvicorn workers,
    Airflow's scheduler) never outlive it.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        ready_url: str | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = Path(log_path)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.ready_url = ready_url
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise ProcessFailed(f"{self.name} was never started")
        return self.popen.pid

    def start(self, *, wait: bool = True) -> Self:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if wait:
            self.wait_ready()
        return self

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until `ready_url` answers (or just until the process is alive)."""
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        while time.monotonic() < deadline:
            if not self.is_running():
                raise ProcessFailed(
                    f"{self.name} exited with code {self.popen and self.popen.returncode}; "
                    f"last log lines:\n{self.log_tail()}"
                )
            if self.ready_url is None:
                return
            try:
                if httpx.get(self.ready_url, timeout=2.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise ProcessFailed(
            f"{self.name} not ready at {self.ready_url} after {timeout or self.ready_timeout:.0f}s; "
            f"last log lines:\n{self.log_tail()}"
        )

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the whole group: a crash, as far as the process can tell."""
        if self.popen is not None:
            self._signal_group(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after `stop_timeout`."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(self.stop_timeout)
        # Children may survive their leader; sweep the group either way.
        self._signal_group(signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log yet)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
