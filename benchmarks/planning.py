"""Planner benchmarks: validation, planning and whole simulated runs of random layered DAGs.

Nothing here touches a cluster. Jobs and pods are fake `JobView` and
`PodView` values that the benchmark marks complete, the way the
kopf indexes would show them. Specs above the Workflow model's cap of
`models.MAX_NODES` nodes are planned with the cap lifted in this process
only (see `lift_node_cap`).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from annotated_types import MaxLen

from stage2_operator import models, planner
from stage2_operator.models import OperationSpec
from stage2_operator.observe import JobView, LauncherReport, OutputEntry, PodView
from stage2_operator.validation import validate_operation, validate_workflow

START = datetime(2026, 12, 4, 12, 0, 0, tzinfo=timezone.utc)
META = planner.WorkflowMeta(name="bench", namespace="s2b-planning", uid="uid-bench", generation=1)
SETTINGS = planner.Settings(image_pull_grace_seconds=120)

SOURCE = {"family": "source", "image": "localhost/stage2-python:dev",
          "parameters": {"Text": {"type": "string", "default": "x"}}, "output": {}}
COMPUTE = {"family": "compute", "image": "localhost/stage2-python:dev",
           "inputs": {"Input": {"multiplicity": {"min": 1}}}, "output": {}}


def parsed_operations() -> dict[str, OperationSpec | None]:
    operations: dict[str, OperationSpec | None] = {}
    for name, raw in (("bench-source", SOURCE), ("bench-compute", COMPUTE)):
        spec, errors = validate_operation(raw)
        if errors or spec is None:
            raise RuntimeError(f"benchmark Operation {name} is invalid: {errors}")
        operations[name] = spec
    return operations


def layered_spec(nodes: int, *, seed: int = 1) -> dict[str, Any]:
    """Build a random layered DAG of `nodes` nodes in about sqrt(nodes) layers.

    Each node outside the first layer takes one to three inputs from the
    layer above it, so the graph is as deep as it has layers.
    """
    rng = random.Random(seed)
    layers = max(2, round(math.sqrt(nodes)))
    width = nodes / layers
    spec_nodes: list[dict[str, Any]] = []
    above: list[str] = []
    made = 0
    for layer in range(layers):
        count = nodes - made if layer == layers - 1 else max(1, round(width))
        current = [f"l{layer}-n{i}" for i in range(count)]
        for name in current:
            if not above:
                spec_nodes.append({"name": name, "operation": "bench-source", "parameters": {"Text": name}})
            else:
                upstreams = rng.sample(above, k=min(len(above), rng.randint(1, 3)))
                spec_nodes.append({"name": name, "operation": "bench-compute", "inputs": {"Input": upstreams}})
        made += count
        above = current
    return {"nodes": spec_nodes}


@contextmanager
def lift_node_cap(limit: int) -> Iterator[None]:
    """Raise the `spec.nodes` length cap of `WorkflowSpec` to `limit` inside the block.

    The cap is a pydantic `MaxLen` in the field's metadata, so the model is
    rebuilt with a larger one and rebuilt again with the original afterwards.
    """
    field_info = models.WorkflowSpec.model_fields["nodes"]
    original = list(field_info.metadata)
    if limit <= models.MAX_NODES:
        yield
        return
    field_info.metadata = [MaxLen(limit) if isinstance(item, MaxLen) else item for item in original]
    models.WorkflowSpec.model_rebuild(force=True)
    try:
        yield
    finally:
        field_info.metadata = original
        models.WorkflowSpec.model_rebuild(force=True)


@dataclass
class FakeCluster:
    """Jobs and pods of one Workflow as the controller's indexes would show them."""

    spec: dict[str, Any]
    operations: dict[str, OperationSpec | None]
    meta: planner.WorkflowMeta = META
    status: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, JobView] = field(default_factory=dict)
    pods: dict[str, list[PodView]] = field(default_factory=dict)
    configmaps: set[str] = field(default_factory=set)
    now: datetime = START
    plans: int = 0
    plan_seconds: float = 0.0
    largest_object: int = 0
    validated: tuple[Any, planner.Validated] | None = None

    def plan(self, *, measure_size: bool = False) -> planner.Plan:
        started = time.process_time()
        # Reuse the validation while the spec, run and Operations stay the
        # same, as the controller's reconciler does.
        key = (self.status.get("specHash"), self.status.get("run"))
        if self.validated is None or self.validated[0] != key:
            self.validated = (key, planner.validate(meta=self.meta, spec=self.spec, status=self.status,
                                                    operations=self.operations))
        result = planner.plan(
            meta=self.meta, spec=self.spec, status=self.status, operations=self.operations,
            jobs=list(self.jobs.values()), pods=self.pods, now=self.now, settings=SETTINGS,
            configmaps=self.configmaps, validated=self.validated[1],
        )
        self.plan_seconds += time.process_time() - started
        self.plans += 1
        for action in result.actions:
            if isinstance(action, planner.Create):
                self._create(action.manifest)
        self.status = result.status
        if measure_size:
            body = {"apiVersion": "stage2.dev/v1alpha1", "kind": "Workflow",
                    "metadata": {"name": self.meta.name, "namespace": self.meta.namespace, "uid": self.meta.uid},
                    "spec": self.spec, "status": self.status}
            self.largest_object = max(self.largest_object, len(json.dumps(body, separators=(",", ":"))))
        return result

    def _create(self, manifest: dict[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        if manifest["kind"] == "ConfigMap":
            self.configmaps.add(name)
        elif manifest["kind"] == "Job":
            annotations = manifest["metadata"]["annotations"]
            self.jobs[name] = JobView(
                name=name, workflow=annotations["stage2.dev/workflow"], node=annotations["stage2.dev/node"],
                run=manifest["metadata"]["labels"]["stage2.dev/run"], uid=f"uid-{name}",
                created=self.stamp(), deleting=False, active=1, start_time=self.stamp(),
            )

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def running(self) -> list[str]:
        return [name for name, job in self.jobs.items() if not job.complete]

    def succeed(self, job_name: str) -> None:
        job = self.jobs[job_name]
        self.jobs[job_name] = replace(job, active=0, succeeded=1, complete=True, completion_time=self.stamp())
        report = LauncherReport(exit_code=0, attempt=1, outputs=(OutputEntry(name="data.txt", kind="file"),))
        self.pods[job_name] = [PodView(name=f"{job_name}-pod", job=job_name, phase="Succeeded", created=None,
                                       deleting=False, exit_code=0, report=report)]

    def tick(self) -> None:
        self.now += timedelta(seconds=1)


def time_validation(spec: dict[str, Any], operations: dict[str, OperationSpec | None], repeats: int) -> list[float]:
    """Return the CPU seconds of each of `repeats` validations; the first one is cold."""
    seconds = []
    for _ in range(repeats):
        started = time.process_time()
        workflow, errors = validate_workflow(spec, name="bench", namespace="s2b-planning", operations=operations)
        seconds.append(time.process_time() - started)
        if errors or workflow is None:
            raise RuntimeError(f"benchmark spec is invalid: {errors[:3]}")
    return seconds


def run_batched(spec: dict[str, Any], operations: dict[str, OperationSpec | None],
                *, measure_size: bool = False, meta: planner.WorkflowMeta = META) -> FakeCluster:
    """Simulate a whole run: complete every running Job at once, plan, repeat until Succeeded."""
    cluster = FakeCluster(spec=spec, operations=operations, meta=meta)
    cluster.plan(measure_size=measure_size)
    while cluster.status.get("phase") not in ("Succeeded", "Failed"):
        running = cluster.running()
        if not running:
            raise RuntimeError(f"the simulated run stalled: {cluster.status.get('message')}")
        cluster.tick()
        for name in running:
            cluster.succeed(name)
        cluster.plan(measure_size=measure_size)
    return cluster


def run_per_completion(spec: dict[str, Any], operations: dict[str, OperationSpec | None],
                       *, limit: int | None = None) -> FakeCluster:
    """Simulate a run that plans after every single Job completion, as events arrive one by one.

    With `limit`, stop after that many completions (the caller extrapolates).
    """
    cluster = FakeCluster(spec=spec, operations=operations)
    cluster.plan()
    completions = 0
    while cluster.status.get("phase") not in ("Succeeded", "Failed"):
        running = cluster.running()
        if not running:
            raise RuntimeError(f"the simulated run stalled: {cluster.status.get('message')}")
        cluster.tick()
        cluster.succeed(running[0])
        cluster.plan()
        completions += 1
        if limit is not None and completions >= limit:
            break
    return cluster


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def benchmark(report: Callable[[str], None], sizes: tuple[int, ...] = (500, 5000, 20000)) -> dict[str, Any]:
    """Run the planning benchmarks and return the figures."""
    operations = parsed_operations()
    figures: dict[str, Any] = {}
    with lift_node_cap(max(sizes)):
        for size in sizes:
            spec = layered_spec(size)
            validation = time_validation(spec, operations, repeats=4)
            first = FakeCluster(spec=spec, operations=operations)
            first.plan()
            batched = run_batched(spec, operations)
            row = {
                "nodes": size,
                "edges": sum(len(n.get("inputs", {}).get("Input", [])) for n in spec["nodes"]),
                "validate_cold_s": validation[0],
                "validate_warm_s": min(validation[1:]),
                "first_plan_s": first.plan_seconds,
                "batched_plans": batched.plans,
                "batched_cpu_s": batched.plan_seconds,
                "batched_per_plan_s": batched.plan_seconds / batched.plans,
            }
            report(
                f"planning {size:>6} nodes ({row['edges']} edges): validate cold {_ms(row['validate_cold_s'])}, "
                f"warm {_ms(row['validate_warm_s'])}; first plan {_ms(row['first_plan_s'])}; "
                f"whole run planned per batch: {batched.plans} plans, {batched.plan_seconds:.2f} s CPU "
                f"({_ms(row['batched_per_plan_s'])} per plan)"
            )
            sample = size if size <= 500 else 200
            per_completion = run_per_completion(spec, operations, limit=None if size <= 500 else sample)
            per_plan = per_completion.plan_seconds / per_completion.plans
            row["per_completion_plans_measured"] = per_completion.plans
            row["per_completion_per_plan_s"] = per_plan
            row["per_completion_whole_run_s"] = per_plan * (size + 1)
            exact = "measured" if size <= 500 else f"estimated from the first {sample} completions"
            report(
                f"planning {size:>6} nodes: whole run planned per completion: {size + 1} plans, "
                f"{row['per_completion_whole_run_s']:.1f} s CPU ({exact}; {_ms(per_plan)} per plan)"
            )
            figures[str(size)] = row
    sizes_sorted = sorted(figures.values(), key=lambda row: row["nodes"])
    if len(sizes_sorted) >= 2:
        small, large = sizes_sorted[0], sizes_sorted[-1]
        factor = large["nodes"] / small["nodes"]
        report(
            f"growth {small['nodes']} -> {large['nodes']} nodes (x{factor:.0f}): validation "
            f"x{large['validate_warm_s'] / small['validate_warm_s']:.1f}, one plan "
            f"x{large['batched_per_plan_s'] / small['batched_per_plan_s']:.1f}"
        )
    return figures


def status_size(report: Callable[[str], None], nodes: int = 2000) -> dict[str, Any]:
    """Simulate a run of `nodes` nodes and report the largest Workflow object it produced."""
    operations = parsed_operations()
    spec = layered_spec(nodes)
    cluster = run_batched(spec, operations, measure_size=True)
    spec_bytes = len(json.dumps(spec, separators=(",", ":")))
    status_bytes = len(json.dumps(cluster.status, separators=(",", ":")))
    report(
        f"status size, {nodes}-node simulated run: largest Workflow object {cluster.largest_object / 1024:.1f} KiB "
        f"(final spec {spec_bytes / 1024:.1f} KiB, final status {status_bytes / 1024:.1f} KiB, "
        f"{status_bytes / nodes:.0f} bytes per node)"
    )
    return {"nodes": nodes, "largest_object_bytes": cluster.largest_object, "spec_bytes": spec_bytes,
            "status_bytes": status_bytes}
