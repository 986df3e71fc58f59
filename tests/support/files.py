"""Checks on files that hold secrets: their permission bits."""

from __future__ import annotations

import stat
from pathlib import Path


def file_mode(path: Path) -> int:
    """A file's permission bits (0o600 for owner-only)."""
    return stat.S_IMODE(path.stat().st_mode)
