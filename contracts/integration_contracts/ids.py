"""The one id grammar: integration slugs, instance ids and flow slugs.

A segment is 2 to 63 lowercase letters and digits, starting with a letter, in words joined by
single dashes. Single dashes matter: a DAG id joins segments with `__` after mapping `-` to
`_`, so `a--b` or a trailing `-` would make two different routes share one DAG id.
"""

from __future__ import annotations

import re

MIN_SEGMENT_LENGTH = 2
MAX_SEGMENT_LENGTH = 63
SEGMENT_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
SEGMENT_RULE = (
    f"{MIN_SEGMENT_LENGTH}-{MAX_SEGMENT_LENGTH} lowercase letters and digits, starting with a "
    "letter, words joined by single dashes (no leading, trailing or double dash)"
)
_SEGMENT = re.compile(SEGMENT_PATTERN)


class InvalidId(ValueError):
    """A value is not a valid segment; the message names what it is and the rule."""


def is_valid_segment(value: object) -> bool:
    return (
        isinstance(value, str)
        and MIN_SEGMENT_LENGTH <= len(value) <= MAX_SEGMENT_LENGTH
        and _SEGMENT.fullmatch(value) is not None
    )


def check_segment(kind: str, value: object) -> str:
    """`value` if it is a valid `kind` (e.g. "instance id"); else InvalidId naming the rule."""
    if not is_valid_segment(value):
        raise InvalidId(f"{kind} {value!r} must be {SEGMENT_RULE}")
    return value  # type: ignore[return-value]
