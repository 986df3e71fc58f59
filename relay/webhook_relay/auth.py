"""Bearer credentials of the admin API.

Two tokens: `RELAY_ADMIN_TOKEN` may do everything; `RELAY_REGISTRAR_TOKEN`, which the
integration platform holds, may only manage routes (register, retire, rotate, pause,
resume, list), read a route's current secret and list quarantined events (ids, thin fields
and reasons, for the instance page). It cannot read events, payloads or batches, replay or
see stats, so a leaked registrar token exposes no payload and forges nothing in the past.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)

Role = Literal["admin", "registrar"]


def _matches(given: str, expected: object) -> bool:
    value = expected.get_secret_value() if expected is not None else ""  # type: ignore[attr-defined]
    return bool(value) and hmac.compare_digest(given.encode(), value.encode())


def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Role:
    settings = request.app.state.settings
    admin, registrar = settings.admin_token, settings.registrar_token
    if not any(t is not None and t.get_secret_value() for t in (admin, registrar)):
        raise HTTPException(503, "admin API disabled: set RELAY_ADMIN_TOKEN")
    if credentials is None:
        raise HTTPException(401, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    # Compare against both, always, so timing does not tell which token was close.
    is_admin = _matches(credentials.credentials, admin)
    is_registrar = _matches(credentials.credentials, registrar)
    if is_admin:
        return "admin"
    if is_registrar:
        return "registrar"
    raise HTTPException(401, "invalid bearer token", {"WWW-Authenticate": "Bearer"})


def require_admin(role: Annotated[Role, Depends(authenticate)]) -> None:
    if role != "admin":
        raise HTTPException(
            403,
            "the registrar credential may only manage routes, read their secrets and list "
            "quarantined events",
        )


def require_registrar(role: Annotated[Role, Depends(authenticate)]) -> Role:
    """Admin or registrar."""
    return role
