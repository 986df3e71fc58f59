"""Run a simulator app with uvicorn, on a given or throw-away SQLite file."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def serve(
    build: Callable[[Path], FastAPI],
    *,
    host: str,
    port: int,
    db: Path | None,
    db_name: str,
    access_log: bool,
) -> None:
    """Serve `build(db_path)` until SIGINT/SIGTERM; without `db`, data lives in a temp dir."""
    if db is not None:
        _run(build(db.resolve()), host, port, access_log)
        return
    with tempfile.TemporaryDirectory(prefix="sandbox-") as scratch:
        _run(build(Path(scratch) / db_name), host, port, access_log)


def _run(app: FastAPI, host: str, port: int, access_log: bool) -> None:
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        timeout_graceful_shutdown=5,
    )
