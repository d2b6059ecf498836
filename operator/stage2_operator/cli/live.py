"""`stage2 get`, `stage2 watch` and `stage2 logs`: a Workflow's progress and logs from the cluster.

`get` prints the node tree once; `watch` prints it again on every watch
event of the Workflow until its phase is terminal for the current
generation; `logs` prints the logs of the nodes' pods, found by the label
`stage2.dev/node` and the Job name recorded in `status.nodes.<node>.job`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .. import GROUP, VERSION, naming
from ..dag import Graph, topological_order
from ..status import parse_timestamp
from . import cluster as cluster_module
from .diagram import node_duration
from ..nodestate import status_entries

TERMINAL = ("Succeeded", "Failed", "Cancelled")
SYMBOLS = {"Succeeded": "\u2714", "Running": "\u25b6", "Failed": "\u2716", "Skipped": "-", "Pending": "\u25cb"}
COLORS = {"Succeeded": "32", "Running": "34", "Failed": "31", "Skipped": "90", "Cancelled": "33"}
MAX_MESSAGE = 100


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for command, text in (("get", "print a Workflow's node tree"),
                          ("watch", "print a Workflow's node tree on every change until it finishes")):
        parser = subparsers.add_parser(command, help=text, description=text[0].upper() + text[1:] + ".")
        parser.add_argument("workflow", metavar="WORKFLOW", help="Workflow name")
        cluster_module.add_cluster_arguments(parser)
        parser.add_argument("--no-color", action="store_true", help="never colour the output (default: colour on a terminal)")
        if command == "watch":
            parser.add_argument("--timeout", type=float, metavar="SECONDS",
                                help="give up after this many seconds (default: wait for the end)")
            parser.set_defaults(handler=run_watch)
        else:
            parser.set_defaults(handler=run_get)

    parser = subparsers.add_parser("logs", help="print the logs of a Workflow's node pods",
                                   description="Print the logs of the pods of one node, or of every started node.")
    parser.add_argument("workflow", metavar="WORKFLOW", help="Workflow name")
    parser.add_argument("node", metavar="NODE", nargs="?", help="node name (default: every started node)")
    parser.add_argument("--tail", type=int, metavar="LINES", help="print only the last LINES lines of each pod")
    parser.add_argument("--all-attempts", action="store_true", help="print every attempt's pod, not only the last")
    cluster_module.add_cluster_arguments(parser)
    parser.set_defaults(handler=run_logs)


def _paint(text: str, phase: str, color: bool) -> str:
    code = COLORS.get(phase)
    return f"\x1b[{code}m{text}\x1b[0m" if color and code else text


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def node_depths(spec: Mapping[str, Any]) -> tuple[list[str], dict[str, int]]:
    """Return node names in topological order and each node's depth (longest path from a root)."""
    nodes = [node for node in spec.get("nodes") or [] if isinstance(node, Mapping) and node.get("name")]
    names = [str(node["name"]) for node in nodes]
    known = set(names)
    upstreams = {
        str(node["name"]): [up for ups in (node.get("inputs") or {}).values() for up in ups if up in known]
        for node in nodes
    }
    graph = Graph.from_upstreams(names, upstreams)
    order = topological_order(graph)
    depth: dict[str, int] = {}
    for name in order:
        depth[name] = max((depth[up] + 1 for up in graph.upstreams(name)), default=0)
    return order, depth


def render_tree(body: Mapping[str, Any], *, now: datetime, color: bool = False) -> str:
    """Render a Workflow's status as a header and one line per node, indented by depth."""
    metadata = body.get("metadata") or {}
    status = body.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    started = parse_timestamp(status.get("startedAt"))
    finished = parse_timestamp(status.get("finishedAt")) or now
    elapsed = f"{int((finished - started).total_seconds())}s" if started else "-"
    lines = [
        f"Workflow {metadata.get('namespace', '')}/{metadata.get('name', '')}  "
        f"{_paint(phase, phase, color)}  {status.get('progress') or '-'}  {elapsed}",
    ]
    if status.get("message"):
        lines.append(f"  {_clip(str(status['message']), 200)}")
    if status.get("observedGeneration") not in (None, metadata.get("generation")):
        lines.append("  (the status is for an older generation; the controller has not caught up yet)")

    try:
        order, depth = node_depths(body.get("spec") or {})
    except ValueError as error:  # A cycle or duplicate name: the status message already says so.
        lines.append(f"  cannot draw the node tree: {error}")
        return "\n".join(lines) + "\n"
    nodes = status_entries(status)
    rows = [("NODE", "PHASE", "ATTEMPTS", "DURATION", "EXIT", "DETAIL")]
    for name in order:
        entry = nodes.get(name) or {}
        node_phase = str(entry.get("phase") or "Pending")
        seconds = node_duration(entry, now)
        detail = ", ".join(entry.get("outputs") or [])
        if entry.get("reason"):
            detail = entry["reason"] + (f": {entry['message']}" if entry.get("message") else "")
        rows.append((
            "  " * depth[name] + f"{SYMBOLS.get(node_phase, '?')} {name}",
            node_phase,
            str(entry.get("attempts") or "-"),
            "-" if seconds is None else f"{int(seconds)}s",
            "-" if entry.get("exitCode") is None else str(entry["exitCode"]),
            _clip(detail),
        ))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    lines.append("")
    for index, row in enumerate(rows):
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        if index:
            cells[1] = _paint(cells[1], row[1], color)
        lines.append("  ".join([*cells, row[5]]).rstrip())
    return "\n".join(lines) + "\n"


