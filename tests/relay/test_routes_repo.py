"""The route registry in the store, against SQLite and PostgreSQL: registration is
idempotent, rotation overlaps, retirement discards what the route still holds, secrets are
encrypted at rest and the at-rest key rotates."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from tests.relay.harness import OLD_SECRETS_KEY, SECRETS_KEY, event_row, migrated_store
from webhook_relay.routes import Route
from webhook_relay.secretbox import SecretBox
from webhook_relay.settings import ConfigError
from webhook_relay.signatures import secret_to_key
from webhook_relay.store.models import events, route_secrets
from webhook_relay.store.repository import Store
from webhook_relay.store.routes_repo import RetiredRoute, RouteRepository, UnknownRoute
from webhook_relay.store.statements import route_states

ROUTE = Route.parse("acme-erp/shop-1/sync-customer-data")
OTHER = Route.parse("acme-erp/shop-1/sync-inventory-data")


@pytest.fixture
def repo(store: Store) -> RouteRepository:
    return RouteRepository(store, SecretBox([SECRETS_KEY]))


def test_registering_twice_changes_nothing_and_keeps_the_secret(repo: RouteRepository) -> None:
    [first] = repo.register([ROUTE], time.time())
    assert first == {
        "route": ROUTE.path,
        "dag_id": ROUTE.dag_id,
        "state": "active",
        "result": "created",
    }
    secret = repo.current_secret(ROUTE.path)["secret"]
    version = repo.version()

    [again] = repo.register([ROUTE], time.time())

    assert again["result"] == "unchanged"
    assert repo.current_secret(ROUTE.path)["secret"] == secret
    assert repo.version() == version  # no change, so no process drops its cache


def test_retiring_discards_held_events_and_reviving_issues_a_new_secret(
    repo: RouteRepository, store: Store
) -> None:
    repo.register([ROUTE, OTHER], time.time())
    old_secret = repo.current_secret(ROUTE.path)["secret"]
    store.insert_events([event_row(ROUTE.path, f"m{i}") for i in range(3)])
    store.insert_events([event_row(OTHER.path, "kept")])

    retired = repo.retire(ROUTE.path, time.time())

    assert retired == {"route": ROUTE.path, "result": "retired", "discarded_events": 3}
    assert repo.lookup(ROUTE.path).active is False
    with pytest.raises(RetiredRoute):
        repo.current_secret(ROUTE.path)
    assert store.stats(time.time())["events"]["pending"] == 1  # the other route's event
    assert repo.retire(ROUTE.path, time.time())["result"] == "unchanged"

    [revived] = repo.register([ROUTE], time.time())
    assert revived["result"] == "revived"
    assert repo.current_secret(ROUTE.path)["secret"] != old_secret
    assert len(repo.lookup(ROUTE.path).keys) == 1


@pytest.mark.postgres
def test_a_retire_waits_for_an_ingest_commit_that_read_the_route_active(
    postgres_url: str,
) -> None:
    """Several relay processes share PostgreSQL. An ingest commit locks its routes FOR KEY
    SHARE: a retire waits for it and then discards what it committed, so no event is left
    pending on a retired route; a rotation does not wait."""
    with migrated_store(postgres_url) as store:
        repo = RouteRepository(store, SecretBox([SECRETS_KEY]))
        repo.register([ROUTE], time.time())
        with ThreadPoolExecutor(2) as pool, store.engine.connect() as ingest:
            with ingest.begin():
                states = ingest.execute(route_states(), {"routes": [ROUTE.path]}).all()
                assert states == [(ROUTE.path, "active")]
                ingest.execute(events.insert(), event_row(ROUTE.path, "in_flight"))
                rotating = pool.submit(repo.rotate, [ROUTE.path], time.time(), 60)
                assert rotating.result(timeout=10) == [ROUTE.path]
                retiring = pool.submit(repo.retire, ROUTE.path, time.time())
                time.sleep(0.5)
                assert not retiring.done()  # blocked by the ingest transaction
            assert retiring.result(timeout=10)["discarded_events"] == 1
        assert store.stats(time.time())["events"]["pending"] == 0


def test_rotation_keeps_the_old_secret_verifying_for_the_overlap_only(
    repo: RouteRepository,
) -> None:
    repo.register([ROUTE, OTHER], time.time())
    old = secret_to_key(repo.current_secret(ROUTE.path)["secret"])
    untouched = repo.current_secret(OTHER.path)["secret"]
    now = time.time()

    assert repo.rotate([ROUTE.path], now, 60) == [ROUTE.path]

    new = secret_to_key(repo.current_secret(ROUTE.path)["secret"])
    entry = repo.lookup(ROUTE.path)
    assert set(entry.keys_at(now + 59)) == {old, new}
    assert entry.keys_at(now + 61) == [new]
    assert repo.current_secret(OTHER.path)["secret"] == untouched


def test_rotating_by_instance_prefix_and_unknown_routes(repo: RouteRepository) -> None:
    elsewhere = Route.parse("acme-erp/shop-10/sync-customer-data")  # shop-1 is a prefix of it
    repo.register([ROUTE, OTHER, elsewhere], time.time())
    selected = repo.active_routes("acme-erp/shop-1/")
    assert selected == [ROUTE.path, OTHER.path]
    assert repo.rotate([*selected, "acme-erp/nobody/sync-customer-data"], time.time(), 0) == [
        ROUTE.path,
        OTHER.path,
    ]
    with pytest.raises(UnknownRoute):
        repo.current_secret("acme-erp/nobody/sync-customer-data")
    with pytest.raises(UnknownRoute):
        repo.retire("acme-erp/nobody/sync-customer-data", time.time())
    assert repo.lookup("acme-erp/nobody/sync-customer-data") is None


def test_secrets_are_encrypted_at_rest_and_the_at_rest_key_rotates(store: Store) -> None:
    old_box = RouteRepository(store, SecretBox([OLD_SECRETS_KEY]))
    old_box.register([ROUTE], time.time())
    secret = old_box.current_secret(ROUTE.path)["secret"]
    with store.engine.connect() as conn:
        [stored] = conn.execute(select(route_secrets.c.secret_encrypted)).scalars()
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored

    both = RouteRepository(store, SecretBox([SECRETS_KEY, OLD_SECRETS_KEY]))
    assert both.current_secret(ROUTE.path)["secret"] == secret  # old key still decrypts
    assert both.reencrypt_all() == 1

    new_only = RouteRepository(store, SecretBox([SECRETS_KEY]))
    assert new_only.current_secret(ROUTE.path)["secret"] == secret
    with pytest.raises(ConfigError, match="does not decrypt"):
        old_box.current_secret(ROUTE.path)
