"""The pure heart of the controller: from desired and observed state to actions and status.

`plan()` takes a Workflow (spec and last status), its Operations, the Jobs and
pods it owns and the current time, and returns the objects to create or
delete, the complete new status, the Events to post and when to look again.
It performs no I/O and imports neither kopf nor a Kubernetes client, so the
controller, the local runner and the tests share it. One pass is linear in
nodes plus edges; only nodes about to start get a payload built.

Running the same inputs twice gives the same plan, and a plan computed from
the state that the previous plan produced contains no actions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import builders, naming, payload
from . import status as st
from .models import NodePhase, OperationSpec, WorkflowNode, WorkflowPhase, WorkflowSpec
from .observe import JobView, PodView
from .validation import format_errors, validate_workflow

# Fields that steer a run without changing what it computes: editing them
# never starts a new run.
LIFECYCLE_FIELDS = frozenset(
    {"suspend", "shutdown", "rerun", "ttlSecondsAfterFinished", "activeDeadlineSeconds", "parallelism"}
)
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
MAX_MESSAGE_ERRORS = 20
MAX_NODE_MESSAGE = 512


@dataclass(frozen=True)
class Settings:
    """Controller settings that change decisions (the Helm chart sets them)."""

    image_pull_grace_seconds: float = 120.0
    default_storage_class: str | None = None


@dataclass(frozen=True)
class WorkflowMeta:
    name: str
    namespace: str
    uid: str
    generation: int


@dataclass(frozen=True)
class Create:
    manifest: dict[str, Any]
    node: str | None = None


@dataclass(frozen=True)
class Delete:
    api_version: str
    kind: str
    name: str
    node: str | None = None


@dataclass(frozen=True)
class DeleteCollection:
    """Delete every object of a kind matching a label selector (children of older runs)."""

    api_version: str
    kind: str
    label_selector: str


@dataclass(frozen=True)
class DeleteWorkflow:
    """Delete the Workflow itself: its time to live after finishing has passed."""


Action = Create | Delete | DeleteCollection | DeleteWorkflow


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None

    def wake_in(self, seconds: float) -> None:
        seconds = max(seconds, 1.0)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Hash the parts of the spec that define what a run computes."""
    essence = {key: value for key, value in spec.items() if key not in LIFECYCLE_FIELDS}
    encoded = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def _clip(text: str | None, limit: int = MAX_NODE_MESSAGE) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def _compact(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if value not in (None, [], "")}


@dataclass
class _NodeState:
    """Mutable working copy of one node's status during a pass."""

    phase: NodePhase = NodePhase.PENDING
    job: str | None = None
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None
    outputs: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> _NodeState:
        if not data:
            return cls()
        return cls(
            phase=NodePhase(data.get("phase", NodePhase.PENDING)),
            job=data.get("job"),
            attempts=int(data.get("attempts") or 0),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            exit_code=data.get("exitCode"),
            reason=data.get("reason"),
            message=data.get("message"),
            outputs=list(data.get("outputs") or []),
        )

    def dump(self) -> dict[str, Any]:
        return _compact(
            {
                "phase": self.phase.value,
                "job": self.job,
                "attempts": self.attempts or None,
                "startedAt": self.started_at,
                "finishedAt": self.finished_at,
                "exitCode": self.exit_code,
                "reason": self.reason,
                "message": _clip(self.message),
                "outputs": self.outputs,
            }
        )

    @property
    def terminal(self) -> bool:
        return self.phase in st.TERMINAL_NODE

    def finish(self, phase: NodePhase, *, reason: str | None, message: str | None, now: str) -> None:
        self.phase = phase
        self.reason = reason
        self.message = message
        self.finished_at = self.finished_at or now


def _latest(pods: Sequence[PodView]) -> PodView | None:
    return max(pods, key=lambda pod: (pod.created or "", pod.name), default=None)


