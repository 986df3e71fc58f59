"""A route `integration/instance/flow`: its webhook URL path, DAG id and tags.

The relay receives a flow's webhooks at `/hooks/<route>` and triggers the DAG named by the
route; the platform builds the same DAG and registers the same URL. Both use this class.
"""

from __future__ import annotations

from dataclasses import dataclass

from integration_contracts.ids import InvalidId, check_segment

HOOKS_PATH_PREFIX = "/hooks/"
SEGMENT_NAMES = ("integration", "instance", "flow")
DAG_ID_SEPARATOR = "__"


class InvalidRoute(ValueError):
    """A string is not exactly `integration/instance/flow` with valid segments."""


def _snake(value: str) -> str:
    return value.replace("-", "_")


@dataclass(frozen=True, slots=True)
class Route:
    integration: str
    instance: str
    flow: str

    def __post_init__(self) -> None:
        for name, value in zip(
            SEGMENT_NAMES, (self.integration, self.instance, self.flow), strict=True
        ):
            try:
                check_segment(name, value)
            except InvalidId as error:
                raise InvalidRoute(str(error)) from None

    @classmethod
    def parse(cls, text: str) -> Route:
        """Exactly three segments separated by `/`: no leading, trailing or doubled slash."""
        parts = text.split("/")
        if len(parts) != len(SEGMENT_NAMES):
            raise InvalidRoute(f"route must be INTEGRATION/INSTANCE/FLOW, got {text!r}")
        return cls(*parts)

    @property
    def path(self) -> str:
        return f"{self.integration}/{self.instance}/{self.flow}"

    @property
    def dag_id(self) -> str:
        """`acme_erp__shop_1__sync_customer_data` for `acme-erp/shop-1/sync-customer-data`."""
        return DAG_ID_SEPARATOR.join(
            _snake(p) for p in (self.integration, self.instance, self.flow)
        )

    @property
    def tags(self) -> list[str]:
        return [
            f"integration:{self.integration}",
            f"instance:{self.instance}",
            f"flow:{self.flow}",
        ]

    def webhook_url(self, relay_public_url: str) -> str:
        return f"{relay_public_url.rstrip('/')}{HOOKS_PATH_PREFIX}{self.path}"

    @classmethod
    def from_dag_id(
        cls, integration: str, dag_id: str, flows: tuple[str, ...] | list[str]
    ) -> Route | None:
        """The inverse of `dag_id` for one integration's known flows, or None.

        Segments never contain `_`, so once the integration prefix and a known flow suffix
        are stripped, the middle maps back to exactly one instance id.
        """
        prefix = _snake(integration) + DAG_ID_SEPARATOR
        if not dag_id.startswith(prefix):
            return None
        for flow in flows:
            suffix = DAG_ID_SEPARATOR + _snake(flow)
            if dag_id.endswith(suffix) and len(dag_id) > len(prefix) + len(suffix):
                try:
                    return cls(
                        integration, dag_id[len(prefix) : -len(suffix)].replace("_", "-"), flow
                    )
                except InvalidRoute:
                    return None
        return None

    def __str__(self) -> str:
        return self.path
