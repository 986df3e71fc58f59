"""Build a deploy request by walking the integration's config wizard, one prompt per variable.

The prompt functions are injected so the walk is testable without a terminal; the CLI
passes typer's prompts (secrets without echo).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from integration_platform.integrations.instances import Instance
from integration_platform.integrations.model import ConfigVariable, Integration, VariableKind
from integration_platform.lifecycle.request import DeployRequest

SOURCE = "interactive input"


class Prompter(Protocol):
    def heading(self, title: str, description: str) -> None: ...

    def text(self, label: str, *, default: str | None, secret: bool, help: str) -> str: ...

    def confirm(self, label: str, *, default: bool, help: str) -> bool: ...


def _list_default(value: Any) -> str:
    return ", ".join(str(v) for v in value or [])


def _ask_secret(prompter: Prompter, variable: ConfigVariable, *, redeploy: bool) -> str | None:
    """A SECRET variable, without echo; on a redeploy an empty answer keeps the stored value."""
    keep_hint = " (empty keeps the current value)" if redeploy else ""
    value = prompter.text(
        variable.label + keep_hint, default=None, secret=True, help=variable.help
    ).strip()
    return value or (None if redeploy else "")


def _number_label(variable: ConfigVariable) -> str:
    low, high = variable.minimum, variable.maximum
    if low is None and high is None:
        return variable.label
    bounds = (
        f"{_plain(low)}-{_plain(high)}"
        if low is not None and high is not None
        else (f">= {_plain(low)}" if low is not None else f"<= {_plain(high)}")
    )
    return f"{variable.label} ({bounds})"


def _plain(number: float | None) -> str:
    return f"{number:g}" if number is not None else ""


def _ask_variable(prompter: Prompter, variable: ConfigVariable, current: Any) -> tuple[bool, Any]:
    """`(has_value, value)` for one non-connection, non-secret variable."""
    default = current if current is not None else variable.default
    match variable.kind:
        case VariableKind.BOOLEAN:
            return True, prompter.confirm(variable.label, default=bool(default), help=variable.help)
        case VariableKind.LIST:
            hint = (
                f" (comma-separated; one of {', '.join(variable.choices)})"
                if variable.choices
                else " (comma-separated)"
            )
            raw = prompter.text(
                variable.label + hint,
                default=_list_default(default),
                secret=False,
                help=variable.help,
            )
            return True, [item.strip() for item in raw.split(",") if item.strip()]
        case VariableKind.CHOICE:
            raw = prompter.text(
                f"{variable.label} ({' / '.join(variable.choices)})",
                default=None if default is None else str(default),
                secret=False,
                help=variable.help,
            )
            return True, raw.strip()
        case VariableKind.NUMBER:
            raw = prompter.text(
                _number_label(variable),
                default=None if default is None else str(default),
                secret=False,
                help=variable.help,
            ).strip()
            try:
                return True, float(raw) if "." in raw else int(raw)
            except ValueError:
                return True, raw  # validation names the field and the reason
        case _:
            raw = prompter.text(
                variable.label,
                default=None if default is None else str(default),
                secret=False,
                help=variable.help,
            )
            if not raw.strip() and not variable.required:
                return False, None
            return True, raw.strip()


def walk_wizard(
    integration: Integration,
    prompter: Prompter,
    *,
    existing: Instance | None = None,
    existing_hosts: Callable[[str], dict[str, str]] | None = None,
) -> DeployRequest:
    """Prompt for the customer and every variable, page by page. On a redeploy the current
    values are the defaults and an empty secret keeps the stored one."""
    customer = prompter.text(
        "Customer name",
        default=existing.customer if existing else None,
        secret=False,
        help="Who this instance is for; shown in the Integrations view.",
    )
    config: dict[str, Any] = {}
    connections: dict[str, dict[str, str]] = {}
    for page in integration.pages:
        prompter.heading(page.title, page.description)
        for variable in page.variables:
            if variable.kind is VariableKind.CONNECTION and variable.connection:
                current = existing_hosts(variable.key) if existing and existing_hosts else {}
                fields: dict[str, str] = {}
                for spec_field in variable.connection.fields:
                    keep_hint = (
                        " (empty keeps the current value)" if existing and spec_field.secret else ""
                    )
                    value = prompter.text(
                        f"{variable.label}: {spec_field.label}{keep_hint}",
                        default=current.get(spec_field.name) or None,
                        secret=spec_field.secret,
                        help=variable.help if spec_field is variable.connection.fields[0] else "",
                    )
                    if value or not (existing and spec_field.secret):
                        fields[spec_field.name] = value
                connections[variable.key] = fields
                continue
            if variable.kind is VariableKind.SECRET:
                secret = _ask_secret(prompter, variable, redeploy=existing is not None)
                if secret is not None:
                    config[variable.key] = secret
                continue
            current_value = existing.config.get(variable.key) if existing else None
            has_value, value = _ask_variable(prompter, variable, current_value)
            if has_value:
                config[variable.key] = value
    return DeployRequest(customer=customer, config=config, connections=connections, source=SOURCE)