def _observe_succeeded(
    state: _NodeState, job: JobView, pods: Sequence[PodView], operation: OperationSpec, now: str
) -> None:
    finished = job.completion_time or now
    state.exit_code = 0
    if operation.output is None:
        state.finish(NodePhase.SUCCEEDED, reason=None, message=None, now=finished)
        return
    reports = [pod.report for pod in pods if pod.phase == "Succeeded" and pod.report is not None]
    if not reports:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_MISSING_OUTPUT,
            message="the Job completed, but no pod report of its outputs is left; rerun the node",
            now=finished,
        )
        return
    entries = reports[-1].outputs
    base = payload.output_base(port=operation.output.name)
    if not entries:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_MISSING_OUTPUT,
            message=f"the command exited 0 but wrote nothing at {base}; write {base}.<ext> or a directory {base}/",
            now=finished,
        )
        return
    if len(entries) > 1:
        names = ", ".join(entry.name for entry in entries)
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_AMBIGUOUS_OUTPUT,
            message=f"the command wrote several outputs ({names}); write exactly one of {base}.<ext> or {base}/",
            now=finished,
        )
        return
    state.outputs = [entries[0].name]
    state.finish(NodePhase.SUCCEEDED, reason=None, message=None, now=finished)


def _observe_failed(state: _NodeState, job: JobView, pods: Sequence[PodView], now: str) -> None:
    finished = job.completion_time or now
    failed_pods = [pod for pod in pods if pod.phase == "Failed"]
    last = _latest(failed_pods)
    if last is not None:
        state.exit_code = last.exit_code
    if job.failed_reason == "DeadlineExceeded":
        state.finish(
            NodePhase.FAILED, reason=st.NODE_DEADLINE, message=_clip(job.failed_message) or "timed out", now=finished
        )
        return
    if last is not None and last.terminated_reason == "OOMKilled":
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_OOM,
            message="the container exceeded its memory limit; raise resources.limits.memory",
            now=finished,
        )
        return
    if last is not None and last.report is not None and last.report.error:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_START_ERROR,
            message=f"the command could not be started: {last.report.error}",
            now=finished,
        )
        return
    if last is not None and last.exit_code is not None:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_EXIT_CODE,
            message=f"exit code {last.exit_code} after {state.attempts} attempt(s); see the pod log of {last.name}",
            now=finished,
        )
        return
    state.finish(
        NodePhase.FAILED,
        reason=job.failed_reason or "Failed",
        message=_clip(job.failed_message) or "the Job failed",
        now=finished,
    )


def _observe_node(
    *,
    state: _NodeState,
    job: JobView,
    pods: Sequence[PodView],
    operation: OperationSpec,
    now: datetime,
    settings: Settings,
    plan: Plan,
) -> bool:
    """Update a started node from its Job and pods; return True when its Job must be deleted."""
    stamp = st.timestamp(now)
    state.job = job.name
    state.started_at = state.started_at or job.start_time or job.created or stamp
    state.attempts = max(1, job.failed + (1 if job.active or job.succeeded else 0))
    if job.complete:
        _observe_succeeded(state, job, pods, operation, stamp)
        return False
    if job.failed_reason is not None:
        _observe_failed(state, job, pods, stamp)
        return False

    state.phase = NodePhase.RUNNING
    state.reason = None
    state.message = None
    pod = _latest([p for p in pods if not p.deleting])
    if pod is None:
        return False
    if pod.waiting_reason in IMAGE_PULL_REASONS:
        created = st.parse_timestamp(pod.created) or now
        waited = (now - created).total_seconds()
        detail = f"image {operation.image}: {pod.waiting_reason}"
        if pod.waiting_message:
            detail += f": {pod.waiting_message}"
        if waited >= settings.image_pull_grace_seconds:
            state.finish(
                NodePhase.FAILED,
                reason=st.NODE_IMAGE_PULL,
                message=f"{detail} (waited {int(waited)}s); fix the image name or make it pullable",
                now=stamp,
            )
            return True
        state.reason = st.NODE_IMAGE_PULL
        state.message = f"{detail}; failing after {int(settings.image_pull_grace_seconds)}s"
        plan.wake_in(settings.image_pull_grace_seconds - waited)
    elif pod.unschedulable:
        state.reason = st.NODE_UNSCHEDULABLE
        state.message = pod.unschedulable
    elif pod.waiting_reason and pod.waiting_reason not in ("ContainerCreating", "PodInitializing"):
        state.reason = pod.waiting_reason
        state.message = pod.waiting_message
    return False


