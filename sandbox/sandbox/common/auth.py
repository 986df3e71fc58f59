"""API keys: which account (Acme) or tenant (Progix) a `Authorization: Bearer` key belongs to."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status

PRINCIPAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_KEY_LENGTH = 8


ACME_ACCOUNTS_ENV = "SANDBOX_ACME_ACCOUNTS"
PROGIX_TENANTS_ENV = "SANDBOX_PROGIX_TENANTS"
"""Where the simulators read their `ID:API_KEY` pairs (comma-separated), never from argv."""


@dataclass(frozen=True)
class Credential:
    """One `ID:KEY` pair given on the command line."""

    principal_id: str
    api_key: str

    @classmethod
    def parse(cls, text: str) -> Credential:
        """Parse `ID:KEY`; the error names what is wrong without echoing the key."""
        principal_id, sep, api_key = text.partition(":")
        if not sep:
            raise ValueError("expected ID:API_KEY (for example demo:sk_demo_123456)")
        if not PRINCIPAL_ID.match(principal_id):
            raise ValueError(f"id {principal_id!r} must match {PRINCIPAL_ID.pattern}")
        if len(api_key) < MIN_KEY_LENGTH or any(c.isspace() for c in api_key):
            raise ValueError(
                f"the API key for {principal_id!r} must be at least {MIN_KEY_LENGTH} "
                "characters without spaces"
            )
        return cls(principal_id, api_key)


class KeyRegistry:
    """Resolves API keys to principals, comparing in constant time."""

    def __init__(self, credentials: Iterable[Credential]) -> None:
        self._credentials = list(credentials)
        keys = [c.api_key for c in self._credentials]
        if len(set(keys)) != len(keys):
            raise ValueError("two accounts share one API key")
        ids = [c.principal_id for c in self._credentials]
        if len(set(ids)) != len(ids):
            raise ValueError("an account id is given twice")

    def principal_for(self, api_key: str | None) -> str | None:
        if not api_key:
            return None
        found = None
        for credential in self._credentials:
            if hmac.compare_digest(credential.api_key.encode(), api_key.encode()):
                found = credential.principal_id
        return found

    @property
    def principal_ids(self) -> list[str]:
        return [c.principal_id for c in self._credentials]


def bearer_token(request: Request) -> str | None:
    """The key from `Authorization: Bearer <key>`, or None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_dependency(registry: KeyRegistry) -> Callable[[Request], str]:
    """A FastAPI dependency returning the caller's account/tenant id, or answering 401."""

    def current_principal(request: Request) -> str:
        principal = registry.principal_for(bearer_token(request))
        if principal is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="missing or unknown API key (send Authorization: Bearer <key>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return principal

    return current_principal
