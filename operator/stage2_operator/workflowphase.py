"""The Workflow's phase, its Events and its time to live, from the nodes' states."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import status as st
from .actions import DeleteWorkflow, Event, Plan
from .models import NodePhase, Shutdown, WorkflowPhase, WorkflowSpec
from .nodestate import NodeState, clip, status_entries


def workflow_phase(*, workflow: WorkflowSpec, states: Mapping[str, NodeState]) -> tuple[WorkflowPhase, str, str]:
    """Return the phase, the condition reason and the status message."""
    counts = st.count_phases([state.phase for state in states.values()])
    total = len(states)
    summary = st.summary(counts, total)
    failed = [name for name in states if states[name].phase == NodePhase.FAILED]
    running = counts[NodePhase.RUNNING]

    if workflow.shutdown == Shutdown.CANCEL and not running:
        return WorkflowPhase.CANCELLED, st.REASON_CANCELLED, f"cancelled by spec.shutdown; {summary}"
    if failed:
        first = failed[0]
        detail = f"node {first} failed: {states[first].reason}"
        if states[first].message:
            detail += f" ({states[first].message})"
        deadline = all(states[name].reason == st.NODE_DEADLINE for name in failed)
        reason = st.REASON_DEADLINE if deadline else st.REASON_NODE_FAILED
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


def collect_events(
    *,
    previous: Mapping[str, Any],
    previous_phase: WorkflowPhase | None,
    phase: WorkflowPhase,
    message: str,
    states: Mapping[str, NodeState],
    plan: Plan,
) -> None:
    """Add one Event per phase change and one per node that newly failed."""
    if previous_phase != phase:
        kind = "Warning" if phase in (WorkflowPhase.FAILED, WorkflowPhase.CANCELLED) else "Normal"
        plan.events.append(Event(type=kind, reason=f"Workflow{phase.value}", message=clip(message, 1024) or ""))
    previous_nodes = status_entries(previous)
    for name, state in states.items():
        before = previous_nodes.get(name) or {}
        if state.phase != NodePhase.FAILED:
            continue
        if before.get("phase") == NodePhase.FAILED.value and int(before.get("rerun") or 0) == state.rerun:
            continue
        text = f"node {name} failed: {state.reason}"
        if state.message:
            text += f" ({state.message})"
        plan.events.append(Event(type="Warning", reason="NodeFailed", message=clip(text, 1024) or ""))


def time_to_live(workflow: WorkflowSpec, phase: WorkflowPhase) -> int | None:
    """Return the seconds a finished Workflow is kept, by outcome, or None to keep it."""
    if phase == WorkflowPhase.SUCCEEDED and workflow.ttl_seconds_after_success is not None:
        return workflow.ttl_seconds_after_success
    if phase in (WorkflowPhase.FAILED, WorkflowPhase.CANCELLED) and workflow.ttl_seconds_after_failure is not None:
        return workflow.ttl_seconds_after_failure
    return workflow.ttl_seconds_after_finished


def schedule_ttl(
    *, workflow: WorkflowSpec, phase: WorkflowPhase, finished_at: str | None, now: datetime, plan: Plan
) -> None:
    ttl = time_to_live(workflow, phase)
    if ttl is None or phase not in st.TERMINAL_WORKFLOW or not finished_at:
        return
    finished = st.parse_timestamp(finished_at) or now
    remaining = ttl - (now - finished).total_seconds()
    if remaining <= 0:
        plan.actions.append(DeleteWorkflow())
    else:
        plan.wake_in(remaining)
