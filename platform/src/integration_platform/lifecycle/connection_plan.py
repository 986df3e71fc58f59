"""One Airflow connection a deploy writes: a CONNECTION variable's, or a SECRET variable's."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionPlan:
    """One Airflow connection to create or update. `fields` holds only what is to be written
    (an omitted secret keeps its stored value); secrets are masked in `repr`."""

    variable: str
    conn_id: str
    conn_type: str
    fields: Mapping[str, str]
    secret_fields: frozenset[str]
    kept_fields: tuple[str, ...] = ()  # secrets not given: keep what Airflow has
    is_secret_variable: bool = False  # a SECRET config variable, not a CONNECTION one

    def field_path(self, name: str) -> str:
        """Where a problem with one field is reported: `config.<key>` for a SECRET variable."""
        if self.is_secret_variable:
            return f"config.{self.variable}"
        return f"connections.{self.variable}.{name}"

    def __repr__(self) -> str:
        shown = {k: ("***" if k in self.secret_fields else v) for k, v in self.fields.items()}
        return f"ConnectionPlan({self.conn_id!r}, {self.conn_type!r}, {shown}, kept={self.kept_fields})"
