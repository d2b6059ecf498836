"""SVG rendering of a Workflow diagram, in pure Python (no Graphviz needed).

Each node is a rounded box: a header with the node name, coloured by phase
for a live Workflow, the Operation and its family, a status line when live,
and the ports, inputs on the left edge and the output on the right edge.
Edges run from an output port to the input port they feed and carry the port
name. Text widths are estimated from character classes, because no font
metrics are available; the estimate is generous so text stays inside boxes.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from .diagram import PHASES, Diagram, DiagramEdge, DiagramNode
from .layout import Box, LayoutEdge, layout

FONT = "'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif"
MARGIN = 28.0
TITLE_HEIGHT = 58.0
LEGEND_HEIGHT = 40.0
HEADER = 28.0
LINE = 18.0
PORT_ROW = 20.0
PADDING = 12.0
MIN_WIDTH = 150.0
MAX_STATUS_CHARS = 48
EDGE_COLOR = "#8c959f"
PORT_RADIUS = 4.0
# Where on an edge's last segment its label is tried, in order (0 is the upstream end).
LABEL_POSITIONS = (0.5, 0.35, 0.65, 0.2, 0.8)


@dataclass(frozen=True)
class Palette:
    header: str
    header_text: str
    body: str
    border: str
    dashed: bool = False


PALETTES = {
    "Succeeded": Palette("#1e8e3e", "#ffffff", "#f3faf5", "#1e8e3e"),
    "Running": Palette("#1a73e8", "#ffffff", "#f2f7fe", "#1a73e8"),
    "Failed": Palette("#d93025", "#ffffff", "#fdf3f2", "#d93025"),
    "Skipped": Palette("#9aa0a6", "#ffffff", "#f4f5f6", "#9aa0a6", dashed=True),
    "Pending": Palette("#ffffff", "#202124", "#ffffff", "#5f6368"),
}
STATIC = Palette("#e8eef7", "#1f2d3d", "#ffffff", "#7a8aa0")
SYMBOLS = {"Succeeded": "\u2714", "Running": "\u25b6", "Failed": "\u2716", "Skipped": "\u2013", "Pending": "\u25cb"}


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Estimate the width of `text` in pixels at font `size`, on the wide side."""
    units = 0.0
    for character in text:
        if character in "il.,:;|!'`":
            units += 0.32
        elif character in "fjrt() -[]":
            units += 0.42
        elif character in "mwMW@":
            units += 0.92
        elif character.isupper() or character.isdigit():
            units += 0.7
        else:
            units += 0.62
    return units * size * (1.08 if bold else 1.0)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _status_line(node: DiagramNode) -> str:
    parts = [f"{SYMBOLS.get(node.phase or '', '')} {node.phase}".strip()]
    if node.attempts > 1:
        parts.append(f"{node.attempts} attempts")
    if node.duration:
        parts.append(node.duration)
    if node.reason:
        parts.append(node.reason)
    return _clip(" \u00b7 ".join(parts), MAX_STATUS_CHARS)


def _operation_line(node: DiagramNode) -> str:
    return f"{node.operation} \u00b7 {node.family}" if node.family else node.operation


@dataclass
class _Geometry:
    box: Box
    ports_top: float
    rows: int
    output_offset: float | None
    input_offsets: dict[str, float]


def _measure(node: DiagramNode, live: bool) -> _Geometry:
    ports_top = HEADER + LINE + (LINE if live else 0.0) + 8.0
    rows = max(len(node.inputs), 1)
    input_offsets = {port: ports_top + PORT_ROW * (index + 0.5) for index, port in enumerate(node.inputs)}
    output_offset = ports_top + PORT_ROW * rows / 2 if node.output else None
    widest_input = max((text_width(port, 11) for port in node.inputs), default=0.0)
    output_width = text_width(node.output, 11) if node.output else 0.0
    width = max(
        MIN_WIDTH,
        text_width(node.name, 13, bold=True) + 2 * PADDING,
        text_width(_operation_line(node), 11) + 2 * PADDING,
        (text_width(_status_line(node), 11) + 2 * PADDING) if live else 0.0,
        widest_input + output_width + 4 * PADDING + 16,
    )
    height = ports_top + PORT_ROW * rows + 8.0
    return _Geometry(Box(round(width), height), ports_top, rows, output_offset, input_offsets)


