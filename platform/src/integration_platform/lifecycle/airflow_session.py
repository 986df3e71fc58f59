"""One user's session with Airflow's REST API v2, through the official client's `ApiClient`.

Who the calls are made as, and what their failures mean to the lifecycle:
- logs in with `POST /auth/token` (username/password → JWT) on first use and again when a call
  answers 401 (an expired token), once per call; or acts with a caller's own token (the UI
  plugin), never logging in: a rejected forwarded token raises `SessionExpired`;
- rejected credentials → `AirflowAuthError`; any other unexpected status → `AirflowApiError`
  with Airflow's `detail`; unreachable → `AirflowUnreachable` (from `airflow_transport`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx
from airflow_client.client import ApiClient, Configuration
from airflow_client.client.exceptions import ApiException, UnauthorizedException

from integration_platform.lifecycle.airflow_transport import (
    HttpxRest,
    api_error,
    fetch_token,
    unexpected_answer,
)
from integration_platform.lifecycle.errors import AirflowApiError, AirflowAuthError, SessionExpired

T = TypeVar("T")


class AirflowSession:
    """The official client's `ApiClient` on `HttpxRest`, authenticated as `username`."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str | None,
        token: str | None,
        *,
        timeout: float,
        attempts: int,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.base_url = base_url
        self.username = username
        self._password = password
        self._token = token
        self._rest = HttpxRest(base_url, timeout=timeout, attempts=attempts, transport=transport)
        self._config = Configuration(host=base_url)
        self.api = ApiClient(self._config)
        self.api.rest_client = self._rest  # every API class sends through httpx, with retries

    def close(self) -> None:
        self._rest.close()

    def token(self) -> str:
        """This user's bearer token: logs in on first use; `call` renews it after a 401."""
        if self._token is None:
            if self._password is None:
                raise SessionExpired()
            self._token = fetch_token(self._rest, self.username, self._password)
        return self._token

    def call(self, call: Callable[[], T]) -> T:
        """One call of the official client as this user, its errors mapped to ours."""
        for attempt in range(2):
            self._config.access_token = self.token()
            try:
                return call()
            except UnauthorizedException:
                if attempt == 0:
                    self._token = None  # expired or revoked: log in again, once
                    continue
                raise AirflowAuthError(self.base_url, self.username) from None
            except ApiException as error:
                raise api_error(error, self._rest.last_request()) from None
            except ValueError as error:  # a pydantic ValidationError, or a oneOf matching none
                raise unexpected_answer(error, self._rest.last_request()) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def call_json(self, call: Callable[[], httpx.Response]) -> Any:
        """`call` of an API method's `..._without_preload_content` variant, its JSON decoded
        here: for the answers whose generated models lose or misread what the lifecycle needs.
        """

        def send() -> Any:
            response = call()
            if not 200 <= response.status_code < 300:
                cls = UnauthorizedException if response.status_code == 401 else ApiException
                raise cls(status=response.status_code, body=response.text)
            return response.json()

        return self.call(send)

    def optional(self, call: Callable[[], T]) -> T | None:
        """`call`, with a 404 answer as None."""
        try:
            return self.call(call)
        except AirflowApiError as error:
            if error.status_code == 404:
                return None
            raise

    def request(
        self, method: str, path: str, *, expected: Sequence[int] = (200,), **kwargs: Any
    ) -> httpx.Response:
        """Any endpoint by path (`json=`, `params=`, `headers=`) through the `ApiClient`, so
        authentication and retries are those of every call; statuses outside `expected`
        raise `AirflowApiError`."""
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if "json" in kwargs:
            headers.setdefault("Content-Type", "application/json")
        params = kwargs.get("params") or {}

        def send() -> httpx.Response:
            method_, url, header_params, body, _ = self.api.param_serialize(
                method,
                path,
                query_params=list(params.items()),
                header_params=dict(headers),
                body=kwargs.get("json"),
                auth_settings=["HTTPBearer"],
                collection_formats={k: "multi" for k, v in params.items() if isinstance(v, list)},
            )
            response = self.api.call_api(method_, url, header_params, body).response
            if response.status_code == 401 and 401 not in expected:
                raise UnauthorizedException(status=401, reason="Unauthorized")
            if response.status_code not in expected:
                raise ApiException(status=response.status_code, body=response.text)
            return response

        return self.call(send)
