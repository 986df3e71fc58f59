"""`deploy.compose`: variable interpolation as `docker compose` does it."""

from __future__ import annotations

import pytest

from deploy.compose import ComposeError, interpolate, referenced_variables

VARIABLES = {"SET": "value", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}", "value"),
        ("$SET/x", "value/x"),
        ("${UNSET}", ""),
        ("${UNSET:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${UNSET-fallback}", "fallback"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("$${HOSTNAME}", "${HOSTNAME}"),
        ("a ${SET} b ${SET:?x}", "a value b value"),
    ],
)
def test_interpolation_follows_compose(text: str, expected: str) -> None:
    assert interpolate(text, VARIABLES) == expected


@pytest.mark.parametrize("text", ["${EMPTY:?needed}", "${UNSET?needed}"])
def test_a_required_variable_that_is_missing_is_named(text: str) -> None:
    with pytest.raises(ComposeError, match=r"variable (EMPTY|UNSET) is required: needed"):
        interpolate(text, VARIABLES)


def test_nested_values_are_interpolated_and_references_found() -> None:
    spec = {"environment": {"A": "${SET}"}, "command": ["x", "${OTHER:-1}", 3], "port": 80}
    assert interpolate(spec, VARIABLES) == {
        "environment": {"A": "value"},
        "command": ["x", "1", 3],
        "port": 80,
    }
    assert referenced_variables({**spec, "hc": "$${HOSTNAME}"}) == {"SET", "OTHER"}
