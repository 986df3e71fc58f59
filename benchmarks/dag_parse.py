"""How long parsing the instance DAGs takes at 10, 100 and 1,000 instances, next to dag-factory.

For each instance count N (4 DAGs per instance):

- `parse_s`: the DAG processor's work for our DAG folder (the 8 shard shims plus the
  broken-file report shim): every file imported and every DAG serialised, summed over files.
- `max_file_parse_s`: the slowest single file of that folder (Airflow's per-file timeouts
  apply to this number: `dagbag_import_timeout` 30 s, `dag_file_processor_timeout` 50 s).
- `worker_task_parse_s`: what a worker parses before running one task: the task's shard
  file with Airflow's parsing context (`_AIRFLOW_PARSING_CONTEXT_DAG_ID`/`_TASK_ID`) set.
- `worker_task_parse_warm_s` (and dag-factory's): the same parse once the modules it imports
  are loaded (a second parse in the same process): the cost of the DAG file itself, without
  the first-time import of Airflow's TaskFlow modules that running the task needs anyway.
- `dagfactory_parse_s` / `dagfactory_worker_task_parse_s`: the same N x 4 DAGs (same task
  graphs, tags, params, retries) described in one YAML file per instance and loaded by
  dag-factory's documented one-shim `load_yaml_dags` — full parse, and a worker's one-task
  parse (dag-factory reads every YAML file either way).

Every measurement runs in a child forked from a process that has already imported what the
DAG processor and the task runner import before they parse a file (so interpreter start-up
is not counted, and the same holds for both sides), with its heap frozen (`gc.freeze()`) as the
DAG processor and the LocalExecutor/Celery workers freeze theirs before forking. Bytecode is cached in `.state/pycache`.

Run: `.venv/bin/python benchmarks/dag_parse.py [--instances 10 100 1000]`. The last line is
one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = REPO_ROOT / "dags"
PARSING_DAG_ID = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
PARSING_TASK_ID = "_AIRFLOW_PARSING_CONTEXT_TASK_ID"
WORKER_REPEATS = 5
IMPORT_TIMEOUT_S = 30.0  # Airflow's default [core] dagbag_import_timeout

sys.path.insert(0, str(REPO_ROOT))
# Cache bytecode even under PYTHONDONTWRITEBYTECODE: recompiling Airflow in every forked child
# would measure the compiler, not the parse.
sys.dont_write_bytecode = False
sys.pycache_prefix = str(REPO_ROOT / ".state" / "pycache")


def in_fork(work: Callable[[], float]) -> tuple[float, float]:
    """Run `work` in a forked child; return its wall time and its result (a number)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_end)
        try:
            started = time.perf_counter()
            count = work()
            payload = json.dumps([time.perf_counter() - started, count])
        except BaseException as error:  # report, never fall through into the parent's code
            payload = json.dumps({"error": f"{type(error).__name__}: {error}"})
        os.write(write_end, payload.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        answer = json.loads(pipe.read() or '{"error": "child died"}')
    os.waitpid(pid, 0)
    if isinstance(answer, dict):
        raise RuntimeError(answer["error"])
    return answer[0], answer[1]


def parse_file(
    path: Path, folder: Path, *, serialize: bool, env: dict[str, str] | None = None
) -> int:
    """Import one DAG file like Airflow does (and serialise its DAGs); return the DAG count."""
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.serialization.serialized_objects import DagSerialization

    os.environ.update(env or {})
    bag = BundleDagBag(
        dag_folder=str(path), bundle_path=folder, bundle_name="benchmark", safe_mode=serialize
    )
    errors = {k: v for k, v in bag.import_errors.items() if "instance_errors" not in k}
    if errors:
        raise RuntimeError(f"import errors: {errors}")
    if serialize:
        for dag in bag.dags.values():
            DagSerialization.to_dict(dag)
    target = (env or {}).get(PARSING_DAG_ID)
    if target and target not in bag.dags:
        raise RuntimeError(f"{path.name} did not build {target}")
    return len(bag.dags)


def shard_of(instance_id: str) -> int:
    from acme_erp_integration.dags import FACTORY

    return FACTORY.shard_of(instance_id)


def warm_parse_s(path: Path, folder: Path, env: dict[str, str]) -> float:
    """A second parse in the same process: the parse itself, once imports are warm."""
    parse_file(path, folder, serialize=False, env=env)
    started = time.perf_counter()
    parse_file(path, folder, serialize=False, env=env)
    return time.perf_counter() - started


# -- fixtures --------------------------------------------------------------------------------


def instance_ids(count: int) -> list[str]:
    return [f"customer-{n:04d}" for n in range(count)]


def write_instances(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    for n, instance_id in enumerate(instance_ids(count)):
        data = {
            "id": instance_id,
            "integration": "acme-erp",
            "customer": f"Customer {n}",
            "generation": 1 + n % 3,
            "state": "active",
            "config": {
                "progix_tenant": instance_id,
                "warehouses": ["north", "east"] if n % 2 else [],
                "backfill_on_deploy": n % 4 == 0,
            },
            "connections": {
                "acme_connection": f"acme_erp__{instance_id}",
                "progix_connection": f"progix__{instance_id}",
            },
        }
        (directory / f"{instance_id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


_DAGFACTORY_DEFAULT = {
    "default_args": {
        "owner": "acme-erp",
        "start_date": "2026-01-01",
        "retries": 3,
        "retry_delay_sec": 20,
        "retry_exponential_backoff": True,
    }
}


def _dagfactory_dag(
    instance_id: str, n: int, flow: str, schedule: str | None, max_runs: int, tasks: dict, **extra
) -> tuple[str, dict]:
    """One flow's DAG id and dag-factory entry, tagged and documented as the factory does."""
    snake = instance_id.replace("-", "_")
    return f"acme_erp__{snake}__{flow.replace('-', '_')}", {
        "schedule": schedule,
        "catchup": False,
        "is_paused_upon_creation": False,
        "max_active_runs": max_runs,
        "tags": ["integration:acme-erp", f"instance:{instance_id}", f"flow:{flow}"],
        "description": f"{flow} for Customer {n}",
        "doc_md": f"# Acme ERP · {flow} · Customer {n}\n\nInstance `{instance_id}`.",
        "tasks": tasks,
        **extra,
    }


def _python_task(instance_id: str, *upstream: str) -> dict:
    """A python task standing in for one of our operators."""
    task = {
        "operator": "airflow.providers.standard.operators.python.PythonOperator",
        "python_callable": "builtins.len",
        "op_args": [[instance_id]],
    }
    return {**task, "dependencies": list(upstream)} if upstream else task


def _example_events(kind: str) -> dict:
    example = [{"id": "evt_example", "type": kind, "object_id": "x", "occurred_at": "2026"}]
    return {"params": {"events": example}}


def dagfactory_config(instance_id: str, n: int) -> dict:
    """The same four DAGs as dag-factory YAML (python tasks stand in for our operators)."""

    def python(*upstream: str) -> dict:
        return _python_task(instance_id, *upstream)

    def dag(flow: str, schedule: str | None, max_runs: int, tasks: dict, **extra) -> tuple:
        return _dagfactory_dag(instance_id, n, flow, schedule, max_runs, tasks, **extra)

    init_tasks = {
        "webhook_urls": python(),
        "desired_webhooks": python("webhook_urls"),
        "ensure_webhooks": python("desired_webhooks"),
    }
    if n % 4 == 0:
        init_tasks |= {"backfill_customers": python("ensure_webhooks")}
        init_tasks |= {"backfill_inventory": python("ensure_webhooks")}
    customers = _example_events("customer.updated")
    inventory = _example_events("inventory.updated")
    dags = [
        dag("sync-customer-data", None, 4, {"sync_customers": python()}, **customers),
        dag("sync-inventory-data", None, 4, {"sync_inventory": python()}, **inventory),
        dag("initialization", "@once", 1, init_tasks),
        dag("teardown", None, 1, {"delete_webhooks": python()}),
    ]
    return {"default": _DAGFACTORY_DEFAULT, **dict(dags)}


def write_dagfactory_folder(folder: Path, yaml_dir: Path, count: int) -> Path:
    yaml_dir.mkdir(parents=True)
    for n, instance_id in enumerate(instance_ids(count)):
        (yaml_dir / f"{instance_id}.yml").write_text(
            yaml.safe_dump(dagfactory_config(instance_id, n))
        )
    folder.mkdir(parents=True)
    shim = folder / "dagfactory_instances.py"
    shim.write_text(
        '"""Airflow DAGs from YAML with dag-factory (baseline)."""\n'
        "from dagfactory import load_yaml_dags\n\n"
        f"load_yaml_dags(globals_dict=globals(), dags_folder={str(yaml_dir)!r})\n"
    )
    return shim


# -- measurements ----------------------------------------------------------------------------


def measure(count: int, workdir: Path) -> dict[str, float]:
    instances = workdir / f"instances-{count}"
    write_instances(instances, count)
    os.environ["INTEGRATION_INSTANCES_DIR"] = str(instances)
    files = sorted(DAGS_FOLDER.glob("*.py"))  # the shims; our code is imported by each child
    file_times, dags = [], 0
    for path in files:
        seconds, built = in_fork(lambda path=path: parse_file(path, DAGS_FOLDER, serialize=True))
        file_times.append(seconds)
        dags += built
    assert dags == 4 * count, f"built {dags} DAGs for {count} instances"

    target_instance = instance_ids(count)[count // 2]
    target_dag = f"acme_erp__{target_instance.replace('-', '_')}__sync_customer_data"
    context = {PARSING_DAG_ID: target_dag, PARSING_TASK_ID: "sync_customers"}
    _, shard = in_fork(lambda: shard_of(target_instance))
    shard_file = DAGS_FOLDER / f"acme_erp_shard_{shard}.py"
    worker = statistics.median(
        in_fork(lambda: parse_file(shard_file, DAGS_FOLDER, serialize=False, env=context))[0]
        for _ in range(WORKER_REPEATS)
    )

    worker_warm = statistics.median(
        in_fork(lambda: warm_parse_s(shard_file, DAGS_FOLDER, context))[1]
        for _ in range(WORKER_REPEATS)
    )

    df_folder = workdir / f"dagfactory-{count}"
    df_shim = write_dagfactory_folder(df_folder, workdir / f"dagfactory-yaml-{count}", count)
    df_parse, df_dags = in_fork(lambda: parse_file(df_shim, df_folder, serialize=True))
    assert df_dags == 4 * count, f"dag-factory built {df_dags} DAGs for {count} instances"
    df_worker = statistics.median(
        in_fork(lambda: parse_file(df_shim, df_folder, serialize=False, env=context))[0]
        for _ in range(max(1, WORKER_REPEATS // (1 + count // 100)))
    )
    print(f"  per file at {count}: {[round(t, 2) for t in file_times]}", file=sys.stderr)
    df_worker_warm = in_fork(lambda: warm_parse_s(df_shim, df_folder, context))[1]
    return {
        "parse_s": sum(file_times),
        "max_file_parse_s": max(file_times),
        "worker_task_parse_s": worker,
        "worker_task_parse_warm_s": worker_warm,
        "dagfactory_worker_task_parse_warm_s": df_worker_warm,
        "dagfactory_parse_s": df_parse,
        "dagfactory_worker_task_parse_s": df_worker,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dag-parse-bench-") as tmp:
        workdir = Path(tmp)
        os.environ.setdefault("AIRFLOW_HOME", str(workdir / "airflow-home"))
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"
        # Measure past Airflow's 30 s import timeout instead of failing (reported separately).
        os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT"] = "3600"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
        os.environ.pop(PARSING_DAG_ID, None)
        os.environ.pop(PARSING_TASK_ID, None)
        # What the DAG processor's and the task runner's processes import before parsing.
        import airflow.dag_processing.processor
        import airflow.sdk.execution_time.task_runner  # noqa: F401

        # As Airflow's DAG processor, LocalExecutor and Celery workers do before they fork:
        # otherwise whether a full collection of this parent's heap lands inside a measured
        # parse is luck (0.07 s vs 0.19 s for the same worker parse), and it measures the
        # parent, not the DAG file.
        gc.collect()
        gc.freeze()

        results: dict[str, list[float]] = {}
        for count in args.instances:
            row = measure(count, workdir)
            print(
                f"{count:>5} instances: " + ", ".join(f"{k}={v:.3f}" for k, v in row.items()),
                flush=True,
            )
            for key, value in row.items():
                results.setdefault(key, []).append(round(value, 4))
    print(
        json.dumps(
            {
                "instances": args.instances,
                "parse_s": results["parse_s"],
                "worker_task_parse_s": results["worker_task_parse_s"],
                "dagfactory_parse_s": results["dagfactory_parse_s"],
                "dagfactory_worker_task_parse_s": results["dagfactory_worker_task_parse_s"],
                "max_file_parse_s": results["max_file_parse_s"][-1],
                "max_file_parse_s_by_instances": results["max_file_parse_s"],
                "worker_task_parse_warm_s": results["worker_task_parse_warm_s"],
                "dagfactory_worker_task_parse_warm_s": results[
                    "dagfactory_worker_task_parse_warm_s"
                ],
                # The import alone (no serialisation) is what the worker parse measures.
                "import_timeout_s": IMPORT_TIMEOUT_S,
                "dagfactory_import_over_timeout": [
                    t > IMPORT_TIMEOUT_S for t in results["dagfactory_worker_task_parse_s"]
                ],
                "shards": 8,
                "machine_load_1m": round(os.getloadavg()[0], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
