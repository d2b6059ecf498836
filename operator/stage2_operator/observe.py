"""Small projections of the Jobs and pods a Workflow owns.

The controller's kopf indexes keep these instead of whole bodies (a pod's
`managedFields` alone can be kilobytes), and the planner reads only them.
Both functions take a raw object body and return None for objects that are
not ours.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from . import naming


@dataclass(frozen=True)
class OutputEntry:
    name: str
    kind: str


@dataclass(frozen=True)
class LauncherReport:
    """The launcher's report in the termination message, written when the command exited."""

    exit_code: int | None
    attempt: int | None
    outputs: tuple[OutputEntry, ...] = ()
    unexpected: int = 0
    error: str | None = None


@dataclass(frozen=True)
class PodView:
    name: str
    job: str
    phase: str
    created: str | None
    deleting: bool
    waiting_reason: str | None = None
    waiting_message: str | None = None
    exit_code: int | None = None
    terminated_reason: str | None = None
    finished_at: str | None = None
    report: LauncherReport | None = None
    unschedulable: str | None = None
    disrupted: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class JobView:
    name: str
    workflow: str
    node: str
    run: str
    uid: str
    created: str | None
    deleting: bool
    active: int = 0
    ready: int = 0
    succeeded: int = 0
    failed: int = 0
    complete: bool = False
    failed_reason: str | None = None
    failed_message: str | None = None
    start_time: str | None = None
    completion_time: str | None = None
    conditions: tuple[str, ...] = field(default=())
    output_port: str | None = None
    sink: bool | None = None


def owner_workflow(body: Mapping[str, Any]) -> str | None:
    """Return the name of the Workflow that controls this object, if any."""
    for reference in body.get("metadata", {}).get("ownerReferences") or []:
        if reference.get("kind") == "Workflow" and reference.get("apiVersion", "").startswith(naming.GROUP_PREFIX):
            return str(reference.get("name"))
    return None


def parse_report(message: str | None) -> LauncherReport | None:
    if not message:
        return None
    try:
        data = json.loads(message)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    outputs = tuple(
        OutputEntry(name=str(entry.get("name")), kind=str(entry.get("kind", "file")))
        for entry in data.get("outputs") or []
        if isinstance(entry, dict) and entry.get("name")
    )
    return LauncherReport(
        exit_code=data.get("exitCode"),
        attempt=data.get("attempt"),
        outputs=outputs,
        unexpected=int(data.get("unexpected") or 0),
        error=data.get("error"),
    )


def job_view(body: Mapping[str, Any]) -> JobView | None:
    metadata = body.get("metadata", {})
    annotations = metadata.get("annotations") or {}
    labels = metadata.get("labels") or {}
    workflow = annotations.get(naming.ANNOTATION_WORKFLOW)
    node = annotations.get(naming.ANNOTATION_NODE)
    run = labels.get(naming.LABEL_RUN)
    if not workflow or not node or run is None:
        return None
    status = body.get("status") or {}
    complete = False
    failed_reason = failed_message = None
    condition_types = []
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        condition_types.append(condition.get("type", ""))
        if condition.get("type") == "Complete":
            complete = True
        elif condition.get("type") == "Failed":
            failed_reason = condition.get("reason") or "Failed"
            failed_message = condition.get("message") or ""
    return JobView(
        name=metadata.get("name", ""),
        workflow=workflow,
        node=node,
        run=run,
        uid=metadata.get("uid", ""),
        created=metadata.get("creationTimestamp"),
        deleting=metadata.get("deletionTimestamp") is not None,
        active=int(status.get("active") or 0),
        ready=int(status.get("ready") or 0),
        succeeded=int(status.get("succeeded") or 0),
        failed=int(status.get("failed") or 0),
        complete=complete,
        failed_reason=failed_reason,
        failed_message=failed_message,
        start_time=status.get("startTime"),
        completion_time=status.get("completionTime"),
        conditions=tuple(condition_types),
        output_port=annotations.get(naming.ANNOTATION_OUTPUT_PORT) or None,
        sink=(annotations[naming.ANNOTATION_OUTPUT_PORT] == "") if naming.ANNOTATION_OUTPUT_PORT in annotations else None,
    )


def pod_view(body: Mapping[str, Any]) -> PodView | None:
    metadata = body.get("metadata", {})
    labels = metadata.get("labels") or {}
    job = labels.get("job-name") or labels.get("batch.kubernetes.io/job-name")
    if not job or naming.LABEL_NODE not in labels:
        return None
    status = body.get("status") or {}
    waiting_reason = waiting_message = None
    exit_code = None
    terminated_reason = finished_at = None
    report = None
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state:
            waiting_reason = state["waiting"].get("reason")
            waiting_message = state["waiting"].get("message")
        if "terminated" in state:
            terminated = state["terminated"]
            exit_code = terminated.get("exitCode")
            terminated_reason = terminated.get("reason")
            finished_at = terminated.get("finishedAt")
            report = parse_report(terminated.get("message"))
    unschedulable = None
    disrupted = False
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            unschedulable = condition.get("message") or condition.get("reason") or "Unschedulable"
        if condition.get("type") == "DisruptionTarget" and condition.get("status") == "True":
            disrupted = True
    return PodView(
        name=metadata.get("name", ""),
        job=job,
        phase=status.get("phase") or "Pending",
        created=metadata.get("creationTimestamp"),
        deleting=metadata.get("deletionTimestamp") is not None,
        waiting_reason=waiting_reason,
        waiting_message=waiting_message,
        exit_code=exit_code,
        terminated_reason=terminated_reason,
        finished_at=finished_at,
        report=report,
        unschedulable=unschedulable,
        disrupted=disrupted,
        reason=status.get("reason"),
    )
