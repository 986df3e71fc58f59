"""A minimal Airflow REST API v2 client: a cached bearer token and authorised requests.

Only what the demo and the tests need to look at Airflow; the lifecycle service has its own
client. Tokens are refreshed on 401 (expiry) once per request.
"""

from __future__ import annotations

from typing import Any

import httpx


class AirflowRest:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._token: str | None = None
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def token(self, *, refresh: bool = False) -> str:
        """A bearer token for this user (`POST /auth/token`), cached until it stops working."""
        if self._token is None or refresh:
            response = self._http.post(
                "/auth/token", json={"username": self._username, "password": self._password}
            )
            if response.status_code not in (200, 201):
                raise RuntimeError(
                    f"Airflow refused a token for {self._username!r}: HTTP {response.status_code}"
                )
            self._token = response.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = self._http.request(method, path, headers=headers, **kwargs)
        if response.status_code == 401:
            headers["Authorization"] = f"Bearer {self.token(refresh=True)}"
            response = self._http.request(method, path, headers=headers, **kwargs)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.request("GET", path, **kwargs)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self._http.close()
