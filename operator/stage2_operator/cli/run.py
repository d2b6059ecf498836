"""`stage2 run`: run a Workflow on this machine, without a cluster, with the controller's planner.

The loop calls `planner.plan` with the current status and the observed local
Jobs and pods, applies its actions (a Job `Create` starts the node's first
attempt, a Job `Delete` stops it; claims, ConfigMaps and collections need no
local object), and repeats until the Workflow phase is terminal. So the
order, retries, skipping, parallelism, deadlines and status are the
controller's. Ctrl-C sets `spec.shutdown: Cancel`, as a user would on the
cluster; a second Ctrl-C stops at once.

Files under `<workdir>/<workflow>-<time>/`: one output directory per node,
and `_run/<node>/` with the node's payload, log and launcher report, plus
`_run/status.json` (the final Workflow status) and `_run/graph.svg`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from .. import planner
from ..status import TERMINAL_WORKFLOW
from .diagram import build_diagram, format_duration
from .documents import Document, InputError, expand_manifest_paths, parse_operations, pick_workflow, read_files
from .executors import RUN_METADATA, ContainerExecutor, ProcessExecutor
from .local import Executor, LocalJob, find_operation_folder
from .svg import render_svg
from .validate import check_documents
from ..nodestate import status_entries

POLL_SECONDS = 0.05
DEFAULT_WORKDIR = "stage2-runs"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "run",
        help="run a Workflow locally, without a cluster",
        description="Run a Workflow and its Operations on this machine with the controller's planner. "
        "Exit code 0: Succeeded; 1: Failed, Cancelled or invalid; 2: unreadable input.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest files with the Workflow and its Operations")
    parser.add_argument("--name", help="the Workflow to run when the files hold several")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR,
                        help=f"directory that receives one folder per run (default: ./{DEFAULT_WORKDIR})")
    parser.add_argument("--executor", choices=("process", "docker", "podman"), default="process",
                        help="process: run the command in the Operation's folder; docker or podman: run its image "
                        "(default: process)")
    parser.add_argument("--parallelism", type=int, metavar="N",
                        help="nodes run at once (default: spec.parallelism, else the CPU count)")
    parser.add_argument("--operations-from", action="append", default=[], metavar="PATH",
                        help="file or directory with more Operation manifests (repeatable)")
    parser.add_argument("--operations-dir", action="append", default=[], metavar="DIR",
                        help="directory holding Operation folders named like the Operations (repeatable)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter for the launcher and for commands starting with python "
                        "(default: the one running stage2)")
    parser.add_argument("--namespace", "-n", default="default", help="namespace written to the payload context")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary table")
    parser.set_defaults(handler=run_command)


def new_run_dir(workdir: Path, workflow: str) -> Path:
    """Create `<workdir>/<workflow>-<UTC time>`, with a numeric suffix if that exists."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = workdir / f"{workflow}-{stamp}"
    candidate, number = base, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            number += 1
            candidate = Path(f"{base}-{number}")


class Progress:
    """Print a line per node phase change and per new attempt."""

    def __init__(self, stream: TextIO | None, width: int) -> None:
        self.stream = stream
        self.width = width
        self.started = time.monotonic()
        self.seen: dict[str, tuple[str, int]] = {}

    def update(self, nodes: Mapping[str, Mapping[str, Any]]) -> None:
        for name, node in nodes.items():
            phase, attempts = str(node.get("phase")), int(node.get("attempts") or 0)
            if self.seen.get(name) == (phase, attempts):
                continue
            self.seen[name] = (phase, attempts)
            if self.stream is None or (phase == "Pending" and attempts == 0):
                continue
            detail = ""
            if phase == "Running":
                detail = f"attempt {attempts}"
            elif phase == "Succeeded":
                detail = ", ".join(node.get("outputs") or [])
            elif node.get("reason"):
                detail = f"{node['reason']}: {node.get('message') or ''}".rstrip(": ")
            elapsed = time.monotonic() - self.started
            print(f"{elapsed:7.1f}s  {name:<{self.width}}  {phase:<9}  {detail}".rstrip(), file=self.stream, flush=True)


