"""Typed errors of the Progix client, on the provider's HTTP error base classes."""

from __future__ import annotations

from acme_provider.exceptions import ConnectionConfigError, HttpApiError


class ProgixConnectionConfigError(ConnectionConfigError):
    """The Progix `http` connection cannot be used (for example no API key in `password`)."""


class ProgixApiError(HttpApiError):
    """A non-2xx answer from the Progix API (`status_code`, `body`, `retry_after`)."""

    service = "Progix"

    @property
    def is_retryable(self) -> bool:
        """Rate limiting and server errors go away on their own; other 4xx do not."""
        return self.status_code == 429 or self.status_code >= 500
