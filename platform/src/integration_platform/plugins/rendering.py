"""Jinja2 rendering for the plugin's pages: autoescaped templates and a few display filters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from integration_platform.plugins.urls import AirflowLinks, airflow_base, mount_base

TEMPLATES_DIR = Path(__file__).parent / "templates"


def duration(seconds: float | None) -> str:
    """`42 s`, `3 m 05 s`, `2 h 01 m`; an em dash when unknown."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


def timestamp(value: datetime | None) -> str:
    """UTC, to the second, as Airflow's UI shows times by default."""
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every page shows user-entered names: escape everything
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(duration=duration, timestamp=timestamp)
    return env


ENVIRONMENT = _environment()


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page; every template gets `base` (this app) and `links` (Airflow's UI)."""
    page = ENVIRONMENT.get_template(template).render(
        base=mount_base(request), links=AirflowLinks(airflow_base(request)), **context
    )
    return HTMLResponse(page, status_code=status_code)
