"""One Acme ERP API request: sent on the hook's session, retried only when that is harmless,
and turned into a typed exception (`acme_provider.exceptions`) when Acme answers an error."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests

from acme_provider.exceptions import AcmeApiError, AcmeRateLimited, AcmeServerError
from acme_provider.exceptions import acme_error_for_status as error_for_status
from acme_provider.hooks.retry import RetryPolicy, build_retrying, log_retries, parse_retry_after

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""PATCH carries absolute values in this API, so repeating it lands in the same state."""

# The hook's logger name, as before this module was split out of it: logging configs keep working.
log = logging.getLogger("acme_provider.hooks.acme_erp")


def is_retryable(error: BaseException, *, idempotent: bool) -> bool:
    """Whether repeating the request may succeed and cannot do harm.

    A 429 is retried for every method: the rate limiter rejected the request before it ran.
    Connection errors, timeouts and 5xx may hide a request that *did* run, so they are retried
    only when repeating it is harmless (idempotent methods).
    """
    if isinstance(error, AcmeRateLimited):
        return True
    if not idempotent:
        return False
    return isinstance(error, AcmeServerError | requests.ConnectionError | requests.Timeout)


def send(
    session: requests.Session,
    base_url: str,
    method: str,
    path: str,
    *,
    timeout: float,
    policy: RetryPolicy | None,
    params: Mapping[str, Any] | None = None,
    json: Any = None,
) -> Any:
    """Send one API request (retried under `policy`, once without); the decoded JSON body."""
    idempotent = method in IDEMPOTENT_METHODS

    def attempt() -> Any:
        response = session.request(
            method, base_url + path, params=params, json=json, timeout=timeout
        )
        log.debug("Acme ERP %s %s -> HTTP %s", method, path, response.status_code)
        if response.status_code >= 400:
            raise api_error(response, method, path)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    if policy is None:
        return attempt()
    retrying = build_retrying(
        policy,
        lambda error: is_retryable(error, idempotent=idempotent),
        before_sleep=log_retries(log, f"Acme ERP {method} {path}", policy.max_attempts),
    )
    return retrying(attempt)


def api_error(response: requests.Response, method: str, path: str) -> AcmeApiError:
    """The typed exception for an error answer, with its body and `Retry-After`."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:1000]
    error_class = error_for_status(response.status_code)
    return error_class(
        response.status_code,
        body,
        method=method,
        path=path,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )
