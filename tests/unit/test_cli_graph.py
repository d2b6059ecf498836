"""stage2 graph: Mermaid, DOT and SVG of example workflows, and the layered layout."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from stage2_operator.cli import main
from stage2_operator.cli.diagram import build_diagram
from stage2_operator.cli.layout import Box, LayoutEdge, assign_layers, layout
from stage2_operator.cli.svg import render_svg

ROOT = Path(__file__).resolve().parents[2]
DIAMOND = ROOT / "manifests" / "examples" / "02-diamond.yaml"
LARGER = ROOT / "manifests" / "examples" / "06-larger-graph.yaml"
SVG = "{http://www.w3.org/2000/svg}"


def test_graph_mermaid_edges(capsys):
    assert main(["graph", str(DIAMOND)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR")
    assert 'n0["<b>make</b><br/>make-image"]' in out
    assert 'n1 -->|"Images"| n3' in out
    assert out.count("-->") == 4


def test_graph_dot_ports(capsys):
    assert main(["graph", "--format", "dot", str(DIAMOND)]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "diamond"')
    assert 'n0:out:e -> n1:in0:w [label="Raw Image File"];' in out


def test_graph_svg_file(tmp_path):
    output = tmp_path / "larger.svg"
    assert main(["graph", str(LARGER), "-o", str(output)]) == 0
    root = ElementTree.parse(output).getroot()
    nodes = root.findall(f"{SVG}g")
    assert len(nodes) == 22
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "summary" in texts
    assert "Raw Image File" in texts


def test_svg_boxes_do_not_overlap():
    import yaml

    documents = list(yaml.safe_load_all(LARGER.read_text()))
    workflow = next(document for document in documents if document and document["kind"] == "Workflow")
    diagram = build_diagram(workflow, {})
    root = ElementTree.fromstring(render_svg(diagram))
    boxes = []
    for group in root.findall(f"{SVG}g"):
        x, y = map(float, group.get("transform")[len("translate("):-1].split(","))
        rect = group.findall(f"{SVG}rect")[-1]
        boxes.append((x, y, x + float(rect.get("width")), y + float(rect.get("height"))))
    for index, first in enumerate(boxes):
        for second in boxes[index + 1:]:
            overlap = first[0] < second[2] and second[0] < first[2] and first[1] < second[3] and second[1] < first[3]
            assert not overlap, (first, second)


def test_svg_live_phase_colours():
    workflow = {
        "metadata": {"name": "w"},
        "spec": {"nodes": [{"name": "a", "operation": "op"}, {"name": "b", "operation": "op", "inputs": {"In": ["a"]}}]},
        "status": {"phase": "Failed", "nodes": {"a": {"phase": "Succeeded"}, "b": {"phase": "Failed"}}},
    }
    svg = render_svg(build_diagram(workflow, {}, live=True))
    assert 'class="node phase-Succeeded"' in svg
    assert 'class="node phase-Failed"' in svg
    assert "#1e8e3e" in svg
    assert "#d93025" in svg


def test_layers_longest_path():
    edges = [LayoutEdge("a", "b", 0, 0), LayoutEdge("b", "c", 0, 0), LayoutEdge("a", "c", 0, 0)]
    assert assign_layers(["a", "b", "c"], edges) == {"a": 0, "b": 1, "c": 2}


def test_layout_long_edge_bends_through_dummy():
    edges = [LayoutEdge("a", "b", 10, 10), LayoutEdge("b", "c", 10, 10), LayoutEdge("a", "c", 10, 10)]
    boxes = {name: Box(100, 40) for name in "abc"}
    result = layout(["a", "b", "c"], boxes, edges)
    assert len(result.routes[2]) == 4
    assert result.positions["a"][0] < result.positions["b"][0] < result.positions["c"][0]


def test_layout_tolerates_cycle():
    edges = [LayoutEdge("a", "b", 0, 0), LayoutEdge("b", "a", 0, 0)]
    result = layout(["a", "b"], {"a": Box(50, 20), "b": Box(50, 20)}, edges)
    assert set(result.positions) == {"a", "b"}


def test_graph_without_file_or_name_exits_2(capsys):
    assert main(["graph"]) == 2
    assert "--name" in capsys.readouterr().err