def _invalid_plan(
    *, meta: WorkflowMeta, previous: Mapping[str, Any], errors_text: str, now: datetime
) -> Plan:
    phase = WorkflowPhase.FAILED
    message = f"invalid spec: {errors_text}"
    conditions = st.kstatus_conditions(
        list(previous.get("conditions") or []),
        phase=phase,
        reason=st.REASON_INVALID_SPEC,
        message=message,
        generation=meta.generation,
        now=now,
    )
    status: dict[str, Any] = {
        "observedGeneration": meta.generation,
        "phase": phase.value,
        "message": message,
        "conditions": conditions,
        "finishedAt": previous.get("finishedAt") if previous.get("phase") == phase.value else st.timestamp(now),
    }
    for key in ("run", "specHash", "startedAt", "progress", "claim", "nodes"):
        if previous.get(key) is not None and previous.get("specHash") is not None:
            status[key] = previous[key]
    plan = Plan(status=status)
    if previous.get("message") != message:
        plan.events.append(Event(type="Warning", reason=st.REASON_INVALID_SPEC, message=_clip(message, 1024) or ""))
    return plan


def plan(
    *,
    meta: WorkflowMeta,
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    operations: Mapping[str, OperationSpec | None],
    jobs: Sequence[JobView],
    pods: Mapping[str, Sequence[PodView]],
    now: datetime,
    settings: Settings,
    rejected: Mapping[str, str] | None = None,
    invalid_operations: Collection[str] = (),
) -> Plan:
    """Compute the actions and the new status of one Workflow from what is observed.

    `operations` maps each referenced Operation to its parsed spec, or None
    when it is missing or invalid; `invalid_operations` names the invalid ones.
    `rejected` maps nodes whose Job or ConfigMap the API server rejected as
    invalid to its message; those nodes fail instead of being created again.
    """
    previous: Mapping[str, Any] = status or {}
    workflow, errors = validate_workflow(
        spec,
        name=meta.name,
        namespace=meta.namespace,
        operations=operations,
        invalid_operations=invalid_operations,
    )
    if errors or workflow is None:
        return _invalid_plan(
            meta=meta, previous=previous, errors_text=format_errors(errors, limit=MAX_MESSAGE_ERRORS), now=now
        )

    digest = spec_hash(spec)
    stamp = st.timestamp(now)
    result = Plan()
    same_run = previous.get("specHash") == digest and previous.get("run") is not None
    if same_run:
        run = str(previous["run"])
        started_at = previous.get("startedAt")
        finished_at = previous.get("finishedAt")
        claim = previous.get("claim")
        states = {node.name: _NodeState.load((previous.get("nodes") or {}).get(node.name)) for node in workflow.nodes}
        previous_phase = WorkflowPhase(previous.get("phase", WorkflowPhase.PENDING))
    else:
        run = str(meta.generation)
        started_at = finished_at = claim = None
        states = {node.name: _NodeState() for node in workflow.nodes}
        previous_phase = WorkflowPhase(previous.get("phase", WorkflowPhase.PENDING)) if previous else None
        if previous.get("run") is not None:
            selector = (
                f"{naming.LABEL_WORKFLOW}={naming.label_value(meta.name)},{naming.LABEL_RUN}!={naming.label_value(run)}"
            )
            result.actions.append(DeleteCollection(api_version="v1", kind="ConfigMap", label_selector=selector))
            result.actions.append(
                DeleteCollection(api_version="v1", kind="PersistentVolumeClaim", label_selector=selector)
            )
            result.events.append(
                Event(type="Normal", reason="RunStarted", message=f"the spec changed; starting run {run}")
            )

    # Jobs of other runs are left over from an earlier spec: remove them.
    current_jobs: dict[str, JobView] = {}
    for job in jobs:
        if job.run != naming.label_value(run):
            if not job.deleting:
                result.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=job.node))
        elif job.node in states:
            current_jobs[job.node] = job

    owner = builders.Owner(name=meta.name, namespace=meta.namespace, uid=meta.uid)
    nodes_by_name = {node.name: node for node in workflow.nodes}
    newly_failed: list[str] = []

    # Observe every started node.
    for node in workflow.nodes:
        state = states[node.name]
        if state.terminal:
            continue
        operation = operations[node.operation]
        job = current_jobs.get(node.name)
        if operation is None or job is None or job.deleting:
            continue
        delete_job = _observe_node(
            state=state,
            job=job,
            pods=pods.get(job.name, ()),
            operation=operation,
            now=now,
            settings=settings,
            plan=result,
        )
        if delete_job:
            result.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=node.name))
        if state.phase == NodePhase.FAILED:
            newly_failed.append(node.name)

    _apply_lifecycle(
        workflow=workflow, states=states, current_jobs=current_jobs, started_at=started_at, now=now, plan=result
    )

    any_failed = any(state.phase == NodePhase.FAILED for state in states.values())
    stopping = workflow.shutdown is not None or any_failed
    if stopping:
        _skip_pending(workflow=workflow, states=states, stamp=stamp, reason=_skip_reason(workflow, any_failed))
    elif not workflow.suspend:
        claim = _start_ready_nodes(
            meta=meta,
            owner=owner,
            run=run,
            workflow=workflow,
            nodes_by_name=nodes_by_name,
            operations=operations,
            states=states,
            current_jobs=current_jobs,
            claim=claim,
            stamp=stamp,
            settings=settings,
            plan=result,
            newly_failed=newly_failed,
            rejected=rejected or {},
        )
        if any(states[name].phase == NodePhase.FAILED for name in newly_failed):
            _skip_pending(workflow=workflow, states=states, stamp=stamp, reason=st.NODE_WORKFLOW_FAILED)

    phase, reason, message = _workflow_phase(workflow=workflow, states=states)
    if phase != WorkflowPhase.PENDING and started_at is None:
        started_at = stamp
    if phase in st.TERMINAL_WORKFLOW:
        finished_at = finished_at or stamp
    else:
        finished_at = None

    counts = st.count_phases([state.phase for state in states.values()])
    new_status: dict[str, Any] = _compact(
        {
            "observedGeneration": meta.generation,
            "run": run,
            "specHash": digest,
            "phase": phase.value,
            "progress": st.progress(counts, len(states)),
            "startedAt": started_at,
            "finishedAt": finished_at,
            "message": message,
            "claim": claim,
        }
    )
    new_status["conditions"] = st.kstatus_conditions(
        list(previous.get("conditions") or []),
        phase=phase,
        reason=reason,
        message=message,
        generation=meta.generation,
        now=now,
    )
    new_status["nodes"] = {node.name: states[node.name].dump() for node in workflow.nodes}
    result.status = new_status

    _collect_events(previous=previous, previous_phase=previous_phase, phase=phase, message=message,
                    states=states, plan=result)
    _schedule_ttl(workflow=workflow, phase=phase, finished_at=finished_at, now=now, plan=result)
    if workflow.active_deadline_seconds and started_at and phase not in st.TERMINAL_WORKFLOW:
        started = st.parse_timestamp(started_at) or now
        result.wake_in(workflow.active_deadline_seconds - (now - started).total_seconds())
    return result


