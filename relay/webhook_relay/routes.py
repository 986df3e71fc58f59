"""Routes (`integration/instance/flow`) and the DAG ids they map to.

DESIGN.md fixes the DAG id as `<integration>__<instance>__<flow>` with `-` replaced by `_`.
Segments are lowercase words joined by single dashes, so that mapping cannot collide
(`a--b` would otherwise read like a `__` separator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEGMENT_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SEGMENT_LENGTH = 63


class InvalidRoute(ValueError):
    """A route string is not `integration/instance/flow` with valid segments."""


@dataclass(frozen=True, slots=True)
class Route:
    integration: str
    instance: str
    flow: str

    @classmethod
    def parse(cls, text: str) -> Route:
        parts = text.strip("/").split("/")
        if len(parts) != 3:
            raise InvalidRoute(f"route must be INTEGRATION/INSTANCE/FLOW, got {text!r}")
        for name, value in zip(("integration", "instance", "flow"), parts, strict=True):
            if len(value) > MAX_SEGMENT_LENGTH or not SEGMENT_RE.match(value):
                raise InvalidRoute(
                    f"{name} {value!r} must be lowercase letters/digits joined by single dashes"
                    f" (at most {MAX_SEGMENT_LENGTH} characters)"
                )
        return cls(*parts)

    @property
    def path(self) -> str:
        return f"{self.integration}/{self.instance}/{self.flow}"

    @property
    def dag_id(self) -> str:
        return "__".join(p.replace("-", "_") for p in (self.integration, self.instance, self.flow))

    def __str__(self) -> str:
        return self.path
