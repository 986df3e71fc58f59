"""The one URL check: an http(s) URL with a host (and a valid port), as pydantic's `HttpUrl`
defines it, instead of hand-written `urlsplit` rules at every place that takes a URL."""

from __future__ import annotations

from pydantic import HttpUrl, TypeAdapter, ValidationError

_HTTP_URL = TypeAdapter(HttpUrl)


def parse_http_url(value: str) -> HttpUrl | None:
    """`value` as an `HttpUrl`, or None if it is not an http(s) URL with a host."""
    try:
        return _HTTP_URL.validate_python(value.strip())
    except ValidationError:
        return None
