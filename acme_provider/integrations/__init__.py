"""What an integration is, independent of any one vendor.

An *integration* is a set of *flows* sharing one *config wizard*; an *instance* is the
integration deployed for one customer. `acme_provider.acme_erp` is one integration built on
this package; a second integration would reuse everything here.
"""

from acme_provider.integrations.model import (
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
