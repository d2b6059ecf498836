"""stage2 run on the examples that test_cli_run.py leaves out, so that all six run locally.

test_cli_run.py covers 01-linear-chain, 02-diamond and 05-failure-retry. This
file covers 03-image-pipeline, 04-wide-fan-out and 06-larger-graph. It also
checks that one of the two files runs every example in manifests/examples.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stage2_operator.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests" / "examples"
COVERED_IN_TEST_CLI_RUN = {"01-linear-chain.yaml", "02-diamond.yaml", "05-failure-retry.yaml"}
COVERED_HERE = {"03-image-pipeline.yaml", "04-wide-fan-out.yaml", "06-larger-graph.yaml"}


def require_image_libraries() -> None:
    for module in ("PIL", "numpy", "shapely"):
        pytest.importorskip(module, reason=f"{module} is needed: pip install -e '.[test]'")


def run_example(name: str, workdir: Path) -> tuple[int, dict, Path]:
    code = main(["run", "--quiet", "--workdir", str(workdir), str(EXAMPLES / name)])
    (run_dir,) = workdir.iterdir()
    status = json.loads((run_dir / "_run" / "status.json").read_text())
    return code, status, run_dir


def phases(status: dict) -> dict[str, str]:
    return {name: node["phase"] for name, node in status["nodes"].items()}


def test_every_example_is_covered():
    examples = {path.name for path in EXAMPLES.glob("[0-9][0-9]-*.yaml")}
    assert len(examples) == 6
    assert examples == COVERED_IN_TEST_CLI_RUN | COVERED_HERE
    source = (Path(__file__).parent / "test_cli_run.py").read_text()
    for name in COVERED_IN_TEST_CLI_RUN:
        assert f'"{name}"' in source, f"{name} is no longer run by test_cli_run.py"


def test_run_image_pipeline(tmp_path):
    require_image_libraries()
    code, status, run_dir = run_example("03-image-pipeline.yaml", tmp_path)
    assert code == 0
    assert status["phase"] == "Succeeded"
    assert status["progress"] == "4/4"
    assert phases(status) == {"make": "Succeeded", "contrast": "Succeeded", "stats": "Succeeded",
                              "report": "Succeeded"}
    assert status["nodes"]["contrast"]["outputs"] == ["data.png"]

    from PIL import Image

    with Image.open(run_dir / "contrast" / "data.png") as image:
        assert image.size == (256, 192)
    stats = json.loads((run_dir / "stats" / "data.json").read_text())
    assert stats["width"] == 256
    assert stats["height"] == 192
    assert set(stats["bands"]) == {"R", "G", "B"}
    # The report is a sink: it writes no output and logs its HTML.
    assert not (run_dir / "report").exists()
    assert "Contrast report" in (run_dir / "_run" / "report" / "log.txt").read_text()


def test_run_wide_fan_out(tmp_path):
    code, status, run_dir = run_example("04-wide-fan-out.yaml", tmp_path)
    assert code == 0
    assert status["phase"] == "Succeeded"
    assert status["progress"] == "10/10"
    assert set(phases(status).values()) == {"Succeeded"}
    assert (run_dir / "upper-1" / "data.txt").read_text() == "FAN OUT\n"
    # gather concatenates the eight branches in the order its Text port lists them.
    assert (run_dir / "gather" / "data.txt").read_text() == "FAN OUT\n" * 8
    payload = json.loads((run_dir / "_run" / "gather" / "payload.json").read_text())
    assert payload["inputs"]["Text"] == [str(run_dir / f"upper-{index}" / "data.txt") for index in range(1, 9)]


def test_run_larger_graph(tmp_path):
    require_image_libraries()
    code, status, run_dir = run_example("06-larger-graph.yaml", tmp_path)
    assert code == 0
    assert status["phase"] == "Succeeded"
    assert status["progress"] == "22/22"
    assert set(phases(status).values()) == {"Succeeded"}
    assert status["nodes"]["blend-all"]["outputs"] == ["data.png"]
    assert status["nodes"]["stats-all"]["outputs"] == ["data.json"]
    assert status["nodes"]["buffer-all"]["outputs"] == ["data.geojson"]

    geometry = json.loads((run_dir / "buffer-all" / "data.geojson").read_text())
    assert geometry["type"] == "FeatureCollection"
    assert geometry["features"]
    stats = json.loads((run_dir / "stats-all" / "data.json").read_text())
    assert stats["width"] > 0
    assert "operation succeeded" in (run_dir / "_run" / "summary" / "log.txt").read_text()
