"""Local stand-ins for Jobs and pods that `stage2 run` feeds to the planner.

`stage2 run` feeds the planner `JobView`s and `PodView`s built here, so the
local run follows the controller's rules. A `LocalJob` behaves like a
Kubernetes Job with `restartPolicy: Never`. A failed attempt starts a new
one until `backoffLimit` failures have been retried. The pod's `activeDeadlineSeconds` fails one attempt with reason
`DeadlineExceeded`, and the Job's own `activeDeadlineSeconds`, counted from
its start across attempts, fails the Job with that reason.
The executors that run the attempts are in `executors`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import naming
from ..observe import JobView, LauncherReport, PodView, parse_report
from ..payload import INPUTS_ROOT, OUTPUTS_ROOT
from ..status import timestamp

PYTHON_NAMES = ("python", "python3")


def local_payload(payload: Mapping[str, Any], *, run_dir: Path, node: str) -> dict[str, Any]:
    """Rewrite the container paths of a payload to the run directory.

    `/stage2/inputs/<port>/<upstream>/X` becomes `<run_dir>/<upstream>/X` and
    `/stage2/outputs/<port>/data` becomes `<run_dir>/<node>/data`.
    """
    result = json.loads(json.dumps(payload))
    for port, paths in (result.get("inputs") or {}).items():
        prefix = f"{INPUTS_ROOT}/{port}/"
        rewritten = []
        for path in paths:
            if path.startswith(prefix):
                upstream, _, rest = path[len(prefix):].partition("/")
                path = str(run_dir / upstream / rest) if rest else str(run_dir / upstream)
            rewritten.append(path)
        result["inputs"][port] = rewritten
    for port, base in (result.get("outputs") or {}).items():
        prefix = f"{OUTPUTS_ROOT}/{port}/"
        if base.startswith(prefix):
            result["outputs"][port] = str(run_dir / node / base[len(prefix):])
    return result


def find_operation_folder(
    name: str, *, manifest: Path | None, command: Sequence[str], search_dirs: Sequence[Path] = ()
) -> Path | None:
    """Find the folder an Operation's command runs in.

    Candidates, in order: the folder of the Operation's manifest file, each
    `--operations-dir` entry joined with the name, then
    `examples/operations/<name>` in the manifest's folder or any folder above
    it, then in the working directory. A candidate must contain the command's
    script when the command names one (`python stage2_interface.py`).
    """
    script = _script_of(command)
    candidates: list[Path] = []
    if manifest is not None:
        candidates.append(manifest.resolve().parent)
    candidates += [Path(directory) / name for directory in search_dirs]
    if manifest is not None:
        candidates += [parent / "examples" / "operations" / name for parent in manifest.resolve().parents]
    candidates.append(Path.cwd() / "examples" / "operations" / name)
    for candidate in candidates:
        if not candidate.is_dir():
            continue
        if script is not None and not (candidate / script).is_file():
            continue
        if script is None and not (candidate / "operation.yaml").is_file():
            continue
        return candidate
    return None


def _script_of(command: Sequence[str]) -> str | None:
    if len(command) >= 2 and Path(command[0]).name in PYTHON_NAMES and command[1].endswith(".py"):
        return command[1]
    return None


@dataclass
class Attempt:
    number: int
    pod: str
    created: str
    handle: Any
    phase: str = "Running"
    exit_code: int | None = None
    report: LauncherReport | None = None
    finished_at: str | None = None
    terminated_reason: str | None = None
    reason: str | None = None
    started: float = 0.0


@dataclass
class LocalJob:
    """A Job of one node and its attempts, advanced by `poll`."""

    manifest: dict[str, Any]
    node: str
    operation: str
    payload: dict[str, Any]
    created: str
    started: float
    attempts: list[Attempt] = field(default_factory=list)
    complete: bool = False
    failed_reason: str | None = None
    failed_message: str | None = None
    completion_time: str | None = None
    finished: float | None = None
    deleting: bool = False

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    @property
    def backoff_limit(self) -> int:
        return int(self.manifest["spec"].get("backoffLimit") or 0)

    @property
    def deadline(self) -> float | None:
        """The Job's deadline in seconds, across all attempts."""
        seconds = self.manifest["spec"].get("activeDeadlineSeconds")
        return float(seconds) if seconds else None

    @property
    def attempt_deadline(self) -> float | None:
        """The pod's deadline in seconds, for one attempt."""
        seconds = self.manifest["spec"]["template"]["spec"].get("activeDeadlineSeconds")
        return float(seconds) if seconds else None

    @property
    def active(self) -> bool:
        return any(attempt.phase == "Running" for attempt in self.attempts)

    @property
    def failed(self) -> int:
        return sum(1 for attempt in self.attempts if attempt.phase == "Failed")

    def start_attempt(self, executor: Executor) -> None:
        number = len(self.attempts) + 1
        handle = executor.start(self, number)
        self.attempts.append(
            Attempt(number=number, pod=f"{self.name}-{number:03d}", created=timestamp_now(), handle=handle,
                    started=time.monotonic())
        )

    def poll(self, executor: Executor, now: float) -> None:
        """Collect finished attempts, start retries, and enforce the deadline."""
        if self.complete or self.failed_reason or self.deleting:
            return
        current = self.attempts[-1]
        if current.phase == "Running":
            if self.deadline is not None and now - self.started >= self.deadline:
                executor.stop(current.handle)
                self._finish_attempt(current, executor, killed=True)
                self._fail("DeadlineExceeded", "Job was active longer than specified deadline", now)
                return
            if self.attempt_deadline is not None and now - current.started >= self.attempt_deadline:
                # As the kubelet does for a pod's activeDeadlineSeconds: the attempt fails and counts as a failure.
                executor.stop(current.handle)
                self._finish_attempt(current, executor, killed=True)
                current.reason = "DeadlineExceeded"
            elif executor.exit_code(current.handle) is None:
                return
            else:
                self._finish_attempt(current, executor, killed=False)
        if current.phase == "Succeeded":
            self.complete = True
            self.completion_time = timestamp_now()
            self.finished = now
        elif self.failed > self.backoff_limit:
            self._fail("BackoffLimitExceeded", "Job has reached the specified backoff limit", now)
        else:
            self.start_attempt(executor)

    def _finish_attempt(self, attempt: Attempt, executor: Executor, *, killed: bool) -> None:
        returncode = executor.exit_code(attempt.handle)
        attempt.report = executor.read_report(self)
        if attempt.report is not None and attempt.report.exit_code is not None and not killed:
            attempt.exit_code = attempt.report.exit_code
        elif returncode is not None:
            attempt.exit_code = 128 - returncode if returncode < 0 else returncode
        attempt.finished_at = timestamp_now()
        attempt.phase = "Succeeded" if attempt.exit_code == 0 and not killed else "Failed"
        attempt.terminated_reason = "Completed" if attempt.phase == "Succeeded" else "Error"

    def _fail(self, reason: str, message: str, now: float) -> None:
        self.failed_reason = reason
        self.failed_message = message
        self.finished = now

    def delete(self, executor: Executor) -> None:
        """Stop a running attempt, as deleting a Job with background propagation does."""
        for attempt in self.attempts:
            if attempt.phase == "Running":
                executor.stop(attempt.handle)
                self._finish_attempt(attempt, executor, killed=True)
        self.deleting = True
        self.finished = self.finished or time.monotonic()

    def job_view(self, run: str) -> JobView:
        annotations = self.manifest["metadata"].get("annotations") or {}
        return JobView(
            name=self.name,
            workflow=str(self.manifest["metadata"]["annotations"][naming.ANNOTATION_WORKFLOW]),
            node=self.node,
            run=run,
            uid=f"local-{self.name}",
            created=self.created,
            deleting=self.deleting,
            active=1 if self.active else 0,
            ready=1 if self.active else 0,
            succeeded=1 if self.complete else 0,
            failed=self.failed,
            complete=self.complete,
            failed_reason=self.failed_reason,
            failed_message=self.failed_message,
            start_time=self.created,
            completion_time=self.completion_time,
            output_port=annotations.get(naming.ANNOTATION_OUTPUT_PORT) or None,
            sink=(annotations[naming.ANNOTATION_OUTPUT_PORT] == "") if naming.ANNOTATION_OUTPUT_PORT in annotations else None,
        )

    def pod_views(self) -> list[PodView]:
        return [
            PodView(
                name=attempt.pod,
                job=self.name,
                phase=attempt.phase,
                created=attempt.created,
                deleting=False,
                exit_code=attempt.exit_code,
                terminated_reason=attempt.terminated_reason,
                finished_at=attempt.finished_at,
                report=attempt.report,
                reason=attempt.reason,
            )
            for attempt in self.attempts
        ]


def timestamp_now() -> str:
    from datetime import datetime, timezone

    return timestamp(datetime.now(timezone.utc))


class Executor(Protocol):
    def start(self, job: LocalJob, attempt: int) -> Any: ...

    def exit_code(self, handle: Any) -> int | None: ...

    def stop(self, handle: Any) -> None: ...

    def read_report(self, job: LocalJob) -> LauncherReport | None: ...
