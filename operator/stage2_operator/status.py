"""Condition reasons, kstatus conditions and the human summary of a Workflow.

kstatus (used by Flux, Argo CD and `kubectl wait`) reads `Ready`,
`Reconciling` and `Stalled`. A finished success is `Ready=True` and a run in
progress is `Reconciling=True`. A terminal failure is `Stalled=True`, because
`Ready=False` alone means "not there yet", not "failed".
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from .models import NodePhase, WorkflowPhase

READY = "Ready"
RECONCILING = "Reconciling"
STALLED = "Stalled"

# Workflow condition reasons.
REASON_PENDING = "Pending"
REASON_RUNNING = "Running"
REASON_SUSPENDED = "Suspended"
REASON_SUCCEEDED = "Succeeded"
REASON_NODE_FAILED = "NodeFailed"
REASON_INVALID_SPEC = "InvalidSpec"
REASON_STOPPED = "Stopped"
REASON_CANCELLED = "Cancelled"
REASON_DEADLINE = "DeadlineExceeded"
REASON_VALID = "Valid"
REASON_WAITING_FOR_OPERATIONS = "WaitingForOperations"

# Node reasons.
NODE_EXIT_CODE = "Error"
NODE_OOM = "OOMKilled"
NODE_DEADLINE = "DeadlineExceeded"
NODE_IMAGE_PULL = "ImagePullFailed"
NODE_UNSCHEDULABLE = "Unschedulable"
NODE_MISSING_OUTPUT = "MissingOutput"
NODE_AMBIGUOUS_OUTPUT = "AmbiguousOutput"
NODE_PAYLOAD_TOO_LARGE = "PayloadTooLarge"
NODE_UPSTREAM_FAILED = "UpstreamFailed"
NODE_WORKFLOW_FAILED = "WorkflowFailed"
NODE_CANCELLED = "Cancelled"
NODE_STOPPED = "Stopped"
NODE_START_ERROR = "StartError"
NODE_JOB_REJECTED = "JobRejected"
NODE_RETRYING = "Retrying"
NODE_VOLUME_NOT_BOUND = "VolumeNotBound"
NODE_OPERATION_CHANGED = "OperationChanged"

TERMINAL_WORKFLOW = frozenset({WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.CANCELLED})
TERMINAL_NODE = frozenset({NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.SKIPPED})


def timestamp(moment: datetime) -> str:
    """Format a time as RFC 3339 in UTC with seconds, as Kubernetes does."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def set_condition(
    conditions: list[dict[str, Any]],
    *,
    type_: str,
    status: bool,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Return `conditions` with one condition set, keeping its transition time if unchanged."""
    value = "True" if status else "False"
    previous = next((c for c in conditions if c.get("type") == type_), None)
    transition = timestamp(now)
    if previous is not None and previous.get("status") == value:
        transition = previous.get("lastTransitionTime") or transition
    updated = {
        "type": type_,
        "status": value,
        "reason": reason,
        "message": message,
        "lastTransitionTime": transition,
        "observedGeneration": generation,
    }
    result = [c for c in conditions if c.get("type") != type_]
    result.append(updated)
    order = {READY: 0, RECONCILING: 1, STALLED: 2}
    return sorted(result, key=lambda c: (order.get(c.get("type", ""), 9), c.get("type", "")))


def kstatus_conditions(
    conditions: list[dict[str, Any]],
    *,
    phase: WorkflowPhase,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """Set Ready, Reconciling and Stalled from the phase."""
    succeeded = phase == WorkflowPhase.SUCCEEDED
    terminal_failure = phase in (WorkflowPhase.FAILED, WorkflowPhase.CANCELLED)
    in_progress = phase in (WorkflowPhase.PENDING, WorkflowPhase.RUNNING)
    result = set_condition(
        conditions, type_=READY, status=succeeded, reason=reason, message=message, generation=generation, now=now
    )
    result = set_condition(
        result,
        type_=RECONCILING,
        status=in_progress,
        reason=reason,
        message=message if in_progress else "",
        generation=generation,
        now=now,
    )
    return set_condition(
        result,
        type_=STALLED,
        status=terminal_failure,
        reason=reason,
        message=message if terminal_failure else "",
        generation=generation,
        now=now,
    )


def count_phases(phases: list[NodePhase]) -> Counter[NodePhase]:
    return Counter(phases)


def progress(counts: Counter[NodePhase], total: int) -> str:
    return f"{counts[NodePhase.SUCCEEDED]}/{total}"


def summary(counts: Counter[NodePhase], total: int) -> str:
    """Return a message that counts nodes, such as "3/5 nodes succeeded, 1 running, 1 pending"."""
    parts = [f"{counts[NodePhase.SUCCEEDED]}/{total} nodes succeeded"]
    for phase in (NodePhase.RUNNING, NodePhase.PENDING, NodePhase.FAILED, NodePhase.SKIPPED):
        if counts[phase]:
            parts.append(f"{counts[phase]} {phase.value.lower()}")
    return ", ".join(parts)
