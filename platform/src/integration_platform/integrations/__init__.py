"""What an integration is, independent of any one vendor.

An *integration* is a set of *flows* sharing one *config wizard*; an *instance* is the
integration deployed for one customer. Integrations are defined in their own distributions
and registered through `integration_platform.registry`.
"""

from integration_platform.integrations.model import (
    ConfigPage,
    ConfigVariable,
    ConnectionField,
    ConnectionSpec,
    Flow,
    Integration,
    TriggerKind,
    VariableKind,
)

__all__ = [
    "ConfigPage",
    "ConfigVariable",
    "ConnectionField",
    "ConnectionSpec",
    "Flow",
    "Integration",
    "TriggerKind",
    "VariableKind",
]
