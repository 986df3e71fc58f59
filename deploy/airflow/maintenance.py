"""airflow-maintenance: keep Airflow's metadata database and task logs bounded.

Every relay micro-batch is a DAG run, and Airflow keeps runs, task instances, XCom and logs
forever; its scheduler and UI slow down after ~100k runs without `airflow db clean`. This job
runs the documented `airflow db clean` for the tables below, for rows older than a
configurable age, then deletes task log files of the same age, and repeats on an interval.
It runs as the `airflow-maintenance` compose service and is started periodically by the
local stack (`make demo`).

    python deploy/airflow/maintenance.py [--once] [--older-than-days 30] [--interval 86400]
                                         [--first-after 0]

Environment (flags win): AIRFLOW_MAINTENANCE_RETENTION_DAYS (30),
AIRFLOW_MAINTENANCE_INTERVAL_SECONDS (86400), AIRFLOW_MAINTENANCE_TABLES (the list below),
plus the usual AIRFLOW__* settings (the metadata database, the logs folder).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("airflow-maintenance")

# Runs and what hangs off them; `log` is the audit log, `job` the scheduler's heartbeats.
TABLES = (
    "dag_run",
    "task_instance",
    "task_instance_history",
    "task_reschedule",
    "xcom",
    "log",
    "job",
)
DEFAULT_RETENTION_DAYS = 30.0
DEFAULT_INTERVAL_S = 86400.0
BATCH_SIZE = 1000  # rows per transaction: the scheduler never waits long on a lock


def clean_argv(cutoff: datetime, tables: tuple[str, ...]) -> list[str]:
    """The `airflow db clean` command for rows older than `cutoff` (no archive tables:
    archiving would only move the growth elsewhere)."""
    return [
        sys.executable, "-m", "airflow", "db", "clean",
        f"--clean-before-timestamp={cutoff.isoformat()}",
        f"--tables={','.join(tables)}",
        f"--batch-size={BATCH_SIZE}",
        "--skip-archive",
        "--error-on-cleanup-failure",
        "--yes",
    ]  # fmt: skip


def logs_folder() -> Path:
    configured = os.environ.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER")
    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    return Path(configured) if configured else home / "logs"


def prune_log_files(folder: Path, cutoff: datetime) -> int:
    """Delete log files last written before `cutoff`, then the directories left empty."""
    if not folder.is_dir():
        return 0
    limit = cutoff.timestamp()
    removed = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    for directory in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()
    return removed


def run_once(retention_days: float, tables: tuple[str, ...]) -> int:
    """One pass; the exit code of `airflow db clean` (0 when everything went)."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    log.info("cleaning Airflow metadata older than %s: %s", cutoff.isoformat(), ",".join(tables))
    code = subprocess.run(clean_argv(cutoff, tables), check=False).returncode
    files = prune_log_files(logs_folder(), cutoff)
    log.info("airflow db clean exited %d; %d log files removed", code, files)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    env = os.environ.get
    parser.add_argument(
        "--older-than-days",
        type=float,
        default=float(env("AIRFLOW_MAINTENANCE_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS),
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=float(env("AIRFLOW_MAINTENANCE_INTERVAL_SECONDS") or DEFAULT_INTERVAL_S),
        help="seconds between passes",
    )
    parser.add_argument(
        "--first-after", type=float, default=0.0, help="seconds before the first pass"
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit with its code")
    args = parser.parse_args(argv)
    if args.older_than_days <= 0 or args.interval <= 0:
        parser.error("--older-than-days and --interval must be positive")
    tables = tuple(
        t for t in (env("AIRFLOW_MAINTENANCE_TABLES") or ",".join(TABLES)).split(",") if t
    )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    time.sleep(max(0.0, args.first_after))  # e.g. let a starting stack settle first
    while True:
        code = run_once(args.older_than_days, tables)
        if args.once:
            return code
        time.sleep(args.interval)  # a failed pass is retried at the next interval


if __name__ == "__main__":
    sys.exit(main())