class LocalRun:
    """One local run of a Workflow: the plan-apply loop and its bookkeeping."""

    def __init__(
        self,
        *,
        workflow: Document,
        operations: Mapping[str, Any],
        executor: Executor,
        run_dir: Path,
        namespace: str,
        parallelism: int | None,
        on_status: Callable[[Mapping[str, Any]], None] = lambda status: None,
    ) -> None:
        self.spec: dict[str, Any] = dict(workflow.spec)
        if parallelism:
            self.spec["parallelism"] = parallelism
        self.meta = planner.WorkflowMeta(
            name=str(workflow.name), namespace=namespace, uid=str(uuid.uuid4()), generation=1
        )
        self.operations = operations
        self.executor = executor
        self.run_dir = run_dir
        self.on_status = on_status
        self.jobs: dict[str, LocalJob] = {}
        # Jobs the plan deleted, kept for the summary table.
        self.finished_jobs: dict[str, LocalJob] = {}
        self.status: dict[str, Any] = {}

    def step(self) -> bool:
        """Observe, plan and apply once; return True when the Workflow has finished."""
        now = time.monotonic()
        for job in self.jobs.values():
            job.poll(self.executor, now)
        run = str(self.status.get("run") or self.meta.generation)
        plan = planner.plan(
            meta=self.meta,
            spec=self.spec,
            status=self.status,
            operations=self.operations,
            jobs=[job.job_view(run) for job in self.jobs.values()],
            pods={job.name: job.pod_views() for job in self.jobs.values()},
            now=datetime.now(timezone.utc),
            settings=planner.Settings(),
        )
        payloads: dict[str, dict[str, Any]] = {}
        for action in plan.actions:
            self._apply(action, payloads)
        self.status = plan.status
        self.on_status(self.status)
        running = any(job.active for job in self.jobs.values())
        return self.status.get("phase") in TERMINAL_WORKFLOW and not running

    def _apply(self, action: planner.Action, payloads: dict[str, dict[str, Any]]) -> None:
        if isinstance(action, planner.Create) and action.node is not None:
            manifest = action.manifest
            if manifest["kind"] == "ConfigMap":
                payloads[action.node] = json.loads(manifest["data"]["payload.json"])
            elif manifest["kind"] == "Job" and manifest["metadata"]["name"] not in self.jobs:
                node = next(n for n in self.spec["nodes"] if n["name"] == action.node)
                job = LocalJob(
                    manifest=manifest,
                    node=action.node,
                    operation=str(node["operation"]),
                    payload=payloads[action.node],
                    created=_stamp(),
                    started=time.monotonic(),
                )
                self.jobs[job.name] = job
                job.start_attempt(self.executor)
        elif isinstance(action, planner.Delete) and action.kind == "Job":
            job = self.jobs.pop(action.name, None)
            if job is not None:
                job.delete(self.executor)
                self.finished_jobs[job.node] = job
        # Claims, collections and the Workflow itself have no local object.

    def cancel(self) -> None:
        self.spec["shutdown"] = "Cancel"

    def stop_all(self) -> None:
        for job in self.jobs.values():
            job.delete(self.executor)

    def job_of(self, node: str) -> LocalJob | None:
        found = next((job for job in self.jobs.values() if job.node == node), None)
        return found or self.finished_jobs.get(node)

    def execute(self) -> dict[str, Any]:
        """Run until the Workflow finishes; the first Ctrl-C cancels it, a second stops at once."""
        interrupted = False
        while True:
            try:
                if self.step():
                    return self.status
                time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                if interrupted:
                    self.stop_all()
                    raise
                interrupted = True
                print("interrupted: cancelling the Workflow (Ctrl-C again to stop at once)", file=sys.stderr)
                self.cancel()


def _stamp() -> str:
    from ..status import timestamp

    return timestamp(datetime.now(timezone.utc))


