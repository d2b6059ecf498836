#!/usr/bin/env python3
"""Generate docs/diagrams/overview.svg, the README's picture of operations and workflows.

The left panel shows how a tool is wrapped into an operation image, the
right panel how Operations become the nodes of a Workflow that the
controller runs as Jobs on one claim. Run ``python docs/diagrams/overview.py``
after changing this file; ``--check`` exits 1 when the committed SVG is stale.
The output depends only on this file, so tests compare it byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from html import escape
from pathlib import Path

OUTPUT = Path(__file__).resolve().with_suffix(".svg")

WIDTH = 1320
HEIGHT = 680
SANS = "'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif"
MONO = "'DejaVu Sans Mono', Menlo, Consolas, monospace"

INK = "#1f2d3d"
MUTED = "#5f6b7a"
LINE = "#6e7b8b"
PANEL_FILL = "#f6f8fa"
PANEL_STROKE = "#d0d7de"
BOX_STROKE = "#7a8aa0"
HEADER_FILL = "#e8eef7"
TOOL_FILL = "#fff7e6"
TOOL_STROKE = "#c58a1b"
DATA_FILL = "#eef7f0"
DATA_STROKE = "#1e8e3e"
CONTROL_FILL = "#f2f0fb"
CONTROL_STROKE = "#6f5bc8"
JOB_FILL = "#f2f7fe"
JOB_STROKE = "#1a73e8"

# Pixels per character of the monospace font at size 1, so labels get a background that fits.
MONO_ADVANCE = 0.61

# The example graph drawn on the right: node, Operation, output file, column x of its Job.
NODES = (
    ("load", "make-image", "data.png", 620),
    ("contrast", "adjust-contrast", "data.png", 850),
    ("stats", "image-stats", "data.json", 1080),
)
JOB_WIDTH = 200


class Canvas:
    """An SVG document built element by element in drawing order."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def box(self, x: float, y: float, width: float, height: float, *, fill: str = "#ffffff",
            stroke: str = BOX_STROKE, radius: float = 8, dashed: bool = False, stroke_width: float = 1.4) -> None:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self.add(f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="{radius}" fill="{fill}"'
                 f' stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>')

    def text(self, x: float, y: float, content: str, *, size: float = 12, weight: str = "normal",
             color: str = INK, anchor: str = "start", mono: bool = False) -> None:
        family = f' font-family="{MONO}"' if mono else ""
        bold = ' font-weight="bold"' if weight == "bold" else ""
        align = f' text-anchor="{anchor}"' if anchor != "start" else ""
        self.add(f'<text x="{x}" y="{y}" font-size="{size}"{bold}{family}{align} fill="{color}">'
                 f'{escape(content)}</text>')

    def arrow(self, x1: float, y1: float, x2: float, y2: float, *, color: str = LINE, dashed: bool = False,
              label: str = "", label_at: tuple[float, float] | None = None, label_anchor: str = "middle") -> None:
        """Draw a straight arrow from (x1, y1) to (x2, y2), with an optional monospace label on a white pad."""
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        marker = "arrow-data" if color == DATA_STROKE else "arrow"
        self.add(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="1.6"'
                 f'{dash} marker-end="url(#{marker})"/>')
        if label:
            label_x, label_y = label_at if label_at else ((x1 + x2) / 2, (y1 + y2) / 2 + 4)
            self.label(label_x, label_y, label, anchor=label_anchor)

    def label(self, x: float, y: float, content: str, *, anchor: str = "middle", size: float = 11) -> None:
        width = len(content) * size * MONO_ADVANCE + 8
        left = {"start": x - 4, "middle": x - width / 2, "end": x - width + 4}[anchor]
        self.add(f'<rect x="{left:.1f}" y="{y - size}" width="{width:.1f}" height="{size + 5}" rx="3"'
                 f' fill="#ffffff" fill-opacity="0.92"/>')
        self.text(x, y, content, size=size, anchor=anchor, mono=True, color=MUTED)

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}"'
            f' viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{SANS}">\n'
            '<title>How operations and workflows fit together</title>\n'
            f'<defs>{marker_definition("arrow", LINE)}{marker_definition("arrow-data", DATA_STROKE)}</defs>\n'
            '<rect width="100%" height="100%" fill="#ffffff"/>\n'
        )
        return head + "\n".join(self.parts) + "\n</svg>\n"


def marker_definition(marker_id: str, color: str) -> str:
    return (f'<marker id="{marker_id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8"'
            f' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')


def draw_panel(canvas: Canvas, x: float, width: float, number: str, title: str) -> None:
    canvas.box(x, 20, width, HEIGHT - 40, fill=PANEL_FILL, stroke=PANEL_STROKE, radius=12)
    canvas.add(f'<circle cx="{x + 32}" cy="{45}" r="13" fill="{INK}"/>')
    canvas.text(x + 32, 50, number, size=14, weight="bold", color="#ffffff", anchor="middle")
    canvas.text(x + 56, 51, title, size=17, weight="bold")


