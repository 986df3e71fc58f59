"""Translate the compose network's addresses and paths into this machine's.

In the compose file services reach each other by name (`http://airflow-apiserver:8080`,
`postgres:5432`) and files live at container paths (`/opt/airflow/instances`). On loopback
every service listens on 127.0.0.1 at a free port and files live under a state directory.
`LoopbackMap` rewrites compose values accordingly, so the distributed run uses the compose
file's own settings with only addresses and paths changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# scheme://[userinfo@]host:port[/path] with an explicit port (the compose file always gives one).
_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://"
    r"(?:(?P<userinfo>[^@/\s\"']*)@)?"
    r"(?P<host>[A-Za-z0-9_.-]+):(?P<port>\d+)"
    r"(?P<path>/[^\s\"']*)?"
)
LOOPBACK = "127.0.0.1"


class UnknownAddress(LookupError):
    """A compose URL names a service:port that has no local counterpart."""


@dataclass(frozen=True)
class Endpoint:
    """Where `service:port` of the compose network is on this machine."""

    host: str
    port: int
    path: str | None = None  # replaces the URL's path (e.g. another Redis database number)
    userinfo: str | None = None  # replaces `user:password` (e.g. a Redis without a password)


@dataclass
class LoopbackMap:
    endpoints: dict[tuple[str, int], Endpoint] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)  # container path -> local path

    def add(self, service: str, port: int, endpoint: Endpoint) -> None:
        self.endpoints[(service, port)] = endpoint

    def port(self, service: str, port: int) -> int:
        """The local port standing for `service:port`."""
        try:
            return self.endpoints[(service, port)].port
        except KeyError:
            raise UnknownAddress(f"no local address for {service}:{port}") from None

    def rewrite_urls(self, text: str, *, service: str | None = None) -> str:
        """Every `scheme://host:port` URL to a known service pointed at its local address.

        `localhost` means `service` itself (health checks run inside the container).
        URLs to hosts this map does not know (e.g. an external API) are left alone.
        """

        def replace(match: re.Match[str]) -> str:
            host = service if match["host"] == "localhost" and service else match["host"]
            endpoint = self.endpoints.get((host or "", int(match["port"])))
            if endpoint is None:
                return match[0]
            userinfo = match["userinfo"] if endpoint.userinfo is None else endpoint.userinfo
            path = match["path"] or ""
            if endpoint.path is not None:
                path = endpoint.path
            credentials = f"{userinfo}@" if userinfo is not None else ""
            return f"{match['scheme']}://{credentials}{endpoint.host}:{endpoint.port}{path}"

        return _URL.sub(replace, text)

    def rewrite_path(self, text: str) -> str:
        """A container path (or a value starting with one) as its local path."""
        for container, local in sorted(self.paths.items(), key=lambda kv: -len(kv[0])):
            if text == container or text.startswith(container.rstrip("/") + "/"):
                return str(local) + text[len(container.rstrip("/")) :]
        return text

    def rewrite_value(self, text: str, *, service: str | None = None) -> str:
        return self.rewrite_path(self.rewrite_urls(text, service=service))

    def rewrite_environment(self, env: Mapping[str, str], *, service: str) -> dict[str, str]:
        return {name: self.rewrite_value(value, service=service) for name, value in env.items()}

    def rewrite_arguments(self, argv: Sequence[str], *, service: str) -> list[str]:
        """Command-line flags: `--host` binds loopback, `--port N` its local port, paths local."""
        out: list[str] = []
        previous = ""
        for arg in argv:
            if previous == "--host":
                arg = LOOPBACK
            elif previous == "--port":
                arg = str(self.port(service, int(arg)))
            else:
                arg = self.rewrite_value(arg, service=service)
            out.append(arg)
            previous = arg if arg.startswith("--") else ""
        return out

    def health_urls(self, test: Sequence[str] | str, *, service: str) -> list[str]:
        """The HTTP URLs a compose health check calls, as local URLs."""
        text = test if isinstance(test, str) else " ".join(test)
        return [
            self.rewrite_urls(match[0], service=service)
            for match in _URL.finditer(text)
            if match["scheme"] in ("http", "https")
        ]