def _skip_reason(workflow: WorkflowSpec, any_failed: bool) -> str:
    if workflow.shutdown is not None and not any_failed:
        return st.NODE_CANCELLED if workflow.shutdown.value == "Cancel" else st.NODE_STOPPED
    return st.NODE_WORKFLOW_FAILED


def _skip_pending(*, workflow: WorkflowSpec, states: dict[str, _NodeState], stamp: str, reason: str) -> None:
    """Mark every node that has not started as Skipped; nodes downstream of a failure say so."""
    failed = {name for name, state in states.items() if state.phase == NodePhase.FAILED}
    for node in workflow.nodes:
        state = states[node.name]
        if state.phase != NodePhase.PENDING:
            continue
        upstreams = {upstream for wired in node.inputs.values() for upstream in wired}
        blocked = upstreams & (failed | {n for n, s in states.items() if s.reason == st.NODE_UPSTREAM_FAILED})
        if blocked:
            state.finish(
                NodePhase.SKIPPED,
                reason=st.NODE_UPSTREAM_FAILED,
                message=f"upstream {sorted(blocked)[0]} did not succeed",
                now=stamp,
            )
        else:
            state.finish(NodePhase.SKIPPED, reason=reason, message=None, now=stamp)


def _apply_lifecycle(
    *,
    workflow: WorkflowSpec,
    states: dict[str, _NodeState],
    current_jobs: Mapping[str, JobView],
    started_at: str | None,
    now: datetime,
    plan: Plan,
) -> None:
    """Cancel running nodes on `shutdown: Cancel` or when the workflow deadline has passed."""
    stamp = st.timestamp(now)
    reason = None
    message = None
    if workflow.shutdown is not None and workflow.shutdown.value == "Cancel":
        reason, message = st.NODE_CANCELLED, "cancelled by spec.shutdown"
    elif workflow.active_deadline_seconds and started_at:
        started = st.parse_timestamp(started_at) or now
        if (now - started).total_seconds() >= workflow.active_deadline_seconds:
            reason = st.NODE_DEADLINE
            message = f"the workflow passed spec.activeDeadlineSeconds ({workflow.active_deadline_seconds}s)"
    if reason is None:
        return
    for name, state in states.items():
        if state.phase != NodePhase.RUNNING:
            continue
        job = current_jobs.get(name)
        if job is not None and not job.deleting:
            plan.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=name))
        state.finish(NodePhase.FAILED, reason=reason, message=message, now=stamp)


