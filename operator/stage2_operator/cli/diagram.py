"""The drawing model of a Workflow: nodes with ports and phases, and port-labelled edges.

`stage2 graph` builds it from a manifest or a live Workflow and renders it as
Mermaid, Graphviz DOT or SVG. Ports come from the Operation when it is known,
so unconnected ports are drawn too; otherwise from the node's wiring alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..models import OperationSpec
from ..status import parse_timestamp
from ..nodestate import status_entries

PHASES = ("Succeeded", "Running", "Failed", "Skipped", "Pending")


@dataclass
class DiagramNode:
    name: str
    operation: str
    family: str | None = None
    inputs: list[str] = field(default_factory=list)
    output: str | None = None
    phase: str | None = None
    attempts: int = 0
    duration: str | None = None
    reason: str | None = None
    message: str | None = None
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DiagramEdge:
    source: str
    target: str
    port: str


@dataclass
class Diagram:
    name: str
    nodes: list[DiagramNode]
    edges: list[DiagramEdge]
    phase: str | None = None
    progress: str | None = None
    message: str | None = None

    @property
    def live(self) -> bool:
        return self.phase is not None


def format_duration(seconds: float | None) -> str:
    """Format seconds as `850ms`, `12s`, `3m05s` or `2h04m`."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def node_duration(node_status: Mapping[str, Any], now: datetime) -> float | None:
    """Return the seconds a node has run: start to finish, or start to now while it runs."""
    started = parse_timestamp(node_status.get("startedAt"))
    if started is None:
        return None
    finished = parse_timestamp(node_status.get("finishedAt")) or now
    return max((finished - started).total_seconds(), 0.0)


def build_diagram(
    workflow: Mapping[str, Any],
    operations: Mapping[str, OperationSpec | None],
    *,
    now: datetime | None = None,
    live: bool = False,
) -> Diagram:
    """Build the diagram of a Workflow body; with `live`, node phases come from its status."""
    spec = workflow.get("spec") or {}
    status = (workflow.get("status") or {}) if live else {}
    status_nodes = status_entries(status)
    raw_nodes = [node for node in spec.get("nodes") or [] if isinstance(node, Mapping) and node.get("name")]
    names = {str(node["name"]) for node in raw_nodes}

    nodes: list[DiagramNode] = []
    edges: list[DiagramEdge] = []
    for raw in raw_nodes:
        name = str(raw["name"])
        operation_name = str(raw.get("operation") or "?")
        operation = operations.get(operation_name)
        wired = raw.get("inputs") if isinstance(raw.get("inputs"), Mapping) else {}
        node = DiagramNode(name=name, operation=operation_name)
        if operation is not None:
            node.family = operation.family.value
            node.inputs = list(operation.inputs)
            node.output = operation.output.name if operation.output is not None else None
        else:
            node.output = "output"
        node.inputs += [port for port in wired if port not in node.inputs]
        if live:
            entry = status_nodes.get(name) or {}
            node.phase = str(entry.get("phase") or "Pending")
            node.attempts = int(entry.get("attempts") or 0)
            if now is not None and entry.get("startedAt"):
                # Status times have whole seconds, so show whole seconds.
                node.duration = f"{int(node_duration(entry, now) or 0)}s"
            node.reason = entry.get("reason")
            node.message = entry.get("message")
            node.outputs = list(entry.get("outputs") or [])
        nodes.append(node)
        for port, upstreams in wired.items():
            for upstream in upstreams if isinstance(upstreams, list) else []:
                if upstream in names:
                    edges.append(DiagramEdge(source=str(upstream), target=name, port=str(port)))

    metadata = workflow.get("metadata") or {}
    return Diagram(
        name=str(metadata.get("name") or "workflow"),
        nodes=nodes,
        edges=edges,
        phase=str(status.get("phase") or "Pending") if live else None,
        progress=status.get("progress"),
        message=status.get("message"),
    )
