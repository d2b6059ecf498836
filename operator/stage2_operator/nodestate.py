"""One node's status during a planning pass, and how a Job and its pods update it.

The planner loads each node's entry from the Workflow status, updates
started nodes from what their Job and pods show, and dumps the entries back.
A node in a terminal phase is never updated from observations again, so a
late or replayed event cannot flip it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from . import payload
from . import status as st
from .models import NodePhase, OperationSpec
from .observe import JobView, PodView

IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"})
STARTING_REASONS = frozenset({"ContainerCreating", "PodInitializing"})
MAX_NODE_MESSAGE = 512

# The Job controller waits 10 s before recreating a failed pod and doubles
# the delay after each failure, up to 6 minutes (Kubernetes Job documentation,
# "Pod backoff failure policy"). The next retry time shown is computed from
# these figures; the Job controller does not publish its own.
JOB_BACKOFF_BASE_SECONDS = 10
JOB_BACKOFF_MAX_SECONDS = 360


def clip(text: str | None, limit: int = MAX_NODE_MESSAGE) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def compact(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if value not in (None, [], "", 0) or key == "exitCode"}


def job_backoff_seconds(failures: int) -> int:
    """Return the Job controller's delay before the pod after `failures` failed pods."""
    if failures <= 0:
        return 0
    return int(min(JOB_BACKOFF_MAX_SECONDS, JOB_BACKOFF_BASE_SECONDS * 2 ** (failures - 1)))


@dataclass
class NodeState:
    """Mutable working copy of one node's status entry."""

    phase: NodePhase = NodePhase.PENDING
    job: str | None = None
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    reason: str | None = None
    message: str | None = None
    outputs: list[str] = field(default_factory=list)
    rerun: int = 0
    next_retry_at: str | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> NodeState:
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
            rerun=int(data.get("rerun") or 0),
            next_retry_at=data.get("nextRetryAt"),
        )

    def dump(self) -> dict[str, Any]:
        entry = compact(
            {
                "phase": self.phase.value,
                "job": self.job,
                "attempts": self.attempts,
                "startedAt": self.started_at,
                "finishedAt": self.finished_at,
                "exitCode": self.exit_code,
                "reason": self.reason,
                "message": clip(self.message),
                "outputs": self.outputs,
                "rerun": self.rerun,
                "nextRetryAt": self.next_retry_at,
            }
        )
        if self.exit_code is None:
            entry.pop("exitCode", None)
        return entry

    @property
    def terminal(self) -> bool:
        return self.phase in st.TERMINAL_NODE

    def finish(self, phase: NodePhase, *, reason: str | None, message: str | None, now: str) -> None:
        self.phase = phase
        self.reason = reason
        self.message = message
        self.next_retry_at = None
        self.finished_at = self.finished_at or now

    def reset_for_rerun(self) -> None:
        """Make a failed or skipped node pending again, under a new Job name."""
        self.rerun += 1
        self.phase = NodePhase.PENDING
        self.job = None
        self.attempts = 0
        self.started_at = self.finished_at = None
        self.exit_code = None
        self.reason = self.message = None
        self.outputs = []
        self.next_retry_at = None


def latest_pod(pods: Sequence[PodView]) -> PodView | None:
    return max(pods, key=lambda pod: (pod.created or "", pod.name), default=None)


def _output_port(job: JobView, operation: OperationSpec | None) -> str | None:
    """Return the output port the Job was started with (None for a sink)."""
    if job.sink is not None:
        return None if job.sink else job.output_port
    if operation is None:
        return payload.DEFAULT_OUTPUT_PORT
    return operation.output.name if operation.output else None


def _observe_succeeded(
    state: NodeState, job: JobView, pods: Sequence[PodView], operation: OperationSpec | None, now: str
) -> None:
    finished = job.completion_time or now
    state.exit_code = 0
    port = _output_port(job, operation)
    if port is None:
        state.finish(NodePhase.SUCCEEDED, reason=None, message=None, now=finished)
        return
    reports = [pod.report for pod in pods if pod.phase == "Succeeded" and pod.report is not None]
    base = payload.output_base(port=port)
    if not reports:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_MISSING_OUTPUT,
            message="the Job completed, but no pod report of its outputs is left; rerun the node",
            now=finished,
        )
        return
    entries = reports[-1].outputs
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