def _path(points: list[tuple[float, float]]) -> str:
    """Join the route with horizontal-tangent cubic curves between columns and straight runs inside them."""
    x, y = points[0]
    commands = [f"M{x:.1f},{y:.1f}"]
    for (x1, y1), (x2, y2) in zip(points, points[1:]):
        if abs(y2 - y1) < 0.5:
            commands.append(f"L{x2:.1f},{y2:.1f}")
            continue
        bend = max((x2 - x1) / 2, 30.0)
        commands.append(f"C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
    return " ".join(commands)


def _curve_point(start: tuple[float, float], end: tuple[float, float], t: float) -> tuple[float, float]:
    """Return the point at parameter `t` of the curve `_path` draws from `start` to `end`."""
    (x1, y1), (x2, y2) = start, end
    if abs(y2 - y1) < 0.5:
        return x1 + (x2 - x1) * t, y1
    bend = max((x2 - x1) / 2, 30.0)
    u = 1 - t
    weights = (u**3, 3 * u * u * t, 3 * u * t * t, t**3)
    xs = (x1, x1 + bend, x2 - bend, x2)
    ys = (y1, y1, y2, y2)
    return sum(w * v for w, v in zip(weights, xs)), sum(w * v for w, v in zip(weights, ys))


def _place_labels(
    diagram: Diagram, routes: list[list[tuple[float, float]]]
) -> list[tuple[DiagramEdge, tuple[float, float]]]:
    """Place each port label on its edge's last segment where it overlaps no other label.

    A label that would sit on top of a label with the same text is dropped,
    because it repeats what is already readable there.
    """
    placed: list[tuple[DiagramEdge, tuple[float, float]]] = []
    boxes: list[tuple[float, float, float, float, str]] = []
    for edge, route in zip(diagram.edges, routes):
        width = text_width(edge.port, 10) + 4
        start, end = route[-2], route[-1]
        for t in LABEL_POSITIONS:
            x, y = _curve_point(start, end, t)
            box = (x - width / 2, y - 12, x + width / 2, y + 2)
            clash = [other for other in boxes if box[0] < other[2] and other[0] < box[2]
                     and box[1] < other[3] and other[1] < box[3]]
            if not clash:
                boxes.append((*box, edge.port))
                placed.append((edge, (x, y)))
                break
            if any(other[4] == edge.port for other in clash):
                break
    return placed


def _node_svg(node: DiagramNode, geometry: _Geometry, x: float, y: float, live: bool) -> list[str]:
    palette = PALETTES.get(node.phase or "", PALETTES["Pending"]) if live else STATIC
    width, height = geometry.box.width, geometry.box.height
    dash = ' stroke-dasharray="5 3"' if palette.dashed else ""
    tooltip = [f"{node.name} ({node.operation})"]
    if live:
        tooltip.append(f"phase: {node.phase}, attempts: {node.attempts}")
    for label, value in (("reason", node.reason), ("message", node.message), ("outputs", ", ".join(node.outputs))):
        if value:
            tooltip.append(f"{label}: {value}")
    parts = [
        f'<g class="node phase-{escape(node.phase or "none")}" transform="translate({x:.1f},{y:.1f})">',
        f"<title>{escape(chr(10).join(tooltip))}</title>",
        f'<rect x="1" y="2.5" width="{width}" height="{height:.1f}" rx="8" fill="#000000" fill-opacity="0.07"/>',
        f'<rect width="{width}" height="{height:.1f}" rx="8" fill="{palette.body}" stroke="{palette.border}"'
        f' stroke-width="1.5"{dash}/>',
        f'<path d="M0,{HEADER} V8 a8,8 0 0 1 8,-8 H{width - 8} a8,8 0 0 1 8,8 V{HEADER} Z"'
        f' fill="{palette.header}" stroke="{palette.border}" stroke-width="1.5"{dash}/>',
        f'<text x="{PADDING}" y="{HEADER - 9}" font-size="13" font-weight="bold" fill="{palette.header_text}">'
        f"{escape(node.name)}</text>",
        f'<text x="{PADDING}" y="{HEADER + LINE - 4}" font-size="11" fill="#5f6368">'
        f"{escape(_operation_line(node))}</text>",
    ]
    if live:
        color = palette.border if node.phase != "Pending" else "#5f6368"
        parts.append(
            f'<text x="{PADDING}" y="{HEADER + 2 * LINE - 4}" font-size="11" fill="{color}">'
            f"{escape(_status_line(node))}</text>"
        )
    separator = geometry.ports_top - 4
    parts.append(f'<line x1="0" y1="{separator}" x2="{width}" y2="{separator}" stroke="#e3e6ea"/>')
    for port, offset in geometry.input_offsets.items():
        parts.append(f'<circle cx="0" cy="{offset:.1f}" r="{PORT_RADIUS:.0f}" fill="#ffffff" stroke="{palette.border}" stroke-width="1.5"/>')
        parts.append(
            f'<text x="{PADDING}" y="{offset + 4:.1f}" font-size="11" fill="#3c4043">{escape(port)}</text>'
        )
    if node.output and geometry.output_offset is not None:
        offset = geometry.output_offset
        parts.append(f'<circle cx="{width}" cy="{offset:.1f}" r="{PORT_RADIUS:.0f}" fill="{palette.border}"/>')
        parts.append(
            f'<text x="{width - PADDING}" y="{offset + 4:.1f}" font-size="11" fill="#3c4043"'
            f' text-anchor="end" font-style="italic">{escape(node.output)}</text>'
        )
    parts.append("</g>")
    return parts


def _legend(diagram: Diagram, y: float) -> list[str]:
    counts = {phase: 0 for phase in PHASES}
    for node in diagram.nodes:
        counts[node.phase or "Pending"] = counts.get(node.phase or "Pending", 0) + 1
    parts = []
    x = MARGIN
    for phase in PHASES:
        palette = PALETTES[phase]
        label = f"{phase} {counts[phase]}"
        dash = ' stroke-dasharray="3 2"' if palette.dashed else ""
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="14" height="14" rx="3" fill="{palette.header}"'
            f' stroke="{palette.border}"{dash}/>'
        )
        parts.append(f'<text x="{x + 20:.1f}" y="{y + 11:.1f}" font-size="12" fill="#3c4043">{escape(label)}</text>')
        x += 20 + text_width(label, 12) + 22
    return parts