def draw_headed_box(canvas: Canvas, x: float, y: float, width: float, height: float, title: str,
                    note: str = "", *, fill: str = "#ffffff", stroke: str = BOX_STROKE) -> None:
    """Draw a box with a tinted header line containing a bold title and an optional grey note after it."""
    canvas.box(x, y, width, height, fill=fill, stroke=stroke)
    canvas.add(f'<path d="M{x},{y + 28} L{x},{y + 8} Q{x},{y} {x + 8},{y} L{x + width - 8},{y}'
               f' Q{x + width},{y} {x + width},{y + 8} L{x + width},{y + 28} Z" fill="{HEADER_FILL}"'
               f' stroke="{stroke}" stroke-width="1.4"/>')
    canvas.text(x + 12, y + 19, title, size=13, weight="bold")
    if note:
        canvas.text(x + width - 12, y + 19, note, size=11, color=MUTED, anchor="end")


def draw_operation_side(canvas: Canvas) -> None:
    """Draw the left panel: operation.yaml, the payload, the image with the tool, and the output it writes."""
    draw_panel(canvas, 20, 520, "1", "Wrap a tool as an Operation")

    draw_headed_box(canvas, 40, 72, 480, 104, "operation.yaml", "kind: Operation")
    rows = (
        ("family", "source | compute | sink"),
        ("parameters", "type, default, nullable, min, max, enum"),
        ("inputs", "port -> multiplicity {min, max}; one output"),
        ("image", "command, resources, timeoutSeconds, retries"),
    )
    for index, (key, value) in enumerate(rows):
        canvas.text(56, 120 + 16 * index, key, size=12, weight="bold")
        canvas.text(150, 120 + 16 * index, value, size=11.5, mono=True)

    draw_headed_box(canvas, 40, 200, 480, 124, "payload JSON", "the command's last argument")
    payload = (
        ("context", '{workflow, namespace, node, run, attempt}'),
        ("inputs", '{"<port>": ["/stage2/inputs/<port>/<upstream>/data.png"]}'),
        ("outputs", '{"output": "/stage2/outputs/output/data"}'),
        ("parameters", '{"Contrast Factor": 1.4}'),
    )
    for index, (key, value) in enumerate(payload):
        canvas.text(56, 250 + 20 * index, key, size=12, weight="bold")
        canvas.text(148, 250 + 20 * index, value, size=10.5, mono=True)

    canvas.box(40, 376, 480, 128, fill="#ffffff", stroke=BOX_STROKE, dashed=True)
    canvas.text(508, 394, "container image  localhost/<name>:dev", size=11, color=MUTED, anchor="end")
    canvas.box(60, 404, 200, 80, fill=JOB_FILL, stroke=JOB_STROKE)
    canvas.text(160, 430, "stage2_interface.py", size=13, weight="bold", anchor="middle", mono=True)
    canvas.text(160, 450, "reads the payload with", size=11, color=MUTED, anchor="middle")
    canvas.text(160, 466, "stage2_sdk, checks parameters", size=11, color=MUTED, anchor="middle")
    canvas.box(320, 404, 180, 80, fill=TOOL_FILL, stroke=TOOL_STROKE)
    canvas.text(410, 434, "your tool", size=13, weight="bold", anchor="middle")
    canvas.text(410, 454, "library, binary or script", size=11, color=MUTED, anchor="middle")
    canvas.arrow(260, 444, 318, 444, label="calls", label_at=(289, 437))

    canvas.arrow(160, 324, 160, 402, label="python stage2_interface.py '<payload>'",
                 label_at=(172, 354), label_anchor="start")

    canvas.box(40, 566, 480, 74, fill=DATA_FILL, stroke=DATA_STROKE)
    canvas.text(280, 594, "/stage2/outputs/<port>/data.<ext>", size=14, weight="bold", anchor="middle", mono=True)
    canvas.text(280, 616, "one file such as data.png, or a directory data/; exit code 0 means success",
                size=11, color=MUTED, anchor="middle")
    canvas.arrow(160, 484, 160, 564, label="writes (payload.output_file)", label_at=(172, 530),
                 label_anchor="start")


