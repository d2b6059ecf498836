"""The reconcile loop: observe a Workflow, plan with pure code, apply, write status once.

The kopf handlers only enqueue Workflow keys. A few worker tasks take keys
from a deduplicating queue, so one Workflow is never reconciled by two
workers at once, and a key that changes during a pass is reconciled again
afterwards. Each pass reads the Workflow fresh from the API server and its
Jobs and pods from kopf's in-memory indexes, then applies the plan's actions.
It replaces the status with the read resourceVersion as a precondition. A
concurrent change therefore makes the write fail with 409, and the pass is
retried from fresh state instead of overwriting it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from kubernetes.client.rest import ApiException

from . import metrics, planner
from .config import OperatorConfig
from .kube import Conflict, CreateRejected, Kube
from .leader import LeaderElector
from .models import OperationSpec
from .observe import JobView, PodView
from .status import TERMINAL_WORKFLOW
from .validation import validate_operation
from .workqueue import WorkQueue

logger = logging.getLogger("stage2.reconcile")

COMPONENT = "stage2-operator"
MAX_BACKOFF_SECONDS = 60.0

Key = tuple[str, str]
IndexLookup = Callable[[Hashable], Iterable[Any]]


class Controller:
    """Owns the work queue, the workers and the cached parse of Operations."""

    def __init__(self, *, kube: Kube, config: OperatorConfig) -> None:
        self.kube = kube
        self.config = config
        self.queue = WorkQueue()
        self.jobs: IndexLookup = lambda key: ()
        self.pods: IndexLookup = lambda key: ()
        self.operation_specs: IndexLookup = lambda key: ()
        self.configmaps: IndexLookup = lambda key: ()
        self.leader: LeaderElector | None = None
        self.phases: dict[Key, str] = {}
        self.references: dict[Key, frozenset[str]] = {}
        self._parsed: dict[Key, tuple[str, OperationSpec | None]] = {}
        self._failures: dict[Key, int] = {}
        self._rejected: dict[Key, dict[str, str]] = {}
        self._validations: dict[Key, tuple[Hashable, planner.Validated]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._create_slots = asyncio.Semaphore(config.create_concurrency)

    # Wiring.

    @property
    def is_leader(self) -> bool:
        return self.leader is None or self.leader.is_leader

    def start(self) -> None:
        # Every API call runs in a thread. The loop's default pool has
        # min(32, CPUs + 4) threads, fewer than the creates allowed at once.
        threads = self.config.workers * self.config.create_concurrency + 4
        asyncio.get_running_loop().set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=threads, thread_name_prefix="stage2-api")
        )
        if self.leader is not None:
            self._tasks.append(asyncio.create_task(self.leader.run(), name="stage2-leader-election"))
        for number in range(self.config.workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"stage2-worker-{number}"))
        self._tasks.append(asyncio.create_task(self._resync(), name="stage2-resync"))

    async def stop(self) -> None:
        if self.leader is not None:
            await self.leader.release()
        self.queue.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def enqueue(self, namespace: str, name: str) -> None:
        self.queue.add((namespace, name))

    def note_workflow(self, *, namespace: str, name: str, body: Mapping[str, Any] | None) -> None:
        """Remember what resync and Operation changes need: phase and referenced Operations."""
        key = (namespace, name)
        if body is None:
            self.phases.pop(key, None)
            self.references.pop(key, None)
            self._rejected.pop(key, None)
            self._failures.pop(key, None)
            self._validations.pop(key, None)
            metrics.PHASES.forget(key)
            return
        self.phases[key] = str((body.get("status") or {}).get("phase") or "")
        metrics.PHASES.update(key, body.get("status"))
        nodes = (body.get("spec") or {}).get("nodes") or []
        self.references[key] = frozenset(str(node.get("operation")) for node in nodes if isinstance(node, dict))

    def enqueue_users_of(self, *, namespace: str, operation: str) -> None:
        for (ns, name), used in self.references.items():
            if ns == namespace and operation in used:
                self.enqueue(ns, name)

    # Workers.

    async def _work(self) -> None:
        while True:
            if self.leader is not None:
                await self.leader.wait_until_leader()
            key = await self.queue.get()
            if not self.is_leader:
                # Leadership was lost while waiting: keep the key for later.
                self.queue.done(key)
                self.queue.add_after(key, 1.0)
                continue
            try:
                await self._reconcile_with_retry(key)  # type: ignore[arg-type]
            finally:
                self.queue.done(key)

    async def _resync(self) -> None:
        """Look again at unfinished Workflows now and then, in case an event was missed."""
        while True:
            await asyncio.sleep(self.config.resync_seconds)
            for key, phase in list(self.phases.items()):
                if phase not in TERMINAL_WORKFLOW:
                    self.queue.add(key)

    async def _reconcile_with_retry(self, key: Key) -> None:
        namespace, name = key
        fields = {"namespace": namespace, "workflow": name}
        started = time.monotonic()
        try:
            requeue_after = await self.reconcile(namespace, name)
        except Conflict:
            metrics.record_reconcile(result="requeue", seconds=time.monotonic() - started)
            logger.info("[%s/%s] status changed during the pass; reconciling again", namespace, name, extra=fields)
            self.queue.add_after(key, 0.05)
            return
        except ApiException as error:
            metrics.record_reconcile(result="error", seconds=time.monotonic() - started)
            delay = self._backoff(key)
            logger.warning(
                "[%s/%s] API request failed (%s %s); will retry in %.1fs", namespace, name, error.status, error.reason, delay,
                extra=fields,
            )
            self.queue.add_after(key, delay)
            return
        except Exception:
            metrics.record_reconcile(result="error", seconds=time.monotonic() - started)
            delay = self._backoff(key)
            logger.exception("[%s/%s] reconcile failed; will retry in %.1fs", namespace, name, delay, extra=fields)
            self.queue.add_after(key, delay)
            return
        result = "success" if requeue_after is None else "requeue_after"
        metrics.record_reconcile(result=result, seconds=time.monotonic() - started)
        self._failures.pop(key, None)
        if requeue_after is not None:
            self.queue.add_after(key, requeue_after)

    def _backoff(self, key: Key) -> float:
        failures = self._failures.get(key, 0) + 1
        self._failures[key] = failures
        return float(min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** (failures - 1)))

    # One pass.

    def _operations(
        self, namespace: str, names: Iterable[str]
    ) -> tuple[dict[str, OperationSpec | None], set[str]]:
        """Return the parsed Operations (None when missing or invalid) and the invalid names."""
        result: dict[str, OperationSpec | None] = {}
        invalid: set[str] = set()
        for name in names:
            entries = list(self.operation_specs((namespace, name)))
            if not entries:
                result[name] = None
                continue
            version, spec = entries[-1]
            cached = self._parsed.get((namespace, name))
            if cached is None or cached[0] != version:
                parsed, errors = validate_operation(spec)
                cached = (version, None if errors else parsed)
                self._parsed[(namespace, name)] = cached
            result[name] = cached[1]
            if cached[1] is None:
                invalid.add(name)
        return result, invalid

    def _validate(
        self,
        *,
        meta: planner.WorkflowMeta,
        spec: Mapping[str, Any],
        status: Mapping[str, Any],
        operations: Mapping[str, OperationSpec | None],
        invalid: set[str],
    ) -> planner.Validated:
        """Validate a Workflow, reusing the last result while its inputs are unchanged.

        Validation is linear in the graph but the largest share of a pass, and
        most passes (a Job event, a pod event) change neither the spec nor an
        Operation.
        """
        versions = tuple(
            sorted((name, str(next(iter(self.operation_specs((meta.namespace, name))), ("",))[0]))
                   for name in operations)
        )
        cache_key = (meta.uid, meta.generation, status.get("specHash"), status.get("run"), versions,
                     frozenset(invalid))
        cached = self._validations.get((meta.namespace, meta.name))
        if cached is not None and cached[0] == cache_key:
            return cached[1]
        validated = planner.validate(
            meta=meta, spec=spec, status=status, operations=operations, invalid_operations=invalid
        )
        self._validations[(meta.namespace, meta.name)] = (cache_key, validated)
        return validated

    async def reconcile(self, namespace: str, name: str) -> float | None:
        body = await asyncio.to_thread(self.kube.get_workflow, namespace, name)
        key = (namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self.note_workflow(namespace=namespace, name=name, body=None)
            return None
        self.note_workflow(namespace=namespace, name=name, body=body)
        metadata = body["metadata"]
        spec = body.get("spec") or {}
        old_status = body.get("status") or {}
        meta = planner.WorkflowMeta(
            name=name, namespace=namespace, uid=metadata["uid"], generation=int(metadata.get("generation") or 1)
        )
        jobs: list[JobView] = list(self.jobs(key))
        pods: dict[str, list[PodView]] = {job.name: list(self.pods((namespace, job.name))) for job in jobs}
        operations, invalid = self._operations(namespace, self.references.get(key, frozenset()))
        started = time.monotonic()
        validated = self._validate(meta=meta, spec=spec, status=old_status, operations=operations, invalid=invalid)
        plan = planner.plan(
            meta=meta,
            spec=spec,
            status=old_status,
            operations=operations,
            jobs=jobs,
            pods=pods,
            now=datetime.now(timezone.utc),
            settings=self.config.planner,
            configmaps={name for name in self.configmaps(key)},
            rejected=self._rejected.get(key, {}),
            invalid_operations=invalid,
            validated=validated,
        )
        logger.debug("[%s/%s] planned %d actions in %.1f ms", namespace, name, len(plan.actions),
                     (time.monotonic() - started) * 1000, extra={"namespace": namespace, "workflow": name})

        rejected = await self._apply(body, plan)
        if rejected:
            self._rejected.setdefault(key, {}).update(rejected)
            return 0.05

        if plan.status != old_status:
            body["status"] = plan.status
            await asyncio.to_thread(self.kube.replace_workflow_status, body)
            metrics.record_finished_nodes(spec=spec, old_status=old_status, new_status=plan.status)
            old_phase = old_status.get("phase")
            if old_phase != plan.status.get("phase"):
                logger.info(
                    "[%s/%s] workflow phase %s -> %s: %s",
                    namespace, name, old_phase or "(none)", plan.status.get("phase"), plan.status.get("message"),
                    extra={"namespace": namespace, "workflow": name},
                )
            self.phases[key] = str(plan.status.get("phase") or "")
            if self.config.post_events:
                for event in plan.events:
                    await asyncio.to_thread(
                        self.kube.post_event,
                        involved=body,
                        type_=event.type,
                        reason=event.reason,
                        message=event.message,
                        component=COMPONENT,
                    )
        return plan.requeue_after

    async def _apply(self, body: Mapping[str, Any], plan: planner.Plan) -> dict[str, str]:
        """Apply the plan's actions; return the nodes whose manifests the API server rejected."""
        namespace = body["metadata"]["namespace"]
        name = body["metadata"]["name"]
        per_node: dict[str, list[planner.Create]] = {}
        for action in plan.actions:
            if isinstance(action, planner.Create) and action.node is not None:
                per_node.setdefault(action.node, []).append(action)
                continue
            await self._apply_one(namespace, name, action, body)

        upstream_times = metrics.UpstreamTimes(spec=body.get("spec") or {}, status=plan.status)

        async def create_node(node: str, creates: list[planner.Create]) -> tuple[str, str] | None:
            async with self._create_slots:
                for create in creates:
                    kind = create.manifest["kind"]
                    fields = {"namespace": namespace, "workflow": name, "node": node}
                    if kind == "Job":
                        fields["job"] = create.manifest["metadata"]["name"]
                    started = time.monotonic()
                    try:
                        created = await asyncio.to_thread(self.kube.create, create.manifest)
                    except CreateRejected as error:
                        logger.error("[%s/%s] %s for node %s", namespace, name, error, node, extra=fields)
                        return node, f"the API server rejected {error.kind} {error.name}: {error.reason}"
                    if created and kind == "Job":
                        metrics.record_job_created(
                            seconds=time.monotonic() - started,
                            upstream_finished=upstream_times.latest(node),
                            now=datetime.now(timezone.utc),
                        )
                    if created:
                        logger.info(
                            "[%s/%s] created %s %s for node %s",
                            namespace, name, kind, create.manifest["metadata"]["name"], node, extra=fields,
                        )
            return None

        results = await asyncio.gather(*(create_node(node, creates) for node, creates in per_node.items()))
        return {node: message for node, message in (r for r in results if r is not None)}

    async def _apply_one(self, namespace: str, name: str, action: planner.Action, body: Mapping[str, Any]) -> None:
        fields = {"namespace": namespace, "workflow": name}
        if isinstance(action, planner.Create):
            manifest = action.manifest
            if await asyncio.to_thread(self.kube.create, manifest):
                logger.info("[%s/%s] created %s %s", namespace, name, manifest["kind"], manifest["metadata"]["name"],
                            extra=fields)
        elif isinstance(action, planner.Delete):
            await asyncio.to_thread(self.kube.delete, kind=action.kind, namespace=namespace, name=action.name)
            if action.kind == "Job":
                fields["job"] = action.name
            if action.node is not None:
                fields["node"] = action.node
            logger.info("[%s/%s] deleted %s %s (node %s)", namespace, name, action.kind, action.name, action.node,
                        extra=fields)
        elif isinstance(action, planner.Patch):
            await asyncio.to_thread(
                self.kube.patch, kind=action.kind, namespace=namespace, name=action.name, patch=action.patch
            )
            logger.info("[%s/%s] patched %s %s", namespace, name, action.kind, action.name, extra=fields)
        elif isinstance(action, planner.DeleteCollection):
            await asyncio.to_thread(
                self.kube.delete_collection, kind=action.kind, namespace=namespace, label_selector=action.label_selector
            )
            logger.info("[%s/%s] deleted %s objects matching %s", namespace, name, action.kind, action.label_selector,
                        extra=fields)
        elif isinstance(action, planner.DeleteWorkflow):
            await asyncio.to_thread(self.kube.delete_workflow, namespace, name, body["metadata"]["uid"])
            logger.info("[%s/%s] deleted the workflow: its time to live after finishing has passed", namespace, name,
                        extra=fields)
