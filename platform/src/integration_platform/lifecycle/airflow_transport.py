"""The wire under the official `apache-airflow-client`: httpx, retries, errors, the JWT.

The generated client sends every request through `ApiClient.rest_client.request(...)` and
reads `status`, `reason`, `headers` and `read()` from what it gets back. `HttpxRest` is that
object on `httpx` (the HTTP library of the rest of the project), which buys three things:
- connection errors and 5xx are retried with exponential backoff (tenacity) under every call
  of the client; each call the lifecycle makes is idempotent or made so by a caller-chosen
  run id, so a retry is safe;
- connection errors after the retries raise `AirflowUnreachable` (one sentence naming the
  URL), whichever API class made the call;
- tests inject an `httpx` transport for the cases a real Airflow cannot produce on demand.

The client has no call for `POST /auth/token` (its `LoginApi` is the browser login), so
`fetch_token` is the one hand-made request left.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from airflow_client.client.exceptions import ApiException
from pydantic import ValidationError
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from integration_platform.lifecycle.errors import (
    AirflowApiError,
    AirflowAuthError,
    AirflowUnreachable,
)

TOKEN_PATH = "/auth/token"  # noqa: S105 - a path, not a secret


def _is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.TransportError):
        return True
    return isinstance(error, httpx.HTTPStatusError) and error.response.status_code >= 500


def detail_of(body: str | bytes | None) -> str:
    """Airflow's `detail` of an error answer, in one line (FastAPI validation errors joined)."""
    if not body:
        return ""
    try:
        data = json.loads(body)
    except ValueError:
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return text[:300]
    detail = data.get("detail", data) if isinstance(data, dict) else data
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return str(detail)[:300]


class HttpxResponse:
    """What the official client reads from an answer (its `rest.RESTResponse`), on httpx."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status = response.status_code
        self.reason = response.reason_phrase
        self.data: bytes | None = None

    def read(self) -> bytes:
        if self.data is None:
            self.data = self.response.content
        return self.data

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers

    def getheaders(self) -> httpx.Headers:
        return self.response.headers

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.response.headers.get(name, default)


class HttpxRest:
    """The official client's `rest_client`, on one `httpx.Client` with retries.

    It remembers, per thread, the method and path of the last request, so an error answer
    can be reported as "Airflow GET /api/v2/... answered HTTP 500: <detail>".
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        attempts: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self._timeout = timeout
        self._attempts = attempts
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._last = threading.local()

    def close(self) -> None:
        self._http.close()

    def last_request(self) -> tuple[str, str, int]:
        """Method, path and status of this thread's last request (for error messages)."""
        return getattr(self._last, "request", ("?", "?", 0))

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> HttpxResponse:
        """The signature the generated `ApiClient.call_api` calls (JSON bodies only)."""
        if post_params:
            raise ValueError("form bodies are not used with Airflow's REST API")
        content = body if body is None or isinstance(body, str | bytes) else json.dumps(body)
        return HttpxResponse(self.send(method, url, headers=dict(headers or {}), content=content))

    def send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on connection errors and 5xx; a persistent 5xx is returned
        for the caller to report, an unreachable server raises `AirflowUnreachable`."""
        path = httpx.URL(url).raw_path.decode().split("?")[0]
        self._last.request = (method, path, 0)

        def give_up(state: RetryCallState) -> httpx.Response:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, httpx.HTTPStatusError):
                return error.response
            if isinstance(error, httpx.TimeoutException):
                reason = f"no answer within {self._timeout:.0f}s, {self._attempts} attempts"
            else:
                reason = type(error).__name__ if error else "unknown error"
                if error and str(error):
                    reason = f"{reason}: {error}"
            raise AirflowUnreachable(self.base_url, reason)

        @retry(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.5, max=5),
            retry_error_callback=give_up,
            reraise=False,
        )
        def attempt() -> httpx.Response:
            response = self._http.request(method, url, **kwargs)
            if response.status_code >= 500:
                raise httpx.HTTPStatusError(
                    "server error", request=response.request, response=response
                )
            return response

        response = attempt()
        self._last.request = (method, path, response.status_code)
        return response


def fetch_token(rest: HttpxRest, username: str, password: str) -> str:
    """A JWT for `username` from `POST /auth/token` (the one endpoint the client lacks)."""
    response = rest.send(
        "POST", f"{rest.base_url}{TOKEN_PATH}", json={"username": username, "password": password}
    )
    if response.status_code in (401, 403):
        raise AirflowAuthError(rest.base_url, username)
    if response.status_code not in (200, 201):
        raise AirflowApiError(response.status_code, "POST", TOKEN_PATH, detail_of(response.content))
    return response.json()["access_token"]


def api_error(error: ApiException, request: tuple[str, str, int]) -> AirflowApiError:
    """The client's exception for a non-2xx answer as the lifecycle's error, with `detail`."""
    method, path, _status = request
    return AirflowApiError(int(error.status or 0), method, path, detail_of(error.body))


def unexpected_answer(error: ValueError, request: tuple[str, str, int]) -> AirflowApiError:
    """An answer the client's models refuse. Only field names and rules are kept: pydantic's
    own message would quote the values, secrets included."""
    method, path, status = request
    problems = "no schema matches"
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)[:5]
        )
    return AirflowApiError(status, method, path, f"an answer unlike the API's schema ({problems})")