def summary_table(local: LocalRun) -> str:
    """Return the table of nodes: phase, attempts, duration, exit code and output paths."""
    rows = [("NODE", "OPERATION", "PHASE", "ATTEMPTS", "DURATION", "EXIT", "OUTPUTS")]
    for node in local.spec["nodes"]:
        name = node["name"]
        entry = status_entries(local.status).get(name) or {}
        job = local.job_of(name)
        duration = None
        if job is not None:
            duration = (job.finished or time.monotonic()) - job.started
        exit_code = entry.get("exitCode")
        outputs = ", ".join(f"{name}/{output}" for output in entry.get("outputs") or []) or "-"
        rows.append((
            name,
            str(node["operation"]),
            str(entry.get("phase") or "Pending"),
            str(entry.get("attempts") or 0),
            format_duration(duration) if duration is not None else "-",
            "-" if exit_code is None else str(exit_code),
            outputs,
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def _prepare(args: argparse.Namespace) -> tuple[Document, dict[str, Any], dict[str, Path]] | int:
    """Read and validate the input; return the Workflow, its Operations and their folders, or an exit code."""
    documents = read_files(args.files)
    extra = read_files(expand_manifest_paths(args.operations_from))
    workflow = pick_workflow(documents, args.name)
    entries = parse_operations(extra)
    entries.update(parse_operations(documents))
    problems = check_documents([workflow, *[entry.document for entry in entries.values()]],
                               namespace=args.namespace, extra_operations=entries)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"error: Workflow {workflow.name} is invalid; nothing was run", file=sys.stderr)
        return 1

    operations = {name: entry.spec for name, entry in entries.items()}
    folders: dict[str, Path] = {}
    used = {str(node["operation"]) for node in workflow.spec["nodes"]}
    if args.executor == "process":
        for name in sorted(used):
            spec = entries[name].spec
            if spec is None:  # Unreachable: check_documents has reported it.
                return 1
            folder = find_operation_folder(
                name, manifest=entries[name].document.path, command=spec.command,
                search_dirs=[Path(directory) for directory in args.operations_dir],
            )
            if folder is None:
                print(f"error: no folder found for Operation {name!r}: put operation.yaml next to its "
                      f"{' '.join(spec.command)} script, or pass --operations-dir", file=sys.stderr)
                return 2
            folders[name] = folder
    return workflow, operations, folders


def run_command(args: argparse.Namespace) -> int:
    try:
        prepared = _prepare(args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if isinstance(prepared, int):
        return prepared
    workflow, operations, folders = prepared
    if args.parallelism is not None and args.parallelism < 1:
        print("error: --parallelism must be at least 1", file=sys.stderr)
        return 2

    run_dir = new_run_dir(Path(args.workdir), str(workflow.name)).resolve()
    executor: Executor
    try:
        if args.executor == "process":
            executor = ProcessExecutor(run_dir=run_dir, folders=folders, python=args.python)
        else:
            executor = ContainerExecutor(engine=args.executor, run_dir=run_dir)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    width = max(len(str(node["name"])) for node in workflow.spec["nodes"])
    progress = Progress(None if args.quiet else sys.stdout, width)
    parallelism = args.parallelism or workflow.spec.get("parallelism") or os.cpu_count() or 1
    local = LocalRun(workflow=workflow, operations=operations, executor=executor, run_dir=run_dir,
                     namespace=args.namespace, parallelism=parallelism,
                     on_status=lambda status: progress.update(status_entries(status)))
    if not args.quiet:
        print(f"Workflow {workflow.name}: {len(workflow.spec['nodes'])} nodes, parallelism {parallelism}, "
              f"run directory {run_dir}")
    status = local.execute()

    metadata_dir = run_dir / RUN_METADATA
    metadata_dir.mkdir(parents=True, exist_ok=True)
    (metadata_dir / "status.json").write_text(json.dumps(status, indent=2) + "\n", encoding="utf-8")
    body = {"metadata": {"name": workflow.name}, "spec": workflow.spec, "status": status}
    diagram = build_diagram(body, operations, now=datetime.now(timezone.utc), live=True)
    (metadata_dir / "graph.svg").write_text(render_svg(diagram), encoding="utf-8")

    print()
    print(summary_table(local))
    print()
    print(f"Workflow {workflow.name} {status.get('phase')}: {status.get('message')}")
    print(f"outputs, payloads and logs: {run_dir}")
    return 0 if status.get("phase") == "Succeeded" else 1
