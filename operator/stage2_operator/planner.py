"""The pure heart of the controller: from desired and observed state to actions and status.

`plan()` takes a Workflow (spec and last status), its Operations, the Jobs,
pods and payload ConfigMaps it owns, and the current time. It returns the
objects to create, patch or delete, the complete new status, the Events to
post and when to look again. It performs no I/O and imports neither kopf nor
a Kubernetes client, so the controller, the local runner and the tests share
it. A pass is linear in nodes plus edges; only nodes about to start get a
payload built.

Planning again from the state that a plan produced yields no actions, so the
reconciler can run as often as events arrive.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from . import builders, naming, payload
from . import status as st
from .actions import (
    Action,
    Create,
    Delete,
    DeleteCollection,
    DeleteWorkflow,
    Event,
    Patch,
    Plan,
    Settings,
    WorkflowMeta,
)
from .models import ClaimRetention, NodePhase, OperationSpec, WorkflowNode, WorkflowPhase, WorkflowSpec
from .nodestate import NodeState, clip, compact, dump_states, load_states, observe_node
from .observe import JobView, PodView
from .validation import SpecError, format_errors, validate_workflow
from .workflowphase import collect_events, schedule_ttl, workflow_phase

__all__ = [
    "Action", "Create", "Delete", "DeleteCollection", "DeleteWorkflow", "Event", "Patch", "Plan",
    "Settings", "Validated", "WorkflowMeta", "plan", "spec_hash", "validate",
]

# Fields that steer a run without changing what it computes: editing them
# never starts a new run.
LIFECYCLE_FIELDS = frozenset(
    {
        "suspend", "shutdown", "rerun", "parallelism", "activeDeadlineSeconds",
        "ttlSecondsAfterFinished", "ttlSecondsAfterSuccess", "ttlSecondsAfterFailure",
    }
)
MAX_MESSAGE_ERRORS = 20
# Status fields that record a valid run; a later invalid spec keeps them.
RUN_RECORD_FIELDS = (
    "run", "specHash", "startedAt", "progress", "claim", "claimRetained", "rerun",
    "nodes", "succeeded", "skipped", "reruns",
)
# A payload ConfigMap missing from the index this long after its Job was
# created was deleted by someone, not merely not yet seen by the watch.
CONFIGMAP_GRACE_SECONDS = 10
_NODE_PATH = re.compile(r"^spec\.nodes\[([a-z0-9-]+)\]")


def spec_hash(spec: Mapping[str, Any]) -> str:
    """Hash the parts of the spec that define what a run computes."""
    essence = {key: value for key, value in spec.items() if key not in LIFECYCLE_FIELDS}
    encoded = json.dumps(essence, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


@dataclass
class _Pass:
    """State shared by the steps of one planning pass."""

    meta: WorkflowMeta
    workflow: WorkflowSpec
    operations: Mapping[str, OperationSpec | None]
    settings: Settings
    now: datetime
    stamp: str
    run: str
    states: dict[str, NodeState]
    result: Plan
    claim: str | None
    claim_retained: bool
    broken_nodes: dict[str, str]
    nodes_by_name: dict[str, WorkflowNode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes_by_name = {node.name: node for node in self.workflow.nodes}

    @property
    def owner(self) -> builders.Owner:
        return builders.Owner(name=self.meta.name, namespace=self.meta.namespace, uid=self.meta.uid)

    def expected_job(self, node: str) -> str:
        return naming.job_name(workflow=self.meta.name, run=self.run, node=node, rerun=self.states[node].rerun)


def _invalid_plan(*, meta: WorkflowMeta, previous: Mapping[str, Any], errors_text: str, now: datetime) -> Plan:
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
    finished = previous.get("finishedAt") if previous.get("phase") == phase.value else st.timestamp(now)
    status: dict[str, Any] = {
        "observedGeneration": meta.generation,
        "phase": phase.value,
        "message": message,
        "conditions": conditions,
        "finishedAt": finished,
    }
    # Keep the record of an earlier valid run, so its children stay known.
    if previous.get("specHash") is not None:
        for key in RUN_RECORD_FIELDS:
            if previous.get(key) is not None:
                status[key] = previous[key]
    result = Plan(status=status)
    if previous.get("message") != message:
        result.events.append(Event(type="Warning", reason=st.REASON_INVALID_SPEC, message=clip(message, 1024) or ""))
    return result


def _missing_operations(
    spec: Mapping[str, Any],
    operations: Mapping[str, OperationSpec | None],
    invalid_operations: Collection[str],
    errors: Sequence[SpecError],
) -> list[str]:
    """Return the missing Operations when they are the only problem, else an empty list.

    An Operation applied together with its Workflow (one `kubectl apply`, or a
    GitOps sync) may arrive second; that is a wait, not an invalid spec.
    """
    nodes = spec.get("nodes") if isinstance(spec.get("nodes"), list) else []
    operation_of = {
        str(node.get("name")): str(node.get("operation")) for node in nodes if isinstance(node, dict)
    }
    missing: set[str] = set()
    for error in errors:
        match = _NODE_PATH.match(error.path)
        if match is None or error.path != f"spec.nodes[{match.group(1)}].operation":
            return []
        operation = operation_of.get(match.group(1))
        if operation is None or operation in invalid_operations or operations.get(operation) is not None:
            return []
        missing.add(operation)
    return sorted(missing)


def _waiting_plan(*, meta: WorkflowMeta, previous: Mapping[str, Any], missing: list[str], now: datetime) -> Plan:
    """Report a Workflow whose Operations are not there yet as Pending, creating nothing."""
    names = ", ".join(missing)
    message = f"waiting for Operation(s) {names} in namespace {meta.namespace}; apply them or fix the names"
    phase = WorkflowPhase.PENDING
    status: dict[str, Any] = {
        "observedGeneration": meta.generation,
        "phase": phase.value,
        "message": message,
        "conditions": st.kstatus_conditions(
            list(previous.get("conditions") or []),
            phase=phase, reason=st.REASON_WAITING_FOR_OPERATIONS, message=message,
            generation=meta.generation, now=now,
        ),
    }
    if previous.get("specHash") is not None:
        for key in RUN_RECORD_FIELDS:
            if previous.get(key) is not None:
                status[key] = previous[key]
    result = Plan(status=status)
    if previous.get("message") != message:
        result.events.append(Event(type="Warning", reason=st.REASON_WAITING_FOR_OPERATIONS, message=message))
    return result


def _errors_by_node(errors: Sequence[SpecError]) -> dict[str, str] | None:
    """Group errors by node; None when some error concerns the Workflow as a whole."""
    grouped: dict[str, str] = {}
    for error in errors:
        match = _NODE_PATH.match(error.path)
        if match is None:
            return None
        grouped.setdefault(match.group(1), str(error))
    return grouped


@dataclass(frozen=True)
class Validated:
    """Outcome of validating a Workflow: the parsed spec, or the errors that fail it.

    `broken_nodes` names nodes that no longer fit their Operation during a run.
    """

    workflow: WorkflowSpec | None
    broken_nodes: dict[str, str]
    errors: list[SpecError]
    digest: str
    same_run: bool


def validate(
    *,
    meta: WorkflowMeta,
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None,
    operations: Mapping[str, OperationSpec | None],
    invalid_operations: Collection[str] = (),
) -> Validated:
    """Validate a Workflow for `plan()`; the caller may reuse the result while nothing it read changes."""
    previous: Mapping[str, Any] = status or {}
    digest = spec_hash(spec)
    same_run = previous.get("specHash") == digest and previous.get("run") is not None
    workflow, broken_nodes, errors = _validated(
        meta=meta, spec=spec, operations=operations, invalid_operations=invalid_operations, same_run=same_run
    )
    return Validated(workflow=workflow, broken_nodes=broken_nodes, errors=errors, digest=digest, same_run=same_run)


def _validated(
    *,
    meta: WorkflowMeta,
    spec: Mapping[str, Any],
    operations: Mapping[str, OperationSpec | None],
    invalid_operations: Collection[str],
    same_run: bool,
) -> tuple[WorkflowSpec | None, dict[str, str], list[SpecError]]:
    """Validate the Workflow against its Operations.

    While a run is in progress, the graph itself was valid when it started,
    so errors that name single nodes can only come from Operations edited or
    deleted since. Those do not fail the run: they fail the affected nodes
    when (and if) those nodes are due to start.
    """
    workflow, errors = validate_workflow(
        spec, name=meta.name, namespace=meta.namespace, operations=operations, invalid_operations=invalid_operations
    )
    if not errors:
        return workflow, {}, []
    if same_run:
        broken = _errors_by_node(errors)
        if broken is not None:
            try:
                return WorkflowSpec.model_validate(spec), broken, []
            except ValidationError:
                pass
    return None, {}, errors


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
    configmaps: Collection[str] | None = None,
    rejected: Mapping[str, str] | None = None,
    invalid_operations: Collection[str] = (),
    validated: Validated | None = None,
) -> Plan:
    """Compute the actions and the new status of one Workflow from what is observed.

    `operations` maps each referenced Operation to its parsed spec, or None
    when it is missing or invalid; `invalid_operations` names the invalid ones.
    `configmaps` contains the names of the payload ConfigMaps that exist, or None
    when unknown. `rejected` maps nodes whose Job or ConfigMap the API server
    rejected as invalid to its message; those nodes fail instead of being
    created again. `validated` is the result of `validate()` for the same
    inputs, when the caller kept it; otherwise the spec is validated here.
    """
    previous: Mapping[str, Any] = status or {}
    if validated is None:
        validated = validate(
            meta=meta, spec=spec, status=status, operations=operations, invalid_operations=invalid_operations
        )
    workflow, broken_nodes, errors = validated.workflow, validated.broken_nodes, validated.errors
    digest, same_run = validated.digest, validated.same_run
    if workflow is None:
        missing = _missing_operations(spec, operations, invalid_operations, errors)
        if missing:
            return _waiting_plan(meta=meta, previous=previous, missing=missing, now=now)
        return _invalid_plan(
            meta=meta, previous=previous, errors_text=format_errors(errors, limit=MAX_MESSAGE_ERRORS), now=now
        )

    step = _begin(
        meta=meta, workflow=workflow, previous=previous, same_run=same_run, operations=operations,
        settings=settings, now=now, broken_nodes=broken_nodes,
    )
    current_jobs = _match_jobs(step, jobs)
    _observe_started(step, current_jobs, pods)
    _repair_payloads(step, current_jobs, configmaps)
    _apply_lifecycle(step, current_jobs, started_at=previous.get("startedAt") if same_run else None)

    any_failed = any(state.phase == NodePhase.FAILED for state in step.states.values())
    if workflow.shutdown is not None or any_failed:
        _skip_pending(step, reason=_skip_reason(workflow, any_failed))
    elif not workflow.suspend:
        _start_ready_nodes(step, current_jobs, rejected or {})
        if any(state.phase == NodePhase.FAILED for state in step.states.values()):
            _skip_pending(step, reason=st.NODE_WORKFLOW_FAILED)

    phase, reason, message = workflow_phase(workflow=workflow, states=step.states)
    started_at = previous.get("startedAt") if same_run else None
    finished_at = previous.get("finishedAt") if same_run else None
    if phase != WorkflowPhase.PENDING and started_at is None:
        started_at = step.stamp
    finished_at = (finished_at or step.stamp) if phase in st.TERMINAL_WORKFLOW else None
    _retain_claim(step, phase)

    counts = st.count_phases([state.phase for state in step.states.values()])
    new_status = compact(
        {
            "observedGeneration": meta.generation,
            "run": step.run,
            "specHash": digest,
            "rerun": workflow.rerun,
            "phase": phase.value,
            "progress": st.progress(counts, len(step.states)),
            "startedAt": started_at,
            "finishedAt": finished_at,
            "message": message,
            "claim": step.claim,
            "claimRetained": step.claim_retained or None,
        }
    )
    new_status["conditions"] = st.kstatus_conditions(
        list(previous.get("conditions") or []),
        phase=phase, reason=reason, message=message, generation=meta.generation, now=now,
    )
    new_status.update(dump_states(step.states, [node.name for node in workflow.nodes]))
    step.result.status = new_status

    previous_phase = WorkflowPhase(previous["phase"]) if previous.get("phase") else None
    collect_events(previous=previous, previous_phase=previous_phase, phase=phase, message=message,
                   states=step.states, plan=step.result)
    schedule_ttl(workflow=workflow, phase=phase, finished_at=finished_at, now=now, plan=step.result)
    if workflow.active_deadline_seconds and started_at and phase not in st.TERMINAL_WORKFLOW:
        started = st.parse_timestamp(started_at) or now
        step.result.wake_in(workflow.active_deadline_seconds - (now - started).total_seconds())
    return step.result


def _begin(
    *,
    meta: WorkflowMeta,
    workflow: WorkflowSpec,
    previous: Mapping[str, Any],
    same_run: bool,
    operations: Mapping[str, OperationSpec | None],
    settings: Settings,
    now: datetime,
    broken_nodes: dict[str, str],
) -> _Pass:
    """Continue the current run, rerun its failed nodes, or start a new run."""
    result = Plan()
    stamp = st.timestamp(now)
    if same_run:
        states = load_states(previous, [node.name for node in workflow.nodes])
        step = _Pass(
            meta=meta, workflow=workflow, operations=operations, settings=settings, now=now, stamp=stamp,
            run=str(previous["run"]), states=states, result=result, claim=previous.get("claim"),
            claim_retained=bool(previous.get("claimRetained")), broken_nodes=broken_nodes,
        )
        if workflow.rerun is not None and workflow.rerun != previous.get("rerun"):
            _rerun(step)
        return step

    run = str(meta.generation)
    if previous.get("run") is not None:
        selector = ",".join(
            [
                f"{naming.LABEL_WORKFLOW}={naming.label_value(meta.name)}",
                f"{naming.LABEL_RUN}!={naming.label_value(run)}",
                f"!{naming.LABEL_RETAINED}",
            ]
        )
        result.actions.append(DeleteCollection(api_version="v1", kind="ConfigMap", label_selector=selector))
        result.actions.append(DeleteCollection(api_version="v1", kind="PersistentVolumeClaim", label_selector=selector))
        result.events.append(Event(type="Normal", reason="RunStarted", message=f"the spec changed; starting run {run}"))
    return _Pass(
        meta=meta, workflow=workflow, operations=operations, settings=settings, now=now, stamp=stamp, run=run,
        states={node.name: NodeState() for node in workflow.nodes}, result=result, claim=None,
        claim_retained=False, broken_nodes=broken_nodes,
    )


def _rerun(step: _Pass) -> None:
    """Make failed and skipped nodes pending again; succeeded nodes keep their outputs."""
    again = [name for name, state in step.states.items() if state.phase in (NodePhase.FAILED, NodePhase.SKIPPED)]
    for name in again:
        step.states[name].reset_for_rerun()
    if step.claim_retained and step.claim and not step.workflow.storage.existing_claim:
        # The failed run let go of its claim; take it back for the rerun.
        step.result.actions.append(
            Patch(
                api_version="v1", kind="PersistentVolumeClaim", name=step.claim,
                patch={"metadata": {"ownerReferences": [step.owner.reference()],
                                    "labels": {naming.LABEL_RETAINED: None}}},
            )
        )
        step.claim_retained = False
    if again:
        step.result.events.append(
            Event(type="Normal", reason="RerunStarted", message=f"rerunning {len(again)} failed or skipped node(s)")
        )


def _match_jobs(step: _Pass, jobs: Sequence[JobView]) -> dict[str, JobView]:
    """Pair each node with its current Job; delete Jobs of older runs and older reruns."""
    current: dict[str, JobView] = {}
    run_label = naming.label_value(step.run)
    for job in jobs:
        current_run = job.run == run_label and job.node in step.states
        if current_run and job.name == step.expected_job(job.node):
            current[job.node] = job
        elif not job.deleting:
            step.result.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=job.node))
    return current


def _observe_started(step: _Pass, current_jobs: Mapping[str, JobView], pods: Mapping[str, Sequence[PodView]]) -> None:
    for node in step.workflow.nodes:
        state = step.states[node.name]
        operation = step.operations.get(node.operation)
        job = current_jobs.get(node.name)
        if state.terminal or job is None or job.deleting:
            continue
        delete_job, recheck = observe_node(
            state=state, job=job, pods=pods.get(job.name, ()), operation=operation, now=step.now,
            image_pull_grace_seconds=step.settings.image_pull_grace_seconds,
        )
        if delete_job:
            step.result.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=node.name))
        if recheck is not None:
            step.result.wake_in(recheck)


def _node_payload(step: _Pass, name: str) -> dict[str, Any] | None:
    node = step.nodes_by_name[name]
    operation = step.operations.get(node.operation)
    if operation is None:
        return None
    upstreams = [upstream for wired in node.inputs.values() for upstream in wired]
    outputs = {up: (step.states[up].outputs or [payload.OUTPUT_BASENAME])[0] for up in upstreams}
    return payload.build_payload(
        workflow=step.meta.name, namespace=step.meta.namespace, node=node, operation_name=node.operation,
        operation=operation, run=step.run, attempt=1, upstream_outputs=outputs,
    )


def _repair_payloads(step: _Pass, current_jobs: Mapping[str, JobView], configmaps: Collection[str] | None) -> None:
    """Recreate the payload ConfigMap of a running node when someone deleted it."""
    if configmaps is None:
        return
    for name, job in current_jobs.items():
        state = step.states[name]
        if state.phase != NodePhase.RUNNING or job.deleting:
            continue
        configmap = naming.payload_configmap_name(
            workflow=step.meta.name, run=step.run, node=name, rerun=state.rerun
        )
        created = st.parse_timestamp(job.created)
        if configmap in configmaps or created is None:
            continue
        if (step.now - created).total_seconds() < CONFIGMAP_GRACE_SECONDS:
            continue
        body = _node_payload(step, name)
        node = step.nodes_by_name[name]
        if body is not None:
            manifest = builders.build_payload_configmap(
                owner=step.owner, run=step.run, node=node, payload=body, rerun=state.rerun
            )
            step.result.actions.append(Create(manifest=manifest, node=name))


def _skip_reason(workflow: WorkflowSpec, any_failed: bool) -> str:
    if workflow.shutdown is not None and not any_failed:
        return st.NODE_CANCELLED if workflow.shutdown.value == "Cancel" else st.NODE_STOPPED
    return st.NODE_WORKFLOW_FAILED


def _skip_pending(step: _Pass, *, reason: str) -> None:
    """Mark every node that has not started as Skipped, naming the failed upstream where there is one."""
    blocked_by: set[str] = {name for name, state in step.states.items() if state.phase == NodePhase.FAILED}
    for node in step.workflow.nodes:
        state = step.states[node.name]
        if state.phase != NodePhase.PENDING:
            if state.phase == NodePhase.SKIPPED and state.reason == st.NODE_UPSTREAM_FAILED:
                blocked_by.add(node.name)
            continue
        upstreams = sorted({up for wired in node.inputs.values() for up in wired} & blocked_by)
        if upstreams:
            state.finish(NodePhase.SKIPPED, reason=st.NODE_UPSTREAM_FAILED,
                         message=f"upstream {upstreams[0]} did not succeed", now=step.stamp)
            blocked_by.add(node.name)
        else:
            state.finish(NodePhase.SKIPPED, reason=reason, message=None, now=step.stamp)


def _apply_lifecycle(step: _Pass, current_jobs: Mapping[str, JobView], *, started_at: str | None) -> None:
    """Stop running nodes on `shutdown: Cancel` or when the workflow deadline has passed."""
    workflow = step.workflow
    reason = message = None
    if workflow.shutdown is not None and workflow.shutdown.value == "Cancel":
        reason, message = st.NODE_CANCELLED, "cancelled by spec.shutdown"
    elif workflow.active_deadline_seconds and started_at:
        started = st.parse_timestamp(started_at) or step.now
        if (step.now - started).total_seconds() >= workflow.active_deadline_seconds:
            reason = st.NODE_DEADLINE
            message = f"the workflow passed spec.activeDeadlineSeconds ({workflow.active_deadline_seconds}s)"
    if reason is None:
        return
    for name, state in step.states.items():
        if state.phase != NodePhase.RUNNING:
            continue
        job = current_jobs.get(name)
        if job is not None and not job.deleting:
            step.result.actions.append(Delete(api_version="batch/v1", kind="Job", name=job.name, node=name))
        state.finish(NodePhase.FAILED, reason=reason, message=message, now=step.stamp)


def _ensure_claim(step: _Pass) -> str:
    if step.claim is None:
        if step.workflow.storage.existing_claim:
            step.claim = step.workflow.storage.existing_claim
        else:
            manifest = builders.build_claim(
                owner=step.owner, run=step.run, spec=step.workflow,
                default_storage_class=step.settings.default_storage_class,
            )
            step.result.actions.append(Create(manifest=manifest))
            step.claim = str(manifest["metadata"]["name"])
            step.claim_retained = step.workflow.storage.retention == ClaimRetention.RETAIN
    return step.claim


def _start_ready_nodes(step: _Pass, current_jobs: Mapping[str, JobView], rejected: Mapping[str, str]) -> None:
    """Create the claim, payload ConfigMap and Job of every node whose upstreams all succeeded."""
    workflow = step.workflow
    running = sum(1 for state in step.states.values() if state.phase == NodePhase.RUNNING)
    budget = (workflow.parallelism - running) if workflow.parallelism else len(step.states)
    for node in workflow.nodes:
        state = step.states[node.name]
        # A Running node whose Job is gone (deleted by hand, or not yet seen
        # by the watch) gets its Job created again. A 409 then means it exists.
        missing_job = state.phase == NodePhase.RUNNING and node.name not in current_jobs
        if (state.phase != NodePhase.PENDING and not missing_job) or node.name in current_jobs:
            continue
        upstreams = [upstream for wired in node.inputs.values() for upstream in wired]
        if any(step.states[upstream].phase != NodePhase.SUCCEEDED for upstream in upstreams):
            continue
        if not missing_job:
            if budget <= 0:
                continue
            budget -= 1
        if node.name in step.broken_nodes or step.operations.get(node.operation) is None:
            detail = step.broken_nodes.get(node.name, f"Operation {node.operation} is not available")
            state.finish(NodePhase.FAILED, reason=st.NODE_OPERATION_CHANGED,
                         message=f"the Operation changed after the run started: {detail}", now=step.stamp)
            continue
        if node.name in rejected:
            state.finish(NodePhase.FAILED, reason=st.NODE_JOB_REJECTED, message=rejected[node.name], now=step.stamp)
            continue
        _create_node(step, node.name)


def _create_node(step: _Pass, name: str) -> None:
    state = step.states[name]
    node = step.nodes_by_name[name]
    operation = step.operations[node.operation]
    body = _node_payload(step, name)
    if operation is None or body is None:
        return
    size = payload.encoded_size(body)
    if size > payload.MAX_ARGUMENT_BYTES:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_PAYLOAD_TOO_LARGE,
            message=f"the payload is {size} bytes, over the {payload.MAX_ARGUMENT_BYTES}-byte argument limit; "
            "move large parameter values into an input file",
            now=step.stamp,
        )
        return
    claim = _ensure_claim(step)
    configmap = builders.build_payload_configmap(owner=step.owner, run=step.run, node=node, payload=body,
                                                 rerun=state.rerun)
    job = builders.build_job(
        owner=step.owner, run=step.run, spec=step.workflow, node=node, operation=operation, claim=claim,
        configmap=str(configmap["metadata"]["name"]), rerun=state.rerun,
    )
    step.result.actions.append(Create(manifest=configmap, node=name))
    step.result.actions.append(Create(manifest=job, node=name))
    state.phase = NodePhase.RUNNING
    state.job = str(job["metadata"]["name"])
    state.started_at = state.started_at or step.stamp
    state.attempts = max(state.attempts, 1)


def _retain_claim(step: _Pass, phase: WorkflowPhase) -> None:
    """Release a failed run's claim from the Workflow under the RetainOnFailure policy."""
    storage = step.workflow.storage
    failed = phase in (WorkflowPhase.FAILED, WorkflowPhase.CANCELLED)
    if (
        not failed
        or step.claim is None
        or step.claim_retained
        or storage.existing_claim
        or storage.retention != ClaimRetention.RETAIN_ON_FAILURE
    ):
        return
    step.result.actions.append(
        Patch(
            api_version="v1",
            kind="PersistentVolumeClaim",
            name=step.claim,
            patch={
                "metadata": {
                    "ownerReferences": None,
                    "labels": {naming.LABEL_RETAINED: "true"},
                    "annotations": {
                        naming.ANNOTATION_RETAINED_FROM: f"{step.meta.namespace}/{step.meta.name} run {step.run}"
                    },
                }
            },
        )
    )
    step.claim_retained = True
