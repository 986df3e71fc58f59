"""Read `.env` files, and write a `.env` from `.env.example` with fresh secrets.

    python3 -m deploy.envfile [--example .env.example] [--compose docker-compose.yaml] [--output .env]

A variable is a secret to generate when `.env.example` leaves it empty and
`docker-compose.yaml` requires it (`${NAME:?...}`): the compose file is the one place that
says what must be set. Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FILE = REPO_ROOT / ".env.example"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yaml"

_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_REQUIRED_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):?\?")


class EnvFileError(ValueError):
    """A line of an env file is not `NAME=value`, a comment or blank (the message says where)."""


def parse_env(text: str, *, source: str = ".env") -> dict[str, str]:
    """`NAME=value` lines in order; `#` comments and blank lines skipped, one level of quotes removed."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match is None:
            raise EnvFileError(f"{source}:{number}: expected NAME=value, got {raw!r}")
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[match["name"]] = value
    return values


def read_env_file(path: Path) -> dict[str, str]:
    return parse_env(Path(path).read_text(), source=str(path))


def required_variables(compose_text: str) -> set[str]:
    """Names the compose file requires (`${NAME:?message}` or `${NAME?message}`)."""
    return {match["name"] for match in _REQUIRED_REFERENCE.finditer(compose_text)}


def secrets_to_generate(example: dict[str, str], compose_text: str) -> list[str]:
    """Variables left empty in the example that the compose file cannot start without."""
    required = required_variables(compose_text)
    return [name for name, value in example.items() if not value and name in required]


def new_secret(name: str) -> str:
    """A fresh value for `name`: a Fernet key for Fernet keys, else 32 URL-safe random bytes."""
    if name.endswith("FERNET_KEY"):
        # Exactly what cryptography's Fernet.generate_key() returns.
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_urlsafe(32)


def render_env(example_text: str, compose_text: str) -> str:
    """The example's text with every secret to generate filled in; comments kept."""
    to_fill = set(secrets_to_generate(parse_env(example_text), compose_text))
    lines = []
    for raw in example_text.splitlines():
        match = _ASSIGNMENT.match(raw.strip())
        if match and match["name"] in to_fill and not match["value"].strip():
            raw = f"{match['name']}={new_secret(match['name'])}"
        lines.append(raw)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m deploy.envfile",
        description="Write .env from .env.example with freshly generated secrets.",
    )
    parser.add_argument("--example", type=Path, default=EXAMPLE_FILE)
    parser.add_argument("--compose", type=Path, default=COMPOSE_FILE)
    parser.add_argument("--output", type=Path, default=REPO_ROOT / ".env")
    args = parser.parse_args(argv)
    if args.output.exists():
        print(f"{args.output} exists; not overwriting it (delete it first)", file=sys.stderr)
        return 1
    try:
        text = render_env(args.example.read_text(), args.compose.read_text())
    except (OSError, EnvFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    print(f"wrote {args.output} (mode 600) with fresh secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
