"""Every installed integration, by slug, discovered through an entry point group.

An integration distribution registers its `Integration` definition (plain data, cheap to
import) under the group `integration_platform.integrations`, named by its slug:

    [project.entry-points."integration_platform.integrations"]
    my-crm = "my_crm_integration.definition:MY_CRM"

The platform (CLI, lifecycle, UI, DAG factory) knows integrations only through this mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from types import MappingProxyType

from integration_platform.integrations.model import Integration

ENTRY_POINT_GROUP = "integration_platform.integrations"


class RegistryError(RuntimeError):
    """An entry point of the group does not load as the integration it is named after."""


@cache
def _load() -> Mapping[str, Integration]:
    found: dict[str, Integration] = {}
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
        integration = entry_point.load()
        if not isinstance(integration, Integration):
            raise RegistryError(
                f"entry point {entry_point.name} = {entry_point.value} is not an Integration"
            )
        if integration.slug != entry_point.name:
            raise RegistryError(
                f"entry point {entry_point.name} = {entry_point.value} defines integration "
                f"{integration.slug!r}: the entry point must be named after the slug"
            )
        found[integration.slug] = integration
    return MappingProxyType(found)


def integrations() -> Mapping[str, Integration]:
    """`{slug: Integration}` for every registered integration (loaded once per process)."""
    return _load()


def get_integration(slug: str) -> Integration:
    """The registered integration `slug`; KeyError listing the known ones otherwise."""
    known = integrations()
    try:
        return known[slug]
    except KeyError:
        listing = ", ".join(known) or "none installed"
        raise KeyError(f"unknown integration {slug!r}; known: {listing}") from None


def resolve_integration(slug: str | None = None) -> Integration:
    """`slug`'s integration, or, when no slug is given, the only one installed."""
    if slug:
        return get_integration(slug)
    known = integrations()
    if len(known) != 1:
        listing = ", ".join(known) or "none installed"
        raise KeyError(f"name the integration; installed: {listing}")
    return next(iter(known.values()))
