"""Benchmarks of the operator on the local cluster: launch throughput, step latency and memory."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client

from benchmarks import cluster as bench
from benchmarks.planning import layered_spec, run_batched
from stage2_operator import planner
from stage2_operator.validation import validate_operation

Report = Callable[[str], None]


def parsed_bench_operations() -> dict[str, Any]:
    operations = {}
    for name, family in (("bench-source", "source"), ("bench-compute", "compute")):
        spec, errors = validate_operation(bench.operation(name, family)["spec"])
        if errors or spec is None:
            raise RuntimeError(f"benchmark Operation {name} is invalid: {errors}")
        operations[name] = spec
    return operations


def wait_operations_ready(api: client.ApiClient, ns: str) -> None:
    """Wait until the operator has validated both Operations, so its index has them."""
    custom = client.CustomObjectsApi(api)

    def ready() -> bool:
        for name in ("bench-source", "bench-compute"):
            body = custom.get_namespaced_custom_object(bench.GROUP, bench.VERSION, ns, "operations", name)
            conditions = (body.get("status") or {}).get("conditions") or []
            if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
                return False
        return True

    bench.wait_for(ready, timeout=120, message=f"Operations Ready in {ns}")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# Launch throughput.


def _floor_run(api: client.ApiClient, nodes: int, workers: int) -> float:
    """Create the same PVC, ConfigMaps and Jobs as the operator would, directly; return seconds to the last Job."""
    spec = {"nodes": [{"name": f"n{i}", "operation": "bench-source"} for i in range(nodes)]}
    with bench.namespace(api, max_pods=0) as ns:
        meta = planner.WorkflowMeta(name="launch", namespace=ns, uid="00000000-0000-0000-0000-000000000000",
                                    generation=1)
        plan = planner.plan(meta=meta, spec=spec, status={}, operations=parsed_bench_operations(), jobs=[], pods={},
                            now=bench_now(), settings=planner.Settings())
        creates = [action for action in plan.actions if isinstance(action, planner.Create)]
        for action in creates:
            action.manifest["metadata"].pop("ownerReferences", None)
        core = client.CoreV1Api(api)
        batch = client.BatchV1Api(api)
        claims = [a.manifest for a in creates if a.manifest["kind"] == "PersistentVolumeClaim"]
        per_node: dict[str, list[dict[str, Any]]] = {}
        for action in creates:
            if action.node is not None:
                per_node.setdefault(action.node, []).append(action.manifest)

        def create_node(manifests: list[dict[str, Any]]) -> None:
            for manifest in manifests:
                if manifest["kind"] == "ConfigMap":
                    core.create_namespaced_config_map(ns, manifest)
                else:
                    batch.create_namespaced_job(ns, manifest)

        watcher = bench.JobWatch(api, ns)
        time.sleep(0.5)
        started = time.monotonic()
        for claim in claims:
            core.create_namespaced_persistent_volume_claim(ns, claim)
        bench.concurrently([lambda m=manifests: create_node(m) for manifests in per_node.values()], workers)
        finished = watcher.wait_added(nodes, timeout=600)
        watcher.stop()
        return finished - started


def bench_now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _operator_run(api: client.ApiClient, log_dir: Path, nodes: int) -> tuple[float, float]:
    """Return seconds from creating a Workflow of `nodes` independent nodes to its last Job, and the mean Job create call."""
    spec = {"nodes": [{"name": f"n{i}", "operation": "bench-source"} for i in range(nodes)]}
    with bench.namespace(api, max_pods=0) as ns, bench.operator(log_dir / "launch-operator.log") as running:
        bench.create_operations(api, ns)
        wait_operations_ready(api, ns)
        watcher = bench.JobWatch(api, ns)
        time.sleep(0.5)
        started = time.monotonic()
        client.CustomObjectsApi(api).create_namespaced_custom_object(
            bench.GROUP, bench.VERSION, ns, "workflows", bench.workflow("launch", spec))
        finished = watcher.wait_added(nodes, timeout=900)
        watcher.stop()
        return finished - started, running.metric("stage2_job_create_duration_seconds_sum") / max(
            1.0, running.metric("stage2_job_create_duration_seconds_count"))


def launch_throughput(report: Report, api: client.ApiClient, log_dir: Path, *, nodes: int = 500,
                      workers: int = 8, rounds: int = 2) -> dict[str, Any]:
    """Compare the operator's time to create `nodes` Jobs with direct creates at the same concurrency."""
    rows = []
    for round_number in range(1, rounds + 1):
        floor = _floor_run(api, nodes, workers)
        operator, mean_create = _operator_run(api, log_dir, nodes)
        rows.append({"floor_s": floor, "operator_s": operator, "ratio": operator / floor,
                     "mean_job_create_s": mean_create})
        report(
            f"launch round {round_number}: {nodes} Jobs in {operator:.1f} s by the operator "
            f"({nodes / operator:.0f} Jobs/s, mean Job create call {mean_create * 1000:.0f} ms), "
            f"floor {floor:.1f} s by direct creates with {workers} threads; ratio {operator / floor:.2f}"
        )
    return {"nodes": nodes, "workers": workers, "rounds": rows}


# Step latency.