def _observe_failed(
    state: NodeState, job: JobView, pods: Sequence[PodView], operation: OperationSpec | None, now: str
) -> None:
    finished = job.completion_time or now
    last = latest_pod([pod for pod in pods if pod.phase == "Failed"])
    if last is not None:
        state.exit_code = last.exit_code
    if last is not None and last.waiting_reason in IMAGE_PULL_REASONS:
        # The attempt's deadline also counts time spent pulling, so a pull
        # that fails for longer than the timeout ends as DeadlineExceeded.
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_IMAGE_PULL,
            message=f"the image could not be pulled: {last.waiting_reason}: {last.waiting_message or ''}".rstrip(": ")
            + "; fix the image name or make it pullable",
            now=finished,
        )
    elif last is not None and last.reason == "DeadlineExceeded":
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_DEADLINE,
            message=f"attempt {state.attempts} ran longer than its timeoutSeconds; "
            "raise timeoutSeconds or make the operation faster",
            now=finished,
        )
    elif job.failed_reason == "DeadlineExceeded":
        state.finish(
            NodePhase.FAILED, reason=st.NODE_DEADLINE, message=clip(job.failed_message) or "timed out", now=finished
        )
    elif last is not None and last.terminated_reason == "OOMKilled":
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_OOM,
            message="the container exceeded its memory limit; raise resources.limits.memory",
            now=finished,
        )
    elif last is not None and last.report is not None and last.report.error:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_START_ERROR,
            message=f"the command could not be started: {last.report.error}",
            now=finished,
        )
    elif last is not None and last.exit_code is not None:
        state.finish(
            NodePhase.FAILED,
            reason=st.NODE_EXIT_CODE,
            message=f"exit code {last.exit_code} after {state.attempts} attempt(s); see the log of pod {last.name}",
            now=finished,
        )
    else:
        state.finish(
            NodePhase.FAILED,
            reason=job.failed_reason or "Failed",
            message=clip(job.failed_message) or "the Job failed",
            now=finished,
        )


def _observe_running(
    state: NodeState,
    job: JobView,
    pods: Sequence[PodView],
    operation: OperationSpec | None,
    now: datetime,
    image_pull_grace_seconds: float,
) -> tuple[bool, float | None]:
    """Describe a node whose Job is still active; return (fail it now, seconds until a recheck)."""
    stamp = st.timestamp(now)
    state.phase = NodePhase.RUNNING
    state.reason = state.message = state.next_retry_at = None
    live = [pod for pod in pods if not pod.deleting and pod.phase not in ("Succeeded", "Failed")]
    pod = latest_pod(live)
    if pod is None:
        if job.failed:
            # Between attempts: the Job controller recreates the pod after a backoff.
            failed_at = latest_pod([p for p in pods if p.phase == "Failed"])
            since = st.parse_timestamp(failed_at.finished_at if failed_at else None) or now
            retry_at = since + timedelta(seconds=job_backoff_seconds(job.failed))
            state.reason = st.NODE_RETRYING
            state.message = f"attempt {job.failed} failed; the Job starts attempt {job.failed + 1}"
            state.next_retry_at = st.timestamp(retry_at)
            return False, max((retry_at - now).total_seconds(), 0) + 1
        return False, None
    if pod.waiting_reason in IMAGE_PULL_REASONS:
        created = st.parse_timestamp(pod.created) or now
        waited = (now - created).total_seconds()
        image = operation.image if operation is not None else "of the node"
        detail = f"image {image}: {pod.waiting_reason}"
        if pod.waiting_message:
            detail += f": {pod.waiting_message}"
        if waited >= image_pull_grace_seconds:
            state.finish(
                NodePhase.FAILED,
                reason=st.NODE_IMAGE_PULL,
                message=f"{detail} (waited {int(waited)}s); fix the image name or make it pullable",
                now=stamp,
            )
            return True, None
        state.reason = st.NODE_IMAGE_PULL
        state.message = f"{detail}; failing after {int(image_pull_grace_seconds)}s"
        return False, image_pull_grace_seconds - waited
    if pod.unschedulable:
        unbound = "unbound" in pod.unschedulable.lower() or "persistentvolumeclaim" in pod.unschedulable.lower()
        state.reason = st.NODE_VOLUME_NOT_BOUND if unbound else st.NODE_UNSCHEDULABLE
        state.message = pod.unschedulable
    elif pod.waiting_reason and pod.waiting_reason not in STARTING_REASONS:
        state.reason = pod.waiting_reason
        state.message = pod.waiting_message
    elif job.failed:
        state.message = f"attempt {job.failed + 1} running after {job.failed} failed"
    return False, None


