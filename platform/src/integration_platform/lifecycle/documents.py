"""Read a user's JSON or YAML file (a deploy request, a test payload) with errors that name it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from integration_platform.integrations.config import FieldError
from integration_platform.lifecycle.errors import InvalidRequest


def read_document(path: Path, *, formats: str = "JSON/YAML") -> Any:
    """The parsed file (`.json` as JSON, anything else as YAML); `InvalidRequest` naming the
    file if it cannot be read or parsed."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidRequest(source, [FieldError("(file)", error.strerror or str(error))]) from None
    try:
        return json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        problem = FieldError("(file)", f"not valid {formats}: {error}")
        raise InvalidRequest(source, [problem]) from None