def step_latency(report: Report, api: client.ApiClient, log_dir: Path, *, length: int = 50) -> dict[str, Any]:
    """Run a chain of `length` nodes and measure upstream Job Complete to downstream Job ADDED."""
    nodes = [{"name": "n0", "operation": "bench-source"}]
    nodes += [{"name": f"n{i}", "operation": "bench-compute", "inputs": {"Input": [f"n{i - 1}"]}}
              for i in range(1, length)]
    with bench.namespace(api) as ns, bench.operator(log_dir / "step-operator.log") as running:
        bench.create_operations(api, ns)
        wait_operations_ready(api, ns)
        watcher = bench.JobWatch(api, ns)
        custom = client.CustomObjectsApi(api)
        custom.create_namespaced_custom_object(bench.GROUP, bench.VERSION, ns, "workflows",
                                               bench.workflow("chain", {"nodes": nodes}))

        def finished() -> dict[str, Any] | None:
            body = custom.get_namespaced_custom_object(bench.GROUP, bench.VERSION, ns, "workflows", "chain")
            status = body.get("status") or {}
            return status if status.get("phase") in ("Succeeded", "Failed") else None

        status = bench.wait_for(finished, timeout=1800, interval=1.0, message="chain workflow finished")
        watcher.stop()
        if status["phase"] != "Succeeded":
            raise RuntimeError(f"the chain failed: {status.get('message')}")
        by_node = {annotations.get("stage2.dev/node"): job for job, annotations in watcher.annotations.items()}
        latencies = []
        for i in range(1, length):
            upstream, downstream = by_node.get(f"n{i - 1}"), by_node.get(f"n{i}")
            if upstream in watcher.completed and downstream in watcher.added:
                latencies.append(watcher.added[downstream] - watcher.completed[upstream])
        metric_count = running.metric("stage2_step_latency_seconds_count")
        metric_mean = running.metric("stage2_step_latency_seconds_sum") / max(1.0, metric_count)
    result = {
        "steps": len(latencies),
        "p50_s": statistics.median(latencies),
        "p90_s": _percentile(latencies, 0.9),
        "p99_s": _percentile(latencies, 0.99),
        "max_s": max(latencies),
        "metric_mean_s": metric_mean,
    }
    report(
        f"step latency, {length}-node chain ({len(latencies)} steps, watch-event arrival times): "
        f"p50 {result['p50_s'] * 1000:.0f} ms, p90 {result['p90_s'] * 1000:.0f} ms, "
        f"p99 {result['p99_s'] * 1000:.0f} ms, max {result['max_s'] * 1000:.0f} ms; "
        f"operator metric mean {metric_mean:.2f} s (one-second timestamps)"
    )
    return result


# Memory.


def memory(report: Report, api: client.ApiClient, log_dir: Path, *, finished: int = 1000, running: int = 20,
           nodes: int = 20, workers: int = 8) -> dict[str, Any]:
    """Measure the operator's resident memory with `finished` finished and `running` running Workflows.

    Finished Workflows get their final status written through the status
    subresource: a status computed by the planner for a simulated run, which
    the operator then treats as a finished run of the current generation.
    """
    spec = layered_spec(nodes, seed=7)
    operations = parsed_bench_operations()
    custom = client.CustomObjectsApi(api)
    with bench.namespace(api, max_pods=0) as ns, bench.operator(log_dir / "memory-operator.log") as operator:
        bench.create_operations(api, ns)
        wait_operations_ready(api, ns)
        time.sleep(2)
        baseline = operator.resident_bytes()

        def create_finished(index: int) -> None:
            name = f"done-{index:04d}"
            custom.create_namespaced_custom_object(bench.GROUP, bench.VERSION, ns, "workflows",
                                                   bench.workflow(name, {**spec, "suspend": True}))
            meta = planner.WorkflowMeta(name=name, namespace=ns, uid="simulated", generation=1)
            status = run_batched(spec, operations, meta=meta).status
            custom.patch_namespaced_custom_object_status(bench.GROUP, bench.VERSION, ns, "workflows", name,
                                                         {"status": status})

        def create_running(index: int) -> None:
            # The pod quota of 0 keeps every started node's Job without pods, so these stay Running.
            custom.create_namespaced_custom_object(bench.GROUP, bench.VERSION, ns, "workflows",
                                                   bench.workflow(f"live-{index:02d}", spec))

        started = time.monotonic()
        bench.concurrently([lambda i=i: create_finished(i) for i in range(finished)], workers)
        bench.concurrently([lambda i=i: create_running(i) for i in range(running)], workers)
        created = time.monotonic() - started

        def settled() -> bool:
            samples = operator.scrape()
            succeeded = samples.get(("stage2_workflows", (("phase", "Succeeded"),)), 0.0)
            live = samples.get(("stage2_workflows", (("phase", "Running"),)), 0.0)
            depth = samples.get(("stage2_workqueue_depth", ()), 0.0)
            return succeeded >= finished and live >= running and depth == 0

        bench.wait_for(settled, timeout=600, interval=2.0, message="operator saw every benchmark Workflow")
        time.sleep(10)
        resident = operator.resident_bytes()
        jobs = len(client.BatchV1Api(api).list_namespaced_job(ns).items)
    result = {"baseline_bytes": baseline, "resident_bytes": resident, "jobs": jobs, "create_seconds": created}
    report(
        f"memory: operator RSS {resident / 2**20:.0f} MiB with {finished} finished and {running} running "
        f"{nodes}-node Workflows ({jobs} Jobs); {baseline / 2**20:.0f} MiB with none; "
        f"creating them took {created:.0f} s"
    )
    return result