def _use_color(args: argparse.Namespace) -> bool:
    return not args.no_color and sys.stdout.isatty() and "NO_COLOR" not in os.environ


def run_get(args: argparse.Namespace) -> int:
    try:
        cluster = cluster_module.connect(args)
        body = cluster.get_workflow(args.workflow)
    except cluster_module.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(render_tree(body, now=datetime.now(timezone.utc), color=_use_color(args)))
    return 0


def _finished(body: Mapping[str, Any]) -> bool:
    status = body.get("status") or {}
    generation = (body.get("metadata") or {}).get("generation")
    return status.get("phase") in TERMINAL and status.get("observedGeneration") in (None, generation)


def run_watch(args: argparse.Namespace) -> int:
    from kubernetes import client, watch
    from kubernetes.client.rest import ApiException

    try:
        cluster = cluster_module.connect(args)
        body = cluster.get_workflow(args.workflow)
    except cluster_module.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    color = _use_color(args)
    deadline = None if args.timeout is None else datetime.now(timezone.utc).timestamp() + args.timeout
    objects = client.CustomObjectsApi(cluster.api)
    last = ""
    while True:
        text = render_tree(body, now=datetime.now(timezone.utc), color=color)
        if text != last:
            if color:
                sys.stdout.write("\x1b[H\x1b[2J")
            elif last:
                sys.stdout.write("\n")
            sys.stdout.write(text)
            sys.stdout.flush()
            last = text
        if _finished(body):
            return 0 if (body.get("status") or {}).get("phase") == "Succeeded" else 1
        remaining = None if deadline is None else deadline - datetime.now(timezone.utc).timestamp()
        if remaining is not None and remaining <= 0:
            print(f"error: timed out after {args.timeout:g}s waiting for Workflow {args.workflow}", file=sys.stderr)
            return 1
        stream = watch.Watch().stream(
            objects.list_namespaced_custom_object, GROUP, VERSION, cluster.namespace, cluster_module.WORKFLOWS,
            field_selector=f"metadata.name={args.workflow}",
            resource_version=(body.get("metadata") or {}).get("resourceVersion"),
            timeout_seconds=int(min(remaining or 60, 60)) or 1,
        )
        try:
            for event in stream:
                if event["type"] == "DELETED":
                    print(f"error: Workflow {args.workflow} was deleted", file=sys.stderr)
                    return 1
                if event["type"] in ("ADDED", "MODIFIED"):
                    body = event["object"]
                    break
        except ApiException as error:
            if error.status != 410:  # 410 Gone: the resource version is too old; read it again.
                print(f"error: watching Workflow {args.workflow} failed: {error.status} {error.reason}", file=sys.stderr)
                return 1
            try:
                body = cluster.get_workflow(args.workflow)
            except cluster_module.ClusterError as read_error:
                print(f"error: {read_error}", file=sys.stderr)
                return 1


def run_logs(args: argparse.Namespace) -> int:
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    try:
        cluster = cluster_module.connect(args)
        body = cluster.get_workflow(args.workflow)
    except cluster_module.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    order, _ = node_depths(body.get("spec") or {})
    nodes = status_entries(body.get("status") or {})
    if args.node is not None and args.node not in order:
        print(f"error: Workflow {args.workflow} has no node {args.node!r}; its nodes are {', '.join(order)}",
              file=sys.stderr)
        return 1
    selected = [args.node] if args.node else [name for name in order if (nodes.get(name) or {}).get("job")]
    if not selected:
        print(f"Workflow {args.workflow} has no started nodes yet", file=sys.stderr)
        return 0

    core = client.CoreV1Api(cluster.api)
    prefix_lines = len(selected) > 1
    status_code = 0
    for name in selected:
        job = (nodes.get(name) or {}).get("job")
        if not job:
            phase = (nodes.get(name) or {}).get("phase") or "Pending"
            print(f"node {name} has not started (phase {phase}); no logs", file=sys.stderr)
            continue
        selector = f"{naming.LABEL_NODE}={naming.label_value(name)},job-name={job}"
        try:
            pods = core.list_namespaced_pod(cluster.namespace, label_selector=selector).items
        except ApiException as error:
            print(f"error: listing the pods of node {name} failed: {error.status} {error.reason}", file=sys.stderr)
            return 1
        pods.sort(key=lambda pod: (pod.metadata.creation_timestamp, pod.metadata.name))
        if not pods:
            print(f"node {name}: no pods left for Job {job} (deleted, or not created yet)", file=sys.stderr)
            status_code = 1
            continue
        for pod in pods if args.all_attempts else pods[-1:]:
            try:
                text = core.read_namespaced_pod_log(
                    pod.metadata.name, cluster.namespace, container="operation", tail_lines=args.tail
                )
            except ApiException as error:
                print(f"error: reading the log of pod {pod.metadata.name} failed: {error.status} {error.reason}",
                      file=sys.stderr)
                status_code = 1
                continue
            if args.all_attempts and len(pods) > 1:
                print(f"{'[' + name + '] ' if prefix_lines else ''}--- pod {pod.metadata.name} ---")
            for line in text.splitlines():
                print(f"[{name}] {line}" if prefix_lines else line)
    return status_code