def draw_workflow_side(canvas: Canvas) -> None:
    """Draw the right panel: Operations, the Workflow, the controller, one Job per node and the run's claim."""
    draw_panel(canvas, 600, 700, "2", "Chain Operations into a Workflow")

    # Operations, drawn as a stack of cards.
    for offset in (8, 4):
        canvas.box(620 + offset, 72 + offset, 190, 104, fill="#ffffff", stroke=BOX_STROKE)
    draw_headed_box(canvas, 620, 72, 190, 104, "Operations")
    for index, (_node, operation, _output, _x) in enumerate(NODES):
        canvas.text(634, 120 + 18 * index, operation, size=11.5, mono=True)

    draw_headed_box(canvas, 880, 72, 400, 104, "Workflow  survey-42", "kind: Workflow")
    spec = (
        "- {name: load, operation: make-image}",
        "- {name: contrast, operation: adjust-contrast,",
        "   inputs: {Raw Image File: [load]}}",
        "- {name: stats, operation: image-stats, ...}",
    )
    for index, line in enumerate(spec):
        # SVG collapses leading spaces, so indent by moving the text instead.
        indent = (len(line) - len(line.lstrip())) * 11 * MONO_ADVANCE
        canvas.text(894 + indent, 118 + 16 * index, line.lstrip(), size=11, mono=True)
    canvas.arrow(812, 124, 878, 124)
    canvas.label(845, 114, "nodes use", size=10)

    # The controller watches the Workflow, writes its status, and creates the children.
    canvas.box(620, 236, 660, 58, fill=CONTROL_FILL, stroke=CONTROL_STROKE)
    canvas.text(640, 260, "controller (kopf)", size=13, weight="bold")
    canvas.text(640, 280, "validates the graph, starts each node when its upstreams succeed, reads every result",
                size=11, color=MUTED)
    canvas.arrow(1000, 178, 1000, 234, label="watches spec", label_at=(990, 210), label_anchor="end")
    canvas.arrow(1160, 234, 1160, 178, label="writes status", label_at=(1170, 210), label_anchor="start")

    job_top, job_height = 348, 104
    claim_top = 520
    canvas.box(620, claim_top, 660, 140, fill=DATA_FILL, stroke=DATA_STROKE, radius=10, stroke_width=1.8)
    canvas.text(640, claim_top + 24, "PersistentVolumeClaim  survey-42-r1-data", size=13, weight="bold")
    canvas.text(1264, claim_top + 24, "one per run, shared by its Jobs", size=11, color=MUTED, anchor="end")
    canvas.text(640, claim_top + 110, "rw", size=11, weight="bold", color=DATA_STROKE)
    canvas.text(662, claim_top + 110, "the node's own directory at /stage2/outputs/<port>/", size=11, mono=True)
    canvas.text(640, claim_top + 128, "ro", size=11, weight="bold", color=DATA_STROKE)
    canvas.text(662, claim_top + 128, "each upstream's directory at /stage2/inputs/<port>/<upstream>/", size=11,
                mono=True)

    for index, (node, operation, output, x) in enumerate(NODES):
        center = x + JOB_WIDTH / 2
        canvas.arrow(center, 294, center, job_top - 2, label="creates" if index == 0 else "",
                     label_at=(center + 8, 326), label_anchor="start")
        draw_headed_box(canvas, x, job_top, JOB_WIDTH, job_height, f"Job  {node}", fill=JOB_FILL, stroke=JOB_STROKE)
        canvas.text(x + 12, job_top + 48, "runs " + operation, size=11, mono=True)
        canvas.box(x + 12, job_top + 62, JOB_WIDTH - 24, 28, fill="#ffffff", stroke=BOX_STROKE, radius=5)
        canvas.text(x + JOB_WIDTH / 2, job_top + 81, "ConfigMap: payload.json", size=11, anchor="middle", mono=True)

        cell_x = x + 16
        canvas.box(cell_x, claim_top + 40, JOB_WIDTH - 32, 44, fill="#ffffff", stroke=DATA_STROKE, radius=5)
        canvas.text(cell_x + (JOB_WIDTH - 32) / 2, claim_top + 67, f"{node}/{output}", size=12,
                    anchor="middle", mono=True)
        canvas.arrow(center - 40, job_top + job_height, center - 40, claim_top + 38, color=DATA_STROKE,
                     label="rw", label_at=(center - 40, claim_top - 14))
        if index > 0:
            upstream_center = NODES[index - 1][3] + JOB_WIDTH / 2
            canvas.arrow(upstream_center + 50, claim_top + 38, center - 70, job_top + job_height + 2,
                         color=DATA_STROKE, dashed=True, label="ro",
                         label_at=((upstream_center + center) / 2 - 10, claim_top - 14))

def render() -> str:
    """Return the SVG text of the overview diagram."""
    canvas = Canvas()
    draw_operation_side(canvas)
    draw_workflow_side(canvas)
    canvas.arrow(522, 124, 618, 124)
    canvas.label(570, 114, "kubectl apply", size=10)
    return canvas.render()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/diagrams/overview.svg.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed SVG differs from the output")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help="SVG file to write (default: %(default)s)")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python docs/diagrams/overview.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