def render_svg(diagram: Diagram) -> str:
    """Render the diagram as a standalone SVG document."""
    live = diagram.live
    geometry = {node.name: _measure(node, live) for node in diagram.nodes}
    edges = []
    for edge in diagram.edges:
        source, target = geometry[edge.source], geometry[edge.target]
        edges.append(LayoutEdge(
            source=edge.source,
            target=edge.target,
            source_offset=source.output_offset if source.output_offset is not None else source.box.height / 2,
            target_offset=target.input_offsets.get(edge.port, target.box.height / 2),
        ))
    placed = layout([node.name for node in diagram.nodes], {name: g.box for name, g in geometry.items()}, edges)

    title = diagram.name
    if live:
        subtitle = " \u00b7 ".join(part for part in (diagram.phase, diagram.progress, diagram.message) if part)
    else:
        subtitle = f"{len(diagram.nodes)} nodes \u00b7 {len(diagram.edges)} edges"
    subtitle = _clip(subtitle, 140)
    width = max(placed.width + 2 * MARGIN, text_width(subtitle, 12) + 2 * MARGIN, 320.0)
    height = TITLE_HEIGHT + placed.height + MARGIN + (LEGEND_HEIGHT if live else 0.0)
    top = TITLE_HEIGHT

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"'
        f' viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">',
        "<defs>",
        f'<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        f' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOR}"/></marker>',
        "</defs>",
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fbfcfd"/>',
        f'<text x="{MARGIN}" y="30" font-size="18" font-weight="bold" fill="#202124">{escape(title)}</text>',
        f'<text x="{MARGIN}" y="48" font-size="12" fill="#5f6368">{escape(subtitle)}</text>',
    ]

    phases = {node.name: node.phase for node in diagram.nodes}
    for edge, route in zip(diagram.edges, placed.routes):
        points = [(x + MARGIN, y + top) for x, y in route]
        # End at the rim of the input port's circle, so the arrowhead stays visible.
        points[-1] = (points[-1][0] - PORT_RADIUS, points[-1][1])
        dash = ' stroke-dasharray="5 4"' if live and phases.get(edge.target) == "Skipped" else ""
        out.append(
            f'<path d="{_path(points)}" fill="none" stroke="{EDGE_COLOR}" stroke-width="1.6"{dash}'
            ' marker-end="url(#arrow)"/>'
        )
    # Labels go on top of every edge, on its last segment.
    for edge, (label_x, label_y) in _place_labels(diagram, placed.routes):
        out.append(
            f'<text x="{label_x + MARGIN:.1f}" y="{label_y + top - 3:.1f}" font-size="10" fill="#5f6368"'
            f' text-anchor="middle" stroke="#fbfcfd" stroke-width="3" paint-order="stroke">{escape(edge.port)}</text>'
        )

    for node in diagram.nodes:
        x, y = placed.positions[node.name]
        out.extend(_node_svg(node, geometry[node.name], x + MARGIN, y + top, live))
    if live:
        out.extend(_legend(diagram, height - LEGEND_HEIGHT + 8))
    out.append("</svg>")
    return "\n".join(out) + "\n"
