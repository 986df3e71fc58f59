"""Cursor pagination that stays correct while records are being written.

Two orders, each on a value that never goes backwards:

* plain lists are ordered by the row's insertion sequence (its integer primary key), which
  never changes: a walk returns every record that existed when it started exactly once,
  however often records are updated meanwhile, plus records created during the walk;
* with `updated_since`, lists are a change feed ordered by the row's change sequence number,
  which every write moves to the end: a walk returns every record changed since that time
  at least once, and always in its newest state (a record updated during the walk appears
  again, further on, with its new version).

A cursor is opaque (base64 of the mode and the last sequence seen) and only valid for the
mode it came from.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, status
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sandbox.common.db import to_utc_naive

MAX_LIMIT = 200
MAX_IDS = 100
Mode = Literal["created", "changes"]


def field_error(location: str, name: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_ENTITY,
        detail=[{"loc": [location, name], "msg": message, "type": "value_error"}],
    )


def encode_cursor(mode: Mode, after: int) -> str:
    raw = json.dumps({"m": mode, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: Mode) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        mode, after = data["m"], data["a"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise field_error("query", "cursor", "malformed cursor") from exc
    if mode != expected or not isinstance(after, int):
        raise field_error(
            "query", "cursor", "cursor belongs to a different listing (updated_since changed?)"
        )
    return after


@dataclass(frozen=True)
class ListParams:
    limit: int
    cursor: str | None
    updated_since: datetime | None
    ids: list[str] | None

    @property
    def mode(self) -> Mode:
        return "changes" if self.updated_since is not None else "created"


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    updated_since: Annotated[
        datetime | None,
        Query(description="Only records written at or after this time, in change order."),
    ] = None,
    ids: Annotated[
        str | None, Query(description=f"Comma-separated ids, at most {MAX_IDS}.")
    ] = None,
) -> ListParams:
    """Query parameters shared by the list endpoints (FastAPI dependency)."""
    id_list = None
    if ids is not None:
        id_list = [part.strip() for part in ids.split(",") if part.strip()]
        if not id_list:
            raise field_error("query", "ids", "give at least one id")
        if len(id_list) > MAX_IDS:
            raise field_error("query", "ids", f"at most {MAX_IDS} ids per request")
    return ListParams(limit, cursor, updated_since, id_list)


def simple_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> ListParams:
    """Only `limit` and `cursor` (FastAPI dependency)."""
    return ListParams(limit, cursor, None, None)


def page(
    session: Session,
    query: Select[Any],
    params: ListParams,
    *,
    insertion_seq: InstrumentedAttribute[int],
    change_seq: InstrumentedAttribute[int],
    updated_at: InstrumentedAttribute[datetime],
    id_column: InstrumentedAttribute[str] | None = None,
) -> tuple[list[Any], str | None]:
    """One page of `query` (already filtered to the caller's account) and the next cursor."""
    order = change_seq if params.mode == "changes" else insertion_seq
    if params.updated_since is not None:
        query = query.where(updated_at >= to_utc_naive(params.updated_since))
    if params.ids is not None:
        if id_column is None:
            raise field_error("query", "ids", "this list cannot be filtered by ids")
        query = query.where(id_column.in_(params.ids))
    if params.cursor is not None:
        query = query.where(order > decode_cursor(params.cursor, params.mode))
    rows = list(session.scalars(query.order_by(order).limit(params.limit + 1)))
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    last = getattr(rows[-1], order.key)
    return rows, encode_cursor(params.mode, last)
