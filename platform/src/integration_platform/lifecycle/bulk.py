"""Deploy or redeploy many instances at once, a few at a time, with a summary.

Every request is validated first; an invalid one is reported with its source (the file) and
fields and is not deployed, and the others still are. At most `concurrency` deploys run at
once, each with its own service (its own Airflow client: one per thread), so a burst of
deploys cannot flood Airflow's DAG processor and each deploy is the very same
`InstanceService.deploy` as one at a time. One instance's failure (Initialization failed,
Airflow refused, another deploy of it running) is its own line in the summary, never the
others'.

    report = deploy_many(service_factory, requests_in(directory), concurrency=4)
    report.counts  -> {"deployed": 2, "unchanged": 1, "failed": 0, "invalid": 1}
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from integration_platform.integrations.config import FieldError
from integration_platform.lifecycle.errors import ExitCode, InvalidRequest, LifecycleError
from integration_platform.lifecycle.request import DeployRequest, load_request_file
from integration_platform.lifecycle.service import InstanceService

log = logging.getLogger(__name__)

BulkOutcome = Literal["deployed", "unchanged", "failed", "invalid"]
OUTCOMES: tuple[BulkOutcome, ...] = ("deployed", "unchanged", "failed", "invalid")
REQUEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_CONCURRENCY = 32


@dataclass(frozen=True)
class BulkRequest:
    """One instance to deploy: its id, where its request came from, and the request (None
    when the source could not be read at all; then `errors` says why)."""

    instance: str
    source: str
    request: DeployRequest | None
    errors: tuple[FieldError, ...] = ()


@dataclass(frozen=True)
class BulkItem:
    """What happened to one instance. `errors` lists the invalid fields (outcome `invalid`)."""

    instance: str
    source: str
    outcome: BulkOutcome
    message: str
    errors: tuple[FieldError, ...] = ()
    generation: int | None = None
    webhook_urls: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in ("deployed", "unchanged")


@dataclass(frozen=True)
class BulkReport:
    items: tuple[BulkItem, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {o: sum(1 for i in self.items if i.outcome == o) for o in OUTCOMES}

    @property
    def ok(self) -> bool:
        return all(item.ok for item in self.items)

    @property
    def exit_code(self) -> ExitCode:
        """1 if a deploy failed, else 2 if a request was invalid, else 0."""
        counts = self.counts
        if counts["failed"]:
            return ExitCode.FAILED
        return ExitCode.BAD_INPUT if counts["invalid"] else ExitCode.OK


def requests_in(directory: Path) -> list[BulkRequest]:
    """One request per `*.yaml|*.yml|*.json` file of `directory`, the instance id being the
    file's name without its suffix (`shop-1.yaml` deploys `shop-1`), in name order. An
    unreadable file, or two files for one instance, is an invalid request."""
    if not directory.is_dir():
        raise InvalidRequest(str(directory), [FieldError("(directory)", "not a directory")])
    files = sorted(p for p in directory.iterdir() if p.suffix in REQUEST_SUFFIXES and p.is_file())
    if not files:
        suffixes = ", ".join(f"*{s}" for s in REQUEST_SUFFIXES)
        raise InvalidRequest(str(directory), [FieldError("(directory)", f"no {suffixes} file")])
    by_instance: dict[str, list[Path]] = {}
    for path in files:
        by_instance.setdefault(path.stem, []).append(path)
    found: list[BulkRequest] = []
    for path in files:
        instance = path.stem
        if len(same := by_instance[instance]) > 1:  # which one is meant is anyone's guess
            names = ", ".join(p.name for p in same)
            problem = FieldError(
                "(file)", f"{len(same)} requests for {instance!r} ({names}); keep one"
            )
            found.append(BulkRequest(instance, str(path), None, (problem,)))
            continue
        try:
            found.append(BulkRequest(instance, str(path), load_request_file(path)))
        except InvalidRequest as error:
            found.append(BulkRequest(instance, str(path), None, tuple(error.errors)))
    return found


def deploy_many(
    services: Callable[[], InstanceService],
    requests: Sequence[BulkRequest],
    *,
    concurrency: int,
    force: bool = False,
    progress: Callable[[str, str], None] | None = None,
    done: Callable[[BulkItem], None] | None = None,
) -> BulkReport:
    """Validate every request, then deploy the valid ones, at most `concurrency` at a time.

    `progress(instance, line)` receives each deploy's steps; `done(item)` each instance's
    outcome as soon as it is known (invalid requests first). Items are in request order."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        reason = f"must be a whole number from 1 to {MAX_CONCURRENCY}"
        raise InvalidRequest("bulk deploy", [FieldError("concurrency", reason)])
    notify = done or (lambda _item: None)
    report = progress or (lambda _instance, _line: None)
    results: dict[int, BulkItem] = {}
    valid: list[tuple[int, BulkRequest]] = []
    with closing(services()) as checker:
        for index, item in enumerate(requests):
            invalid = _invalid(checker, item)
            if invalid is None:
                valid.append((index, item))
            else:
                results[index] = invalid
                notify(invalid)

    def one(entry: tuple[int, BulkRequest]) -> None:
        index, item = entry
        results[index] = _deploy_one(
            services, item, force, lambda line: report(item.instance, line)
        )
        notify(results[index])

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bulk-deploy") as pool:
        list(pool.map(one, valid))
    return BulkReport(tuple(results[i] for i in sorted(results)))


def _invalid(service: InstanceService, item: BulkRequest) -> BulkItem | None:
    """The item's `invalid` outcome, or None if it may be deployed."""
    errors = item.errors
    if item.request is not None:
        try:
            service.validate(item.instance, item.request)
        except InvalidRequest as error:
            errors = tuple(error.errors)
    if not errors and item.request is not None:
        return None
    return _invalid_item(item, errors)


def _invalid_item(item: BulkRequest, errors: Iterable[FieldError]) -> BulkItem:
    errors = tuple(errors)
    message = "; ".join(str(e) for e in errors)
    return BulkItem(item.instance, item.source, "invalid", message, errors)


def _deploy_one(
    services: Callable[[], InstanceService],
    item: BulkRequest,
    force: bool,
    progress: Callable[[str], None],
) -> BulkItem:
    """One deploy with its own service; whatever goes wrong is this item's outcome."""
    assert item.request is not None  # only valid items are deployed
    try:
        with closing(services()) as service:
            result = service.deploy(item.instance, item.request, progress=progress, force=force)
    except InvalidRequest as error:  # e.g. a kept secret whose connection is gone
        return _invalid_item(item, error.errors)
    except LifecycleError as error:
        return BulkItem(item.instance, item.source, "failed", str(error))
    except Exception as error:  # a bug in one deploy must not lose the others' outcomes
        log.exception("bulk deploy of %s failed", item.instance)
        return BulkItem(
            item.instance, item.source, "failed", f"unexpected error ({type(error).__name__})"
        )
    return BulkItem(
        item.instance,
        item.source,
        result.outcome,
        result.message,
        generation=result.instance.generation,
        webhook_urls=dict(result.webhook_urls),
    )
