"""Routes (`integration/instance/flow`) and the DAG ids they map to.

The grammar and the mapping are the shared contract of `integration_contracts.routes`, which
the integration platform imports too, so a route the platform deploys is one the relay
accepts and the reverse.
"""

from integration_contracts.routes import InvalidRoute, Route

__all__ = ["InvalidRoute", "Route"]
