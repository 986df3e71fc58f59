"""The route registry in the store: routes, their encrypted secrets, the version counter.

Every change bumps `relay_registry_version` in the same transaction, which is how other
relay processes learn that their cached lookups are stale (see `webhook_relay.registry`).
Secrets are decrypted only here, for ingest's cache and for the secret endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webhook_relay.routes import Route
from webhook_relay.secretbox import SecretBox
from webhook_relay.signatures import new_secret, secret_to_key
from webhook_relay.store.models import (
    batches,
    events,
    registry_version,
    route_secrets,
    route_settings,
    routes,
)
from webhook_relay.store.repository import Store
from webhook_relay.store.statements import (
    ACTIVE,
    BATCHED,
    DISCARDED,
    DISPATCHED,
    OPEN,
    PENDING,
    RETIRED,
)


class UnknownRoute(LookupError):
    """The route was never registered."""


class RetiredRoute(LookupError):
    """The route was registered and then retired."""


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """What ingest needs to know about a route: is it active, and which keys verify."""

    active: bool
    keys: tuple[tuple[bytes, float | None], ...] = ()

    def keys_at(self, now: float) -> list[bytes]:
        return [key for key, expires_at in self.keys if expires_at is None or expires_at > now]


class RouteRepository:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box
        postgres = store.engine.dialect.name == "postgresql"
        self._insert = pg_insert if postgres else sqlite_insert

    # --- reads --------------------------------------------------------------------------

    def version(self) -> int:
        with self.store._read() as conn:
            return conn.execute(select(registry_version.c.version)).scalar() or 0

    def lookup(self, route: str) -> RouteEntry | None:
        """The route's state and verifying keys (current and not yet expired), or None."""
        with self.store._read() as conn:
            state = conn.execute(select(routes.c.state).where(routes.c.route == route)).scalar()
            if state is None:
                return None
            if state != ACTIVE:
                return RouteEntry(active=False)
            rows = conn.execute(
                select(route_secrets.c.secret_encrypted, route_secrets.c.expires_at).where(
                    route_secrets.c.route == route
                )
            ).all()
        keys = tuple((secret_to_key(self.box.decrypt(r[0])), r[1]) for r in rows)
        return RouteEntry(active=True, keys=keys)

    def current_secret(self, route: str) -> dict[str, Any]:
        """`{"route", "secret", "created_at"}`; raises UnknownRoute / RetiredRoute."""
        with self.store._read() as conn:
            self._require_active(conn, route)
            row = conn.execute(
                select(route_secrets.c.secret_encrypted, route_secrets.c.created_at)
                .where(route_secrets.c.route == route, route_secrets.c.expires_at.is_(None))
                .order_by(route_secrets.c.id.desc())
                .limit(1)
            ).one()
        return {"route": route, "secret": self.box.decrypt(row[0]), "created_at": row[1]}

    def list_routes(
        self, *, integration: str | None = None, instance: str | None = None
    ) -> list[dict[str, Any]]:
        """Registered routes with their pause flag and event counts (`held`: not yet sent)."""
        stmt = select(routes).order_by(routes.c.route)
        if integration is not None:
            prefix = f"{integration}/" if instance is None else f"{integration}/{instance}/"
            stmt = stmt.where(routes.c.route.startswith(prefix, autoescape=True))
        with self.store._read() as conn:
            rows = conn.execute(stmt).all()
            paused = dict(
                conn.execute(select(route_settings.c.route, route_settings.c.paused)).tuples().all()
            )
            counts = conn.execute(
                select(events.c.route, events.c.status, func.count())
                .where(events.c.route.in_([r.route for r in rows]))
                .group_by(events.c.route, events.c.status)
            ).all()
            in_open_batches = dict(
                conn.execute(
                    select(batches.c.route, func.sum(batches.c.event_count))
                    .where(batches.c.route.in_([r.route for r in rows]), batches.c.status == OPEN)
                    .group_by(batches.c.route)
                )
                .tuples()
                .all()
            )
        by_route: dict[str, dict[str, int]] = {}
        for route, status, count in counts:
            by_route.setdefault(route, {})[status] = count
        out = []
        for row in rows:
            statuses = by_route.get(row.route, {})
            out.append(
                {
                    **row._mapping,
                    "paused": bool(paused.get(row.route, False)),
                    # A claim marks events `dispatched`; those of open batches are not sent yet.
                    "held": statuses.get(PENDING, 0)
                    + statuses.get(BATCHED, 0)
                    + int(in_open_batches.get(row.route) or 0),
                    "events": statuses,
                }
            )
        return out

    # --- changes ------------------------------------------------------------------------

    def register(self, parsed: Sequence[Route], now: float) -> list[dict[str, Any]]:
        """Idempotent: an active route is left as it is (same secret); a new one is created
        with a fresh secret; a retired one is revived with a fresh secret, unpaused."""
        results = []
        with self.store._write() as conn:
            for route in parsed:
                results.append(
                    {
                        "route": route.path,
                        "dag_id": route.dag_id,
                        **self._register(conn, route, now),
                    }
                )
            if any(r["result"] != "unchanged" for r in results):
                self._bump(conn)
        return results

    def _register(self, conn: Connection, route: Route, now: float) -> dict[str, str]:
        inserted = conn.execute(
            self._insert(routes)
            .values(route=route.path, dag_id=route.dag_id, state=ACTIVE, created_at=now)
            .on_conflict_do_nothing(index_elements=["route"])
            .returning(routes.c.route)
        ).first()
        if inserted is not None:
            self._add_secret(conn, route.path, now)
            return {"state": ACTIVE, "result": "created"}
        state = conn.execute(
            select(routes.c.state).where(routes.c.route == route.path).with_for_update()
        ).scalar()
        if state == ACTIVE:
            return {"state": ACTIVE, "result": "unchanged"}
        conn.execute(
            update(routes)
            .where(routes.c.route == route.path)
            .values(state=ACTIVE, retired_at=None, created_at=now)
        )
        conn.execute(delete(route_secrets).where(route_secrets.c.route == route.path))
        self._add_secret(conn, route.path, now)
        conn.execute(
            update(route_settings)
            .where(route_settings.c.route == route.path)
            .values(paused=False, updated_at=now)
        )
        return {"state": ACTIVE, "result": "revived"}

    def retire(self, route: str, now: float) -> dict[str, Any]:
        """Stop accepting the route (410 from now on), drop its secrets and discard what it
        still holds: pending and batched events, open batches. Counts are returned."""
        with self.store._write() as conn:
            state = conn.execute(
                select(routes.c.state).where(routes.c.route == route).with_for_update()
            ).scalar()
            if state is None:
                raise UnknownRoute(route)
            if state == RETIRED:
                return {"route": route, "result": "unchanged", "discarded_events": 0}
            conn.execute(
                update(routes).where(routes.c.route == route).values(state=RETIRED, retired_at=now)
            )
            conn.execute(delete(route_secrets).where(route_secrets.c.route == route))
            # Held = pending, or claimed into a batch that is still open (a claim marks its
            # events `dispatched`; the batch's state says whether they were sent).
            open_batches = select(batches.c.id).where(
                batches.c.route == route, batches.c.status == OPEN
            )
            discarded = conn.execute(
                update(events)
                .where(
                    events.c.route == route,
                    (events.c.status == PENDING)
                    | ((events.c.status == DISPATCHED) & events.c.batch_id.in_(open_batches)),
                )
                .values(status=DISCARDED)
            ).rowcount
            conn.execute(
                update(batches)
                .where(batches.c.route == route, batches.c.status == OPEN)
                .values(status=DISCARDED, lease_owner=None, lease_until=None)
            )
            self._bump(conn)
        return {"route": route, "result": "retired", "discarded_events": discarded}

    def rotate(self, selected: Iterable[str], now: float, overlap_s: float) -> list[str]:
        """A new current secret for each active route in `selected`; the previous ones keep
        verifying until `now + overlap_s`. Returns the routes rotated."""
        wanted = set(selected)
        with self.store._write() as conn:
            # FOR NO KEY UPDATE: ingest commits (FOR KEY SHARE) go on during a rotation.
            rotated = list(
                conn.execute(
                    select(routes.c.route)
                    .where(routes.c.state == ACTIVE, routes.c.route.in_(sorted(wanted)))
                    .order_by(routes.c.route)
                    .with_for_update(key_share=True)
                ).scalars()
            )
            for route in rotated:
                conn.execute(
                    delete(route_secrets).where(
                        route_secrets.c.route == route, route_secrets.c.expires_at <= now
                    )
                )
                conn.execute(
                    update(route_secrets)
                    .where(
                        route_secrets.c.route == route,
                        or_(
                            route_secrets.c.expires_at.is_(None),
                            route_secrets.c.expires_at > now + overlap_s,
                        ),
                    )
                    .values(expires_at=now + overlap_s)
                )
                self._add_secret(conn, route, now)
            if rotated:
                self._bump(conn)
        return rotated

    def active_routes(self, prefix: str | None = None) -> list[str]:
        stmt = select(routes.c.route).where(routes.c.state == ACTIVE).order_by(routes.c.route)
        if prefix is not None:
            stmt = stmt.where(routes.c.route.startswith(prefix, autoescape=True))
        with self.store._read() as conn:
            return list(conn.execute(stmt).scalars())

    def set_paused(self, route: str, paused: bool, now: float) -> None:
        """Pause or resume an active route (the dispatcher reads `relay_route_settings`)."""
        with self.store._read() as conn:
            self._require_active(conn, route)
        self.store.set_paused(route, paused, now)

    def reencrypt_all(self) -> int:
        """Re-encrypt every stored secret under the first `RELAY_SECRETS_KEYS` key."""
        with self.store._write() as conn:
            rows = conn.execute(select(route_secrets.c.id, route_secrets.c.secret_encrypted)).all()
            for secret_id, token in rows:
                conn.execute(
                    update(route_secrets)
                    .where(route_secrets.c.id == secret_id)
                    .values(secret_encrypted=self.box.reencrypt(token))
                )
        return len(rows)

    # --- helpers ------------------------------------------------------------------------

    def _add_secret(self, conn: Connection, route: str, now: float) -> None:
        conn.execute(
            route_secrets.insert().values(
                route=route, secret_encrypted=self.box.encrypt(new_secret()), created_at=now
            )
        )

    @staticmethod
    def _require_active(conn: Connection, route: str) -> None:
        state = conn.execute(select(routes.c.state).where(routes.c.route == route)).scalar()
        if state is None:
            raise UnknownRoute(route)
        if state != ACTIVE:
            raise RetiredRoute(route)

    @staticmethod
    def _bump(conn: Connection) -> None:
        conn.execute(
            update(registry_version)
            .where(registry_version.c.id == 1)
            .values(version=registry_version.c.version + 1)
        )