def _start_ready_nodes(
    *,
    meta: WorkflowMeta,
    owner: builders.Owner,
    run: str,
    workflow: WorkflowSpec,
    nodes_by_name: Mapping[str, WorkflowNode],
    operations: Mapping[str, OperationSpec | None],
    states: dict[str, _NodeState],
    current_jobs: Mapping[str, JobView],
    claim: str | None,
    stamp: str,
    settings: Settings,
    plan: Plan,
    newly_failed: list[str],
    rejected: Mapping[str, str],
) -> str | None:
    """Create the claim, payload ConfigMap and Job of every node whose upstreams all succeeded."""
    running = sum(1 for state in states.values() if state.phase == NodePhase.RUNNING)
    budget = (workflow.parallelism - running) if workflow.parallelism else len(states)
    for node in workflow.nodes:
        state = states[node.name]
        job = current_jobs.get(node.name)
        # A Running node whose Job is gone (deleted by hand, or not yet seen
        # by the index) gets its Job created again; a 409 means it exists.
        missing_job = state.phase == NodePhase.RUNNING and job is None
        if state.phase != NodePhase.PENDING and not missing_job:
            continue
        if job is not None:
            continue
        upstreams = [upstream for wired in node.inputs.values() for upstream in wired]
        if any(states[upstream].phase != NodePhase.SUCCEEDED for upstream in upstreams):
            continue
        if not missing_job:
            if budget <= 0:
                continue
            budget -= 1
        operation = operations[node.operation]
        if operation is None:
            continue
        if node.name in rejected:
            state.finish(NodePhase.FAILED, reason=st.NODE_JOB_REJECTED, message=rejected[node.name], now=stamp)
            newly_failed.append(node.name)
            continue
        upstream_outputs = {upstream: (states[upstream].outputs or [payload.OUTPUT_BASENAME])[0] for upstream in upstreams}
        body = payload.build_payload(
            workflow=meta.name,
            namespace=meta.namespace,
            node=node,
            operation_name=node.operation,
            operation=operation,
            run=run,
            attempt=1,
            upstream_outputs=upstream_outputs,
        )
        size = payload.encoded_size(body)
        if size > payload.MAX_ARGUMENT_BYTES:
            state.finish(
                NodePhase.FAILED,
                reason=st.NODE_PAYLOAD_TOO_LARGE,
                message=f"the payload is {size} bytes, over the {payload.MAX_ARGUMENT_BYTES}-byte argument limit; "
                "move large parameter values into an input file",
                now=stamp,
            )
            newly_failed.append(node.name)
            continue
        if claim is None:
            if workflow.storage.existing_claim:
                claim = workflow.storage.existing_claim
            else:
                manifest = builders.build_claim(
                    owner=owner, run=run, spec=workflow, default_storage_class=settings.default_storage_class
                )
                plan.actions.append(Create(manifest=manifest))
                claim = str(manifest["metadata"]["name"])
        configmap = builders.build_payload_configmap(owner=owner, run=run, node=node, payload=body)
        job_manifest = builders.build_job(
            owner=owner,
            run=run,
            spec=workflow,
            node=node,
            operation=operation,
            claim=claim,
            configmap=str(configmap["metadata"]["name"]),
        )
        plan.actions.append(Create(manifest=configmap, node=node.name))
        plan.actions.append(Create(manifest=job_manifest, node=node.name))
        state.phase = NodePhase.RUNNING
        state.job = str(job_manifest["metadata"]["name"])
        state.started_at = state.started_at or stamp
        state.attempts = max(state.attempts, 1)
    return claim


