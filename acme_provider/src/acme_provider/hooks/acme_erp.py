"""`AcmeErpHook`: a typed client of the Acme ERP REST API on an `acme_erp` Airflow connection.

Conventions follow `HttpHook`: the connection id attribute, no network in `__init__`, a lazily
built and reused `requests.Session` (`get_conn`), `test_connection()`. Unlike `HttpHook`,
errors are typed exceptions (`acme_provider.exceptions`) and unknown extras are rejected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import requests
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from acme_provider import __version__
from acme_provider.exceptions import (
    AcmeApiError,
    AcmeAuthError,
    AcmeConnectionConfigError,
    AcmeNotFound,
)
from acme_provider.hooks.acme_api import (
    DEFAULT_CONN_NAME,
    DEFAULT_PAGE_SIZE,
    MAX_IDS_PER_REQUEST,
    AcmeRecord,
    Resource,
    WebhookSubscription,
)
from acme_provider.hooks.acme_connection import CONN_TYPE, AcmeConnectionSettings
from acme_provider.hooks.acme_http import IDEMPOTENT_METHODS, is_retryable, send
from acme_provider.hooks.acme_records import (
    RecordBatch,
    chunks,
    record_path,
    resource_key,
    resource_path,
    timestamp,
    unique_ids,
    webhook_path,
)
from acme_provider.hooks.retry import RetryPolicy

# The hook's public names, wherever they are defined: this module's import path is the API.
__all__ = [
    "IDEMPOTENT_METHODS",
    "AcmeErpHook",
    "RecordBatch",
    "is_retryable",
    "resource_key",
    "unique_ids",
]


class AcmeErpHook(BaseHook):
    """Talk to Acme ERP through an `acme_erp` connection.

    Connection: `host` = API base URL (e.g. `https://acme.example.com`), `password` = API key,
    optional extras `timeout`, `max_retries`, `max_retry_wait` (nothing else is accepted).

    :param acme_conn_id: the Airflow connection id.
    :param retry_policy: overrides the policy derived from the connection's extras.
    """

    conn_name_attr = "acme_conn_id"
    default_conn_name = DEFAULT_CONN_NAME
    conn_type = CONN_TYPE
    hook_name = "Acme ERP"

    def __init__(
        self,
        acme_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        super().__init__()
        self.acme_conn_id = acme_conn_id
        self._retry_policy_override = retry_policy
        self._settings: AcmeConnectionSettings | None = None
        self._session: requests.Session | None = None

    # -- connection ---------------------------------------------------------------------------

    @property
    def settings(self) -> AcmeConnectionSettings:
        """The validated connection (read on first use, then cached)."""
        if self._settings is None:
            self._settings = AcmeConnectionSettings.from_connection(
                self.get_connection(self.acme_conn_id)
            )
        return self._settings

    @property
    def retry_policy(self) -> RetryPolicy:
        if self._retry_policy_override is not None:
            return self._retry_policy_override
        settings = self.settings
        return RetryPolicy(max_attempts=settings.max_retries + 1, max_delay=settings.max_retry_wait)

    def get_conn(self) -> requests.Session:
        """The `requests.Session` every call of this hook reuses (built on first use)."""
        if self._session is None:
            session = requests.Session()
            session.headers.update(
                {
                    "Authorization": f"Bearer {self.settings.api_key}",
                    "Accept": "application/json",
                    "User-Agent": f"airflow-provider-acme-erp/{__version__}",
                }
            )
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def test_connection(self) -> tuple[bool, str]:
        """Check the URL and the API key with one cheap request; never raises."""
        try:
            settings = self.settings
            self._request("GET", "/v1/customers", params={"limit": 1}, retry=False)
        except AirflowNotFoundException:
            return False, f"Connection {self.acme_conn_id!r} is not defined."
        except AcmeConnectionConfigError as error:
            return False, str(error)
        except AcmeAuthError as error:
            return False, (
                f"Connection {self.acme_conn_id!r}: Acme ERP rejected the API key in field "
                f"'password' (HTTP {error.status_code})."
            )
        except AcmeApiError as error:
            return False, f"Connection {self.acme_conn_id!r}: {error}"
        except requests.RequestException as error:
            return False, (
                f"Connection {self.acme_conn_id!r}: cannot reach Acme ERP at "
                f"{settings.base_url} ({type(error).__name__})."
            )
        return True, f"Connected to Acme ERP at {settings.base_url}."

    # -- transport ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        retry: bool = True,
    ) -> Any:
        """Send one API request (with retries); return the decoded JSON body (None if empty)."""
        settings = self.settings
        return send(
            self.get_conn(),
            settings.base_url,
            method,
            path,
            timeout=settings.timeout,
            policy=self.retry_policy if retry else None,
            params=params,
            json=json,
        )

    def _iter_pages(self, path: str, params: Mapping[str, Any]) -> Iterator[list[AcmeRecord]]:
        cursor: str | None = None
        while True:
            page_params = dict(params) if cursor is None else {**params, "cursor": cursor}
            page = self._request("GET", path, params=page_params)
            yield page["data"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    # -- records (customers and inventory, one implementation) --------------------------------

    def get_record(self, resource: Resource, key: str) -> AcmeRecord:
        return cast(AcmeRecord, self._request("GET", record_path(resource, key)))

    def create_record(self, resource: Resource, fields: Mapping[str, Any]) -> AcmeRecord:
        path = resource_path(resource)
        return cast(AcmeRecord, self._request("POST", path, json=dict(fields)))

    def update_record(self, resource: Resource, key: str, fields: Mapping[str, Any]) -> AcmeRecord:
        path = record_path(resource, key)
        return cast(AcmeRecord, self._request("PATCH", path, json=dict(fields)))

    def iter_record_pages(
        self,
        resource: Resource,
        *,
        updated_since: datetime | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[list[AcmeRecord]]:
        """Pages of records, oldest change first when `updated_since` is given.

        With `updated_since`, a record changed during the walk shows up again in its newer
        state; consumers keyed on `version` (such as Progix upserts) treat that as harmless.
        """
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        params: dict[str, Any] = {"limit": page_size}
        if updated_since is not None:
            params["updated_since"] = timestamp(updated_since)
        yield from self._iter_pages(resource_path(resource), params)

    def iter_records(
        self,
        resource: Resource,
        *,
        updated_since: datetime | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[AcmeRecord]:
        for page in self.iter_record_pages(
            resource, updated_since=updated_since, page_size=page_size
        ):
            yield from page

    def iter_records_by_key(
        self, resource: Resource, keys: Iterable[Any], *, batch_size: int = MAX_IDS_PER_REQUEST
    ) -> Iterator[RecordBatch]:
        """Fetch records by id/sku, `batch_size` (≤ 100) per request, one batch per request."""
        if not 1 <= batch_size <= MAX_IDS_PER_REQUEST:
            raise ValueError(f"batch_size must be between 1 and {MAX_IDS_PER_REQUEST}")
        key_field = resource_key(resource)
        path = resource_path(resource)
        for chunk in chunks(unique_ids(keys), batch_size):
            records: list[AcmeRecord] = []
            for page in self._iter_pages(path, {"ids": ",".join(chunk), "limit": len(chunk)}):
                records.extend(page)
            found = {str(record[key_field]) for record in records}
            yield RecordBatch(records, [key for key in chunk if key not in found])

    def get_records(self, resource: Resource, keys: Iterable[Any]) -> list[AcmeRecord]:
        """The records that exist among `keys` (missing ones are simply absent)."""
        return [
            record for batch in self.iter_records_by_key(resource, keys) for record in batch.records
        ]

    def iter_record_batches(
        self,
        resource: Resource,
        *,
        ids: Iterable[Any] | None = None,
        updated_since: datetime | str | None = None,
        batch_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[RecordBatch]:
        """The generator behind `AcmeFetchRecordsOperator`, for TaskFlow code.

        With `ids`, fetch exactly those records (batched get; vanished ids land in `missing`);
        otherwise page through everything, or everything changed since `updated_since`.
        """
        if ids is not None and updated_since is not None:
            raise ValueError("pass either ids or updated_since, not both")
        if ids is not None:
            yield from self.iter_records_by_key(resource, ids, batch_size=batch_size)
            return
        for page in self.iter_record_pages(
            resource, updated_since=updated_since, page_size=batch_size
        ):
            yield RecordBatch(page)

    # -- customers ----------------------------------------------------------------------------

    def get_customer(self, customer_id: str) -> AcmeRecord:
        return self.get_record("customers", customer_id)

    def create_customer(self, fields: Mapping[str, Any]) -> AcmeRecord:
        return self.create_record("customers", fields)

    def update_customer(self, customer_id: str, fields: Mapping[str, Any]) -> AcmeRecord:
        return self.update_record("customers", customer_id, fields)

    def iter_customers(
        self, updated_since: datetime | str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[AcmeRecord]:
        return self.iter_records("customers", updated_since=updated_since, page_size=page_size)

    def get_customers(self, ids: Iterable[str]) -> list[AcmeRecord]:
        return self.get_records("customers", ids)

    # -- inventory ----------------------------------------------------------------------------

    def get_item(self, sku: str) -> AcmeRecord:
        return self.get_record("inventory", sku)

    def create_item(self, fields: Mapping[str, Any]) -> AcmeRecord:
        return self.create_record("inventory", fields)

    def update_item(self, sku: str, fields: Mapping[str, Any]) -> AcmeRecord:
        return self.update_record("inventory", sku, fields)

    def iter_inventory(
        self, updated_since: datetime | str | None = None, page_size: int = DEFAULT_PAGE_SIZE
    ) -> Iterator[AcmeRecord]:
        return self.iter_records("inventory", updated_since=updated_since, page_size=page_size)

    def get_items(self, skus: Iterable[str]) -> list[AcmeRecord]:
        return self.get_records("inventory", skus)

    # -- webhook subscriptions ----------------------------------------------------------------

    def iter_webhooks(self, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[WebhookSubscription]:
        for page in self._iter_pages("/v1/webhooks", {"limit": page_size}):
            yield from page

    def list_webhooks(self) -> list[WebhookSubscription]:
        return list(self.iter_webhooks())

    def get_webhook(self, webhook_id: str) -> WebhookSubscription:
        return cast(WebhookSubscription, self._request("GET", webhook_path(webhook_id)))

    def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        secret: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> WebhookSubscription:
        body = {
            "url": url,
            "events": list(events),
            "secret": secret,
            "metadata": dict(metadata or {}),
        }
        return cast(WebhookSubscription, self._request("POST", "/v1/webhooks", json=body))

    def update_webhook(self, webhook_id: str, **fields: Any) -> WebhookSubscription:
        """PATCH the given fields (`url`, `events`, `secret`, `metadata`, `enabled`)."""
        return cast(
            WebhookSubscription, self._request("PATCH", webhook_path(webhook_id), json=fields)
        )

    def delete_webhook(self, webhook_id: str, *, missing_ok: bool = False) -> bool:
        """Delete a subscription; with `missing_ok`, an already deleted one returns False."""
        try:
            self._request("DELETE", webhook_path(webhook_id))
        except AcmeNotFound:
            if missing_ok:
                return False
            raise
        return True
