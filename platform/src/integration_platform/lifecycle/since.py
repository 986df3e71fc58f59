"""Time bounds as people type them: an ISO timestamp or a relative `30m`, `6h`, `2d`."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from integration_platform.integrations.config import FieldError
from integration_platform.lifecycle.errors import InvalidRequest
from integration_platform.lifecycle.results import now


def parse_since(value: str, option: str = "since") -> datetime:
    """`--since` / `--until`: an ISO timestamp (naive = UTC) or a relative `30m`, `6h`, `2d`."""
    match = re.fullmatch(r"(\d+)([mhd])", value.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {
            "m": timedelta(minutes=amount),
            "h": timedelta(hours=amount),
            "d": timedelta(days=amount),
        }
        return now() - delta[unit]
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidRequest(
            f"--{option}",
            [FieldError(option, "must be an ISO timestamp (2026-01-31T12:00) or 30m / 6h / 2d")],
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
