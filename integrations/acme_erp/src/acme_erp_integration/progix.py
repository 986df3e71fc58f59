"""`ProgixHook`: batch upserts into Progix through `HttpHook` (apache-airflow-providers-http).

The Progix API key is the `http` connection's `password`, sent as `Authorization: Bearer`
(never basic auth, never an extra, which `HttpHook` would send as a header verbatim).
Retries go through `HttpHook.run_with_advanced_retry` with the provider's retry policy.
Upserts are safe to retry, even as POST: each item carries the Acme `version`, and Progix
answers a replayed write with `stale` instead of applying it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowNotFoundException
from requests.auth import AuthBase

from acme_erp_integration.errors import ProgixApiError, ProgixConnectionConfigError
from acme_provider.hooks.retry import (
    RetryPolicy,
    log_retries,
    parse_retry_after,
    tenacity_kwargs,
)

ProgixResource = Literal["customers", "inventory"]
MAX_ITEMS_PER_REQUEST = 500
_STATUSES = ("created", "updated", "stale")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpsertSummary:
    """How many items Progix created, updated, or ignored as `stale` (older or same version)."""

    created: int = 0
    updated: int = 0
    stale: int = 0

    def __add__(self, other: UpsertSummary) -> UpsertSummary:
        return UpsertSummary(
            self.created + other.created, self.updated + other.updated, self.stale + other.stale
        )

    def as_counts(self) -> dict[str, int]:
        """Plain counts, e.g. as the return value of an `on_batch` callback."""
        return asdict(self)


class BearerAuth(AuthBase):
    """`Authorization: Bearer <key>`; its repr never shows the key."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


def is_retryable(error: BaseException) -> bool:
    """Connection errors, timeouts, 429 and 5xx; other 4xx mean the request is wrong."""
    if isinstance(error, ProgixApiError):
        return error.is_retryable
    return isinstance(error, requests.ConnectionError | requests.Timeout)


class ProgixHook(HttpHook):
    """Upsert records into Progix over an `http` connection (host = base URL, password = key).

    :param http_conn_id: the `http` connection, e.g. `progix__<instance>`.
    :param retry_policy: attempts and waits for connection errors, 429 and 5xx.
    :param max_items_per_request: chunk size of batch upserts (at most 500).
    """

    default_conn_name = "progix_default"

    def __init__(
        self,
        http_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        max_items_per_request: int = MAX_ITEMS_PER_REQUEST,
        **kwargs: Any,
    ) -> None:
        super().__init__(method="POST", http_conn_id=http_conn_id, **kwargs)
        if not 1 <= max_items_per_request <= MAX_ITEMS_PER_REQUEST:
            raise ValueError(f"max_items_per_request must be between 1 and {MAX_ITEMS_PER_REQUEST}")
        self.retry_policy = retry_policy or RetryPolicy()
        self.max_items_per_request = max_items_per_request

    def _configure_session_from_auth(self, session: requests.Session, connection: Any) -> Any:
        if not connection.password:
            raise ProgixConnectionConfigError(
                self.http_conn_id, "password", "(Progix API key) is empty"
            )
        session.auth = BearerAuth(connection.password)
        return session

    def check_response(self, response: requests.Response) -> None:
        """Raise a typed `ProgixApiError` (status code, body) instead of a string error."""
        if response.status_code < 400:
            return
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text[:1000]
        request = response.request
        raise ProgixApiError(
            response.status_code,
            body,
            method=request.method or self.method,
            path=requests.utils.urlparse(request.url or "").path,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def batch_upsert(
        self, resource: ProgixResource, items: Iterable[Mapping[str, Any]]
    ) -> UpsertSummary:
        """Upsert `items` (each with `external_id` and integer `version`), ≤ 500 per request."""
        if resource not in ("customers", "inventory"):
            raise ValueError(f"resource must be 'customers' or 'inventory', got {resource!r}")
        batch = [_check_item(i, item) for i, item in enumerate(items)]
        summary = UpsertSummary()
        for start in range(0, len(batch), self.max_items_per_request):
            chunk = batch[start : start + self.max_items_per_request]
            summary += self._upsert_chunk(resource, chunk)
        return summary

    def _upsert_chunk(self, resource: str, chunk: Sequence[Mapping[str, Any]]) -> UpsertSummary:
        endpoint = f"/v1/{resource}:batchUpsert"
        retry_args = tenacity_kwargs(
            self.retry_policy,
            is_retryable,
            before_sleep=log_retries(
                log, f"Progix POST {endpoint}", self.retry_policy.max_attempts
            ),
        )
        response = self.run_with_advanced_retry(
            _retry_args=retry_args,
            endpoint=endpoint,
            json={"items": list(chunk)},
        )
        results = response.json().get("results")
        if not isinstance(results, list) or len(results) != len(chunk):
            raise ProgixApiError(
                response.status_code,
                "batchUpsert answered a different number of results than items sent",
                method="POST",
                path=endpoint,
            )
        counts = dict.fromkeys(_STATUSES, 0)
        for result in results:
            status = result.get("status") if isinstance(result, Mapping) else None
            if status not in counts:
                raise ProgixApiError(
                    response.status_code,
                    f"unexpected upsert status {status!r}",
                    method="POST",
                    path=endpoint,
                )
            counts[status] += 1
        return UpsertSummary(**counts)

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and the API key with one read; never raises."""
        try:
            session = self.get_conn()
            response = session.get(
                self.url_from_endpoint("/v1/customers"), params={"limit": 1}, timeout=30
            )
            self.check_response(response)
        except AirflowNotFoundException:
            return False, f"Connection {self.http_conn_id!r} is not defined."
        except (ProgixConnectionConfigError, ProgixApiError) as error:
            return False, str(error)
        except (requests.RequestException, ValueError) as error:
            return False, (
                f"Connection {self.http_conn_id!r}: cannot reach Progix ({type(error).__name__})."
            )
        return True, f"Connected to Progix at {self.base_url}."


def _check_item(index: int, item: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ValueError(f"items[{index}] must be a mapping")
    if not isinstance(item.get("external_id"), str) or not item["external_id"]:
        raise ValueError(f"items[{index}].external_id must be a non-empty string")
    version = item.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"items[{index}].version must be an integer")
    return dict(item)
