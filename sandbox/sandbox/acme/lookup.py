"""One account's row by key, and one account's rows a page at a time: the store's reads.

Every read is scoped by account id here, so no store method can forget to scope one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from sandbox.common.db import Database
from sandbox.common.paging import ListParams, page


def owned(
    session: Session, model: Any, account: str, key: InstrumentedAttribute[str], value: str
) -> Any:
    """The account's row of `model` whose `key` is `value`, or None."""
    return session.scalar(select(model).where(model.account_id == account, key == value))


def owned_page(
    db: Database, model: Any, account: str, params: ListParams, **columns: Any
) -> tuple[list[Any], str | None]:
    """One page of the account's rows of `model`, in the order `params` asks (`paging.page`)."""
    with db.read() as session:
        return page(
            session,
            select(model).where(model.account_id == account),
            params,
            insertion_seq=model.seq,
            updated_at=model.updated_at,
            **columns,
        )
