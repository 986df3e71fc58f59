"""What an `acme_erp` Airflow connection holds, and its validation.

The extras declared here are the only ones accepted; the same declaration feeds the
connection form (`conn-fields` in `get_provider_info`), so form and validation cannot drift.
This module imports nothing from Airflow: provider discovery reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Self
from urllib.parse import urlsplit

from acme_provider.exceptions import AcmeConnectionConfigError
from acme_provider.hooks.retry import DEFAULT_MAX_RETRIES, DEFAULT_MAX_RETRY_WAIT

CONN_TYPE = "acme_erp"
DEFAULT_TIMEOUT = 30.0
MIN_TIMEOUT = 0.1
MAX_RETRIES_LIMIT = 20

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout for connecting to and reading from Acme ERP.",
        "schema": {"type": ["number", "null"], "minimum": MIN_TIMEOUT, "default": DEFAULT_TIMEOUT},
    },
    "max_retries": {
        "label": "Max retries",
        "description": (
            "How often a failed request is retried (connection errors, 5xx and 429; "
            "non-idempotent requests only on 429)."
        ),
        "schema": {
            "type": ["integer", "null"],
            "minimum": 0,
            "maximum": MAX_RETRIES_LIMIT,
            "default": DEFAULT_MAX_RETRIES,
        },
    },
    "max_retry_wait": {
        "label": "Max wait between retries (seconds)",
        "description": "Upper bound for the backoff and for any Retry-After sent by Acme ERP.",
        "schema": {"type": ["number", "null"], "minimum": 0, "default": DEFAULT_MAX_RETRY_WAIT},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"host": "Acme API base URL", "password": "API key"},
    "placeholders": {
        "host": "https://acme.example.com",
        "password": "the API key of your Acme ERP account",
    },
}


class ConnectionLike(Protocol):
    """The parts of `airflow.sdk.Connection` this module reads."""

    conn_id: str
    host: str | None
    port: int | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AcmeConnectionSettings:
    """A validated `acme_erp` connection. The API key is kept out of `repr`."""

    conn_id: str
    base_url: str
    api_key: str = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT

    @classmethod
    def from_connection(cls, conn: ConnectionLike) -> Self:
        """Validate a connection; raise `AcmeConnectionConfigError` naming id and field."""
        conn_id = conn.conn_id
        base_url = _base_url(conn_id, conn.host, conn.port)
        if not conn.password:
            raise AcmeConnectionConfigError(conn_id, "password", "(API key) is empty")
        extras = _known_extras(conn_id, conn.extra_dejson)
        return cls(
            conn_id=conn_id,
            base_url=base_url,
            api_key=conn.password,
            timeout=_number(conn_id, "timeout", extras, DEFAULT_TIMEOUT, minimum=MIN_TIMEOUT),
            max_retries=int(
                _number(
                    conn_id,
                    "max_retries",
                    extras,
                    DEFAULT_MAX_RETRIES,
                    minimum=0,
                    maximum=MAX_RETRIES_LIMIT,
                    integer=True,
                )
            ),
            max_retry_wait=_number(conn_id, "max_retry_wait", extras, DEFAULT_MAX_RETRY_WAIT),
        )


def _base_url(conn_id: str, host: str | None, port: int | None) -> str:
    field_name = "host"
    if not host or not host.strip():
        raise AcmeConnectionConfigError(
            conn_id,
            field_name,
            "(Acme API base URL) is empty; set it to e.g. https://acme.example.com",
        )
    try:
        parts = urlsplit(host.strip())
        explicit_port = parts.port
    except ValueError:
        parts, explicit_port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise AcmeConnectionConfigError(
            conn_id,
            field_name,
            "(Acme API base URL) is not an http(s) URL such as https://acme.example.com",
        )
    if parts.username or parts.password:
        raise AcmeConnectionConfigError(
            conn_id,
            field_name,
            "(Acme API base URL) must not contain credentials; put the API key in 'password'",
        )
    if parts.query or parts.fragment:
        raise AcmeConnectionConfigError(
            conn_id, field_name, "(Acme API base URL) must not have a query string or fragment"
        )
    netloc = parts.netloc
    if port and explicit_port is None:
        netloc = f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _known_extras(conn_id: str, extra: Any) -> dict[str, Any]:
    """Extras keyed by their plain names; `extra__acme_erp__<name>` (older UIs) is accepted."""
    if not isinstance(extra, dict):
        raise AcmeConnectionConfigError(conn_id, "extra", "must be a JSON object")
    prefix = f"extra__{CONN_TYPE}__"
    extras: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in extra.items():
        name = key.removeprefix(prefix)
        if name in CONN_FIELDS:
            extras[name] = value
        else:
            unknown.append(key)
    if unknown:
        names = ", ".join(repr(k) for k in sorted(unknown))
        allowed = ", ".join(sorted(CONN_FIELDS))
        raise AcmeConnectionConfigError(
            conn_id, "extra", f"has unknown key(s) {names}; allowed keys are {allowed}"
        )
    return extras


def _number(
    conn_id: str,
    name: str,
    extras: dict[str, Any],
    default: float,
    *,
    minimum: float = 0,
    maximum: float | None = None,
    integer: bool = False,
) -> float:
    value = extras.get(name)
    if value is None or value == "":
        return default
    kind = "a whole number" if integer else "a number"
    bounds = f" between {minimum:g} and {maximum:g}" if maximum is not None else f" >= {minimum:g}"
    problem = f"must be {kind}{bounds}"
    if isinstance(value, bool):
        raise AcmeConnectionConfigError(conn_id, f"extra.{name}", problem)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AcmeConnectionConfigError(conn_id, f"extra.{name}", problem) from None
    if (integer and not number.is_integer()) or number < minimum:
        raise AcmeConnectionConfigError(conn_id, f"extra.{name}", problem)
    if maximum is not None and number > maximum:
        raise AcmeConnectionConfigError(conn_id, f"extra.{name}", problem)
    return number
