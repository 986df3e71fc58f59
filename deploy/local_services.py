"""The machine's own PostgreSQL and Redis, borrowed for one run and given back clean.

PostgreSQL: uniquely named databases (and the relay's role), dropped afterwards. Redis: one
empty database number, claimed with a marker key so two runs never share it, flushed after.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Mapping
from pathlib import Path

import psycopg2
import redis
from psycopg2 import sql

CLAIM_KEY = "deploy:distributed:claimed-by"


class LocalPostgres:
    """A PostgreSQL server reached as a superuser (trust auth on 127.0.0.1)."""

    def __init__(self, url: str) -> None:
        self.url = url
        params = psycopg2.extensions.parse_dsn(url)
        self.host = params.get("host", "127.0.0.1")
        self.port = int(params.get("port", 5432))
        self.superuser = params.get("user", "postgres")

    def _execute(self, statement: sql.Composable) -> None:
        connection = psycopg2.connect(self.url)
        try:
            connection.autocommit = True  # CREATE/DROP DATABASE refuse to run in a transaction
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def create_database(self, name: str) -> None:
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def drop_role(self, name: str) -> None:
        self._execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))

    def run_init_script(
        self, script: Path, environment: Mapping[str, str], *, log_path: Path
    ) -> None:
        """Run a /docker-entrypoint-initdb.d/ script against this server, as the image would."""
        env = {
            **os.environ,
            **environment,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "POSTGRES_USER": self.superuser,
            "POSTGRES_DB": "postgres",
        }
        with log_path.open("ab") as log:
            result = subprocess.run(
                ["bash", str(script)], env=env, stdout=log, stderr=subprocess.STDOUT, check=False
            )
        if result.returncode != 0:
            raise RuntimeError(f"{script.name} failed (exit {result.returncode}); see {log_path}")


class LocalRedis:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.db: int | None = None

    def claim_database(self, owner: str) -> int:
        """An empty database number (1-15) marked as ours; database 0 is left to others."""
        for number in random.sample(range(1, 16), 15):
            client = redis.Redis(host=self.host, port=self.port, db=number)
            try:
                if client.dbsize() == 0 and client.set(CLAIM_KEY, owner, nx=True):
                    self.db = number
                    return number
            finally:
                client.close()
        raise RuntimeError(f"no empty Redis database on {self.host}:{self.port}")

    def release(self) -> None:
        if self.db is None:
            return
        client = redis.Redis(host=self.host, port=self.port, db=self.db)
        try:
            client.flushdb()
        finally:
            client.close()
        self.db = None
