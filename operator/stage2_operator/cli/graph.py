"""`stage2 graph`: draw a Workflow as Mermaid, Graphviz DOT or SVG.

The Workflow comes from a manifest file (with the Operations found in the
given files, for their ports), or from the cluster with `--name`, in which
case node phases colour the drawing.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from html import escape
from pathlib import Path

from ..validation import validate_operation
from . import cluster as cluster_module
from .diagram import Diagram, build_diagram
from .documents import (
    InputError,
    expand_manifest_paths,
    iter_referenced_operations,
    parse_operations,
    pick_workflow,
    read_files,
)
from .svg import PALETTES, STATIC, render_svg

FORMATS = ("mermaid", "dot", "svg")
SUFFIX_FORMATS = {".svg": "svg", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "graph",
        help="draw a Workflow as Mermaid, DOT or SVG",
        description="Draw the DAG of a Workflow from manifest files, or of a live Workflow "
        "(--name without FILE), with node phases as colours.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="manifest files with the Workflow and its Operations")
    parser.add_argument("--name", help="Workflow name: picks one of several in the files, or the live Workflow")
    parser.add_argument(
        "--format", "-f", choices=FORMATS,
        help="output format (default: from the -o suffix .svg, .dot or .mmd, else mermaid)",
    )
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    parser.add_argument(
        "--operations-from", action="append", default=[], metavar="PATH",
        help="file or directory with more Operation manifests, for ports (repeatable)",
    )
    cluster_module.add_cluster_arguments(parser)
    parser.set_defaults(handler=run_graph)


def _node_id(index: int) -> str:
    return f"n{index}"


def render_mermaid(diagram: Diagram) -> str:
    """Render a Mermaid flowchart; node names go in labels, so names like `end` cannot break it."""
    ids = {node.name: _node_id(index) for index, node in enumerate(diagram.nodes)}

    def label(text: str) -> str:
        return text.replace('"', "#quot;")

    lines = ["flowchart LR", f"  %% Workflow {diagram.name}"]
    for node in diagram.nodes:
        detail = node.operation
        if node.phase:
            detail += f" · {node.phase}"
        lines.append(f'  {ids[node.name]}["<b>{label(node.name)}</b><br/>{label(detail)}"]')
    for edge in diagram.edges:
        lines.append(f'  {ids[edge.source]} -->|"{label(edge.port)}"| {ids[edge.target]}')
    if diagram.live:
        for phase, palette in PALETTES.items():
            members = [ids[node.name] for node in diagram.nodes if node.phase == phase]
            if not members:
                continue
            lines.append(
                f"  classDef {phase.lower()} fill:{palette.header},stroke:{palette.border},color:{palette.header_text}"
            )
            lines.append(f"  class {','.join(members)} {phase.lower()}")
    return "\n".join(lines) + "\n"


def render_dot(diagram: Diagram) -> str:
    """Render Graphviz DOT with HTML-like labels, one port cell per input and output."""
    ids = {node.name: _node_id(index) for index, node in enumerate(diagram.nodes)}
    lines = [
        f'digraph "{diagram.name}" {{',
        f'  graph [rankdir=LR, label="{diagram.name}", labelloc=t, fontname="Helvetica", nodesep=0.4, ranksep=0.9];',
        '  node [shape=plain, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10, color="#8c959f", fontcolor="#5f6368"];',
    ]
    for node in diagram.nodes:
        palette = PALETTES.get(node.phase or "", STATIC) if diagram.live else STATIC
        rows = max(len(node.inputs), 1)
        detail = escape(node.operation + (f" · {node.phase}" if node.phase else ""))
        cells = [
            f'<TR><TD COLSPAN="2" BGCOLOR="{palette.header}"><FONT COLOR="{palette.header_text}">'
            f"<B>{escape(node.name)}</B></FONT></TD></TR>",
            f'<TR><TD COLSPAN="2"><FONT POINT-SIZE="10" COLOR="#5f6368">{detail}</FONT></TD></TR>',
        ]
        for row in range(rows):
            left = (
                f'<TD PORT="in{row}" ALIGN="LEFT"><FONT POINT-SIZE="10">{escape(node.inputs[row])}</FONT></TD>'
                if row < len(node.inputs) else "<TD></TD>"
            )
            right = (
                f'<TD PORT="out" ALIGN="RIGHT" ROWSPAN="{rows}"><FONT POINT-SIZE="10"><I>{escape(node.output)}</I>'
                "</FONT></TD>"
                if row == 0 and node.output else ""
            )
            cells.append(f"<TR>{left}{right}</TR>")
        table = (
            f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="4" COLOR="{palette.border}"'
            f' BGCOLOR="{palette.body}">' + "".join(cells) + "</TABLE>"
        )
        lines.append(f"  {ids[node.name]} [label=<{table}>];")
    inputs_index = {node.name: {port: index for index, port in enumerate(node.inputs)} for node in diagram.nodes}
    for edge in diagram.edges:
        port = inputs_index[edge.target].get(edge.port, 0)
        quoted = edge.port.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'  {ids[edge.source]}:out:e -> {ids[edge.target]}:in{port}:w [label="{quoted}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _load_diagram(args: argparse.Namespace) -> Diagram:
    if args.files:
        documents = read_files(args.files)
        extra = read_files(expand_manifest_paths(args.operations_from))
        workflow = pick_workflow(documents, args.name)
        entries = parse_operations(extra)
        entries.update(parse_operations(documents))
        operations = {name: entry.spec for name, entry in entries.items()}
        return build_diagram(workflow.body, operations)

    if not args.name:
        raise InputError("give a manifest FILE, or --name for a Workflow in the cluster")
    cluster = cluster_module.connect(args)
    body = cluster.get_workflow(args.name)
    operations = {}
    for name in iter_referenced_operations(body.get("spec")):
        found = cluster.get_operation(name)
        operations[name] = validate_operation(found.get("spec") or {})[0] if found else None
    return build_diagram(body, operations, now=datetime.now(timezone.utc), live=True)


def run_graph(args: argparse.Namespace) -> int:
    try:
        diagram = _load_diagram(args)
    except (InputError, cluster_module.ClusterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    chosen = args.format or (SUFFIX_FORMATS.get(Path(args.output).suffix.lower()) if args.output else None) or "mermaid"
    renderers = {"mermaid": render_mermaid, "dot": render_dot, "svg": render_svg}
    text = renderers[chosen](diagram)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    return 0