def _workflow_phase(*, workflow: WorkflowSpec, states: Mapping[str, _NodeState]) -> tuple[WorkflowPhase, str, str]:
    counts = st.count_phases([state.phase for state in states.values()])
    total = len(states)
    summary = st.summary(counts, total)
    failed = [name for name in states if states[name].phase == NodePhase.FAILED]
    running = counts[NodePhase.RUNNING]

    if workflow.shutdown is not None and workflow.shutdown.value == "Cancel" and not running:
        return WorkflowPhase.CANCELLED, st.REASON_CANCELLED, f"cancelled by spec.shutdown; {summary}"
    deadline = [name for name in failed if states[name].reason == st.NODE_DEADLINE and states[name].job is not None]
    if failed:
        first = failed[0]
        detail = f"node {first} failed: {states[first].reason}"
        if states[first].message:
            detail += f" ({states[first].message})"
        reason = st.REASON_DEADLINE if deadline and len(deadline) == len(failed) else st.REASON_NODE_FAILED
        if running:
            return WorkflowPhase.RUNNING, reason, f"{detail}; waiting for {running} running node(s); {summary}"
        return WorkflowPhase.FAILED, reason, f"{detail}; {summary}"
    if workflow.shutdown is not None:
        if running:
            return WorkflowPhase.RUNNING, st.REASON_STOPPED, f"stopping: waiting for {running} running node(s); {summary}"
        if counts[NodePhase.SUCCEEDED] < total:
            return WorkflowPhase.FAILED, st.REASON_STOPPED, f"stopped by spec.shutdown; {summary}"
    if counts[NodePhase.SUCCEEDED] == total:
        return WorkflowPhase.SUCCEEDED, st.REASON_SUCCEEDED, summary
    started = any(state.phase != NodePhase.PENDING for state in states.values())
    if workflow.suspend:
        phase = WorkflowPhase.RUNNING if started else WorkflowPhase.PENDING
        return phase, st.REASON_SUSPENDED, f"suspended; {summary}"
    if not started:
        return WorkflowPhase.PENDING, st.REASON_PENDING, summary
    return WorkflowPhase.RUNNING, st.REASON_RUNNING, summary


def _collect_events(
    *,
    previous: Mapping[str, Any],
    previous_phase: WorkflowPhase | None,
    phase: WorkflowPhase,
    message: str,
    states: Mapping[str, _NodeState],
    plan: Plan,
) -> None:
    if previous_phase != phase:
        kind = "Warning" if phase in (WorkflowPhase.FAILED, WorkflowPhase.CANCELLED) else "Normal"
        plan.events.append(Event(type=kind, reason=f"Workflow{phase.value}", message=_clip(message, 1024) or ""))
    previous_nodes = previous.get("nodes") or {}
    for name, state in states.items():
        was = (previous_nodes.get(name) or {}).get("phase")
        if state.phase == NodePhase.FAILED and was != NodePhase.FAILED.value:
            text = f"node {name} failed: {state.reason}"
            if state.message:
                text += f" ({state.message})"
            plan.events.append(Event(type="Warning", reason="NodeFailed", message=_clip(text, 1024) or ""))


def _schedule_ttl(
    *, workflow: WorkflowSpec, phase: WorkflowPhase, finished_at: str | None, now: datetime, plan: Plan
) -> None:
    if workflow.ttl_seconds_after_finished is None or phase not in st.TERMINAL_WORKFLOW or not finished_at:
        return
    finished = st.parse_timestamp(finished_at) or now
    remaining = workflow.ttl_seconds_after_finished - (now - finished).total_seconds()
    if remaining <= 0:
        plan.actions.append(DeleteWorkflow())
    else:
        plan.wake_in(remaining)
