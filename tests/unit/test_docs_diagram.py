"""docs/diagrams/overview.svg: committed output of its generator, and well-formed SVG."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "docs" / "diagrams" / "overview.py"
SVG = ROOT / "docs" / "diagrams" / "overview.svg"
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def load_generator():
    spec = importlib.util.spec_from_file_location("docs_overview_diagram", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_overview_svg_is_regenerated_unchanged():
    generated = load_generator().render()
    committed = SVG.read_text(encoding="utf-8")
    assert generated == committed, "docs/diagrams/overview.svg is stale: run python docs/diagrams/overview.py"


def test_overview_check_mode_passes():
    assert load_generator().main(["--check"]) == 0


def test_overview_svg_has_expected_labels():
    root = ElementTree.parse(SVG).getroot()
    assert root.tag == SVG_NAMESPACE + "svg"
    texts = [element.text or "" for element in root.iter(SVG_NAMESPACE + "text")]
    joined = "\n".join(texts)
    for label in (
        "stage2_interface.py",
        "your tool",
        "payload JSON",
        "inputs",
        "outputs",
        "parameters",
        "context",
        "/stage2/outputs/<port>/data.<ext>",
        "Operations",
        "controller (kopf)",
        "Job  load",
        "ConfigMap: payload.json",
        "PersistentVolumeClaim  survey-42-r1-data",
        "each upstream's directory at /stage2/inputs/<port>/<upstream>/",
        "writes status",
    ):
        assert label in texts or label in joined, f"label {label!r} missing from the SVG"
    assert len([text for text in texts if text.startswith("Job  ")]) == 3