def observe_node(
    *,
    state: NodeState,
    job: JobView,
    pods: Sequence[PodView],
    operation: OperationSpec | None,
    now: datetime,
    image_pull_grace_seconds: float,
) -> tuple[bool, float | None]:
    """Update a started node from its Job and pods.

    `operation` is the Operation as it is now, or None when it was deleted.
    The Job's result is read by what the Job records about itself.
    Returns whether the planner must delete the Job (the node failed while
    the Job still runs, as after an image pull grace period), and in how many
    seconds the node should be looked at again, if a time-based change is due.
    """
    stamp = st.timestamp(now)
    state.job = job.name
    state.started_at = state.started_at or job.start_time or job.created or stamp
    state.attempts = max(1, job.failed + (1 if job.active or job.succeeded else 0))
    if job.complete:
        _observe_succeeded(state, job, pods, operation, stamp)
        return False, None
    if job.failed_reason is not None:
        _observe_failed(state, job, pods, operation, stamp)
        return False, None
    return _observe_running(state, job, pods, operation, now, image_pull_grace_seconds)


# Above this many nodes the status keeps full entries only for running and
# failed nodes. Succeeded and skipped nodes shrink to one map entry each, and
# pending nodes are left out. Spec and status of a 2,000-node Workflow then
# stay within 256 KiB, well under etcd's 1.5 MiB object limit.
COMPACT_STATUS_ABOVE = 200


def load_states(status: Mapping[str, Any], names: Sequence[str]) -> dict[str, NodeState]:
    """Read every node's state from a status written by `dump_states`, in either form."""
    entries = status.get("nodes") or {}
    succeeded = status.get("succeeded") or {}
    skipped = status.get("skipped") or {}
    reruns = status.get("reruns") or {}
    states: dict[str, NodeState] = {}
    for name in names:
        if name in entries:
            states[name] = NodeState.load(entries[name])
        elif name in succeeded:
            output = succeeded[name]
            states[name] = NodeState(
                phase=NodePhase.SUCCEEDED, outputs=[output] if output else [], rerun=int(reruns.get(name) or 0)
            )
        elif name in skipped:
            states[name] = NodeState(phase=NodePhase.SKIPPED, reason=skipped[name] or None,
                                     rerun=int(reruns.get(name) or 0))
        else:
            states[name] = NodeState(rerun=int(reruns.get(name) or 0))
    return states


def dump_states(states: Mapping[str, NodeState], names: Sequence[str]) -> dict[str, Any]:
    """Return the status fields that record the nodes: `nodes`, and in compact form also
    `succeeded`, `skipped` and `reruns`."""
    if len(names) <= COMPACT_STATUS_ABOVE:
        return {"nodes": {name: states[name].dump() for name in names}}
    nodes: dict[str, Any] = {}
    succeeded: dict[str, str] = {}
    skipped: dict[str, str] = {}
    reruns: dict[str, int] = {}
    for name in names:
        state = states[name]
        if state.phase == NodePhase.SUCCEEDED:
            succeeded[name] = state.outputs[0] if state.outputs else ""
        elif state.phase == NodePhase.SKIPPED:
            skipped[name] = state.reason or ""
        elif state.phase != NodePhase.PENDING:
            nodes[name] = state.dump()
            continue
        if state.rerun:
            reruns[name] = state.rerun
    fields: dict[str, Any] = {"nodes": nodes, "succeeded": succeeded, "skipped": skipped}
    if reruns:
        fields["reruns"] = reruns
    return fields


def status_entries(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Return one entry per recorded node, expanding the compact form, for readers of status.

    Pending nodes of a compact status have no entry.
    """
    entries: dict[str, dict[str, Any]] = {name: dict(entry) for name, entry in (status.get("nodes") or {}).items()}
    reruns = status.get("reruns") or {}
    for name, output in (status.get("succeeded") or {}).items():
        entries[name] = compact({"phase": NodePhase.SUCCEEDED.value, "outputs": [output] if output else [],
                                 "rerun": reruns.get(name)})
    for name, reason in (status.get("skipped") or {}).items():
        entries[name] = compact({"phase": NodePhase.SKIPPED.value, "reason": reason, "rerun": reruns.get(name)})
    return entries
