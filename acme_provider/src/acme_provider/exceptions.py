"""Typed errors of the Acme ERP client.

Callers branch on the exception *type* and `status_code`, never on message text. Messages
name the connection, the request and Acme's error reason, and never contain secrets.
"""

from __future__ import annotations

from typing import Any

_BODY_PREVIEW_CHARS = 300


class ConnectionConfigError(ValueError):
    """An Airflow connection is unusable; the message is one sentence naming id and field."""

    def __init__(self, conn_id: str, field: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field = field
        super().__init__(f"Connection {conn_id!r}: field {field!r} {problem}.")


class AcmeConnectionConfigError(ConnectionConfigError):
    """The `acme_erp` connection is missing its API key, has a malformed URL or bad extras."""


def _error_reason(body: Any) -> str:
    """A short human reason from an API error body (JSON `detail`/`error`/`message`, or text)."""
    if isinstance(body, dict):
        for key in ("detail", "error", "message"):
            if key in body:
                return _describe(body[key])[:_BODY_PREVIEW_CHARS]
    text = str(body) if body is not None else ""
    return text[:_BODY_PREVIEW_CHARS]


def _describe(detail: Any) -> str:
    """FastAPI-style field errors (`[{"loc": [...], "msg": ...}]`) as `loc: msg; ...`."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict) and "msg" in item:
                location = ".".join(str(p) for p in item.get("loc", []))
                parts.append(f"{location}: {item['msg']}" if location else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


class HttpApiError(Exception):
    """A non-2xx answer from an HTTP API, carrying the status code and the decoded body."""

    service = "HTTP API"

    def __init__(
        self,
        status_code: int,
        body: Any,
        *,
        method: str,
        path: str,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.method = method
        self.path = path
        self.retry_after = retry_after
        reason = _error_reason(body)
        message = f"{self.service} {method} {path} answered HTTP {status_code}"
        super().__init__(f"{message}: {reason}" if reason else message)


class AcmeApiError(HttpApiError):
    """Base of every error answered by the Acme ERP API."""

    service = "Acme ERP"


class AcmeValidationError(AcmeApiError):
    """400/409/413/422: the request itself is wrong; retrying cannot help."""


class AcmeAuthError(AcmeApiError):
    """401/403: the API key is unknown or lacks access."""


class AcmeNotFound(AcmeApiError):
    """404: the object does not exist (or belongs to another account)."""


class AcmeRateLimited(AcmeApiError):
    """429: too many requests; `retry_after` holds the server's hint in seconds, if any."""


class AcmeServerError(AcmeApiError):
    """5xx: Acme failed; safe to retry for idempotent requests."""


def acme_error_for_status(status_code: int) -> type[AcmeApiError]:
    """The exception class for an Acme HTTP status code."""
    if status_code in (401, 403):
        return AcmeAuthError
    if status_code == 404:
        return AcmeNotFound
    if status_code == 429:
        return AcmeRateLimited
    if status_code >= 500:
        return AcmeServerError
    if status_code in (400, 409, 413, 422):
        return AcmeValidationError
    return AcmeApiError
