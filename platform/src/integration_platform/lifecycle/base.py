"""The lifecycle service's shared state: settings, the Airflow client, the instance store and
the integration acted on, with the lookups every use case needs."""

from __future__ import annotations

from typing import Any, Self

from integration_platform.integrations import naming
from integration_platform.integrations.instances import (
    Instance,
    InstanceFileError,
    InstanceState,
    InstanceStatus,
    InstanceStore,
)
from integration_platform.integrations.model import Flow, Integration, TriggerKind
from integration_platform.lifecycle.airflow_api import AirflowClient
from integration_platform.lifecycle.errors import InvalidRequest, UnknownName
from integration_platform.lifecycle.relay_control import InstanceRoutes
from integration_platform.lifecycle.results import now
from integration_platform.lifecycle.settings import LifecycleSettings
from integration_platform.registry import integrations, resolve_integration


class ServiceBase:
    """Deploy, inspect and remove instances of one integration (by default the only one
    installed; name it when several are)."""

    def __init__(
        self,
        settings: LifecycleSettings,
        *,
        integration: Integration | str | None = None,
        client: AirflowClient | None = None,
    ) -> None:
        self.settings = settings
        self._integration = integration
        self.store = InstanceStore(settings.instances_dir, integrations())
        self._client = client

    @property
    def integration(self) -> Integration:
        """The integration acted on, resolved on first use (so a caller can still choose)."""
        if not isinstance(self._integration, Integration):
            self._integration = resolve_integration(self._integration)
        return self._integration

    def for_integration(self, integration: Integration | str) -> Self:
        """The same service (settings, Airflow client) acting on another integration."""
        self._integration = integration
        return self

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        return cls(LifecycleSettings.from_env(**overrides))

    @property
    def airflow(self) -> AirflowClient:
        """The REST client, created on first use (validation alone never needs Airflow)."""
        if self._client is None:
            self._client = AirflowClient(
                self.settings.airflow_url,
                self.settings.airflow_username,
                self.settings.airflow_password,
            )
        return self._client

    @property
    def relay(self) -> InstanceRoutes:
        """The integration's instances as routes in the relay (pause, held counts, rotate)."""
        return InstanceRoutes(self.settings, self.integration)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- lookups -----------------------------------------------------------------------------

    def list_instances(self) -> list[Instance]:
        instances, _errors = self.store.scan()
        return [i for i in instances if i.integration == self.integration.slug]

    def broken_instance_files(self) -> list[InstanceFileError]:
        return self.store.scan()[1]

    def get_instance(self, instance_id: str) -> Instance:
        """The instance, or `UnknownName` listing the deployed ones."""
        if not self.store.exists(instance_id):
            raise UnknownName("instance", instance_id, [i.id for i in self.list_instances()])
        try:
            return self.store.get(instance_id)
        except InstanceFileError as error:
            raise InvalidRequest(str(error.path), error.errors) from None

    def flow(self, slug: str) -> Flow:
        try:
            return self.integration.flow(slug)
        except KeyError:
            raise UnknownName("flow", slug, [f.slug for f in self.integration.flows]) from None

    def dag_ids(self, instance_id: str) -> dict[str, str]:
        """`{flow slug: DAG id}` for every flow of the integration."""
        return {
            f.slug: self.integration.dag_id(instance_id, f.slug) for f in self.integration.flows
        }

    def _flow_of(self, kind: TriggerKind) -> Flow:
        return self.integration.flows_triggered_by(kind)[0]

    def find_instance(self, instance_id: str) -> Instance | None:
        """The deployed instance, or None (also for an invalid id or a broken file)."""
        if not naming.is_valid_instance_id(instance_id) or not self.store.exists(instance_id):
            return None
        try:
            return self.store.get(instance_id)
        except InstanceFileError:
            return None  # a broken file is replaced by a valid deploy

    def _save_state(
        self, instance: Instance, state: InstanceState, *, reason: str | None, log_url: str | None
    ) -> Instance:
        updated = instance.model_copy(
            update={
                "state": state,
                "status": InstanceStatus(reason=reason, log_url=log_url, updated_at=now()),
            }
        )
        self.store.save(updated)
        return updated
