"""Check the example workflows in manifests/examples and run them locally, without a cluster.

The local runner here follows the operation contract. It runs nodes in
dependency order and passes each upstream's output file (or directory) as an
input path. It retries a failing node up to its retries with context.attempt
counting up, and it skips the nodes downstream of a failure.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests" / "examples"
OPERATIONS = ROOT / "examples" / "operations"
for extra_path in (ROOT / "sdk", ROOT / "examples"):
    if str(extra_path) not in sys.path:
        sys.path.insert(0, str(extra_path))

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read the example manifests")

import stage2_sdk  # noqa: E402
import sync_manifests  # noqa: E402

MANIFEST_PATHS = sorted(MANIFESTS.glob("*.yaml"))
IMPORTS_BY_CATEGORY = {"image": ["PIL", "numpy"], "geometry": ["shapely", "numpy"], "visualization": ["PIL"]}


def load_example(path):
    """Return (operation specs by name, workflow document) from an example file."""
    documents = [document for document in yaml.safe_load_all(path.read_text()) if document]
    operations = {document["metadata"]["name"]: document["spec"]
                  for document in documents if document["kind"] == "Operation"}
    workflows = [document for document in documents if document["kind"] == "Workflow"]
    assert len(workflows) == 1, path.name
    return operations, workflows[0]


def dependency_order(nodes):
    """Return the nodes sorted so every node comes after its upstreams, failing the test on a cycle."""
    by_name = {node["name"]: node for node in nodes}
    upstreams = {node["name"]: {upstream for names in (node.get("inputs") or {}).values() for upstream in names}
                 for node in nodes}
    ordered = []
    done = set()
    while len(ordered) < len(nodes):
        ready = [name for name in by_name if name not in done and upstreams[name] <= done]
        assert ready, "the graph has a cycle among: {}".format(sorted(set(by_name) - done))
        for name in ready:
            ordered.append(by_name[name])
            done.add(name)
    return ordered


def node_payload(node, spec, work_dir, outputs_by_node, attempt, workflow_name):
    inputs = {port: [str(outputs_by_node[upstream]) for upstream in upstreams]
              for port, upstreams in (node.get("inputs") or {}).items()}
    output = spec.get("output")
    outputs = {output.get("name", "output"): str(work_dir / node["name"] / "data")} if output else {}
    document = {"context": {"workflow": workflow_name, "namespace": "default", "node": node["name"],
                            "operation": node["operation"], "run": "1", "attempt": attempt},
                "inputs": inputs, "outputs": outputs, "parameters": node.get("parameters") or {}}
    return stage2_sdk.validate_payload(stage2_sdk.parse_payload(document), spec)


def run_workflow(path, work_dir):
    """Run every node of the example locally and return {node: result} with phase, attempts, exit code, stdout."""
    operations, workflow = load_example(path)
    outputs_by_node = {}
    results = {}
    environment = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    environment.pop("STAGE2_PAYLOAD_FILE", None)

    for node in dependency_order(workflow["spec"]["nodes"]):
        upstreams = [name for names in (node.get("inputs") or {}).values() for name in names]
        if any(results[name]["phase"] != "Succeeded" for name in upstreams):
            results[node["name"]] = {"phase": "Skipped", "attempts": 0}
            continue

        spec = operations[node["operation"]]
        retries = node.get("retries", spec.get("retries", 0))
        for attempt in range(1, retries + 2):
            payload = node_payload(node, spec, work_dir, outputs_by_node, attempt, workflow["metadata"]["name"])
            completed = subprocess.run(
                [sys.executable, "stage2_interface.py", json.dumps(payload.as_dict())],
                cwd=str(OPERATIONS / node["operation"]), capture_output=True, text=True,
                env=environment, timeout=120)
            if completed.returncode == 0:
                break
        phase = "Succeeded" if completed.returncode == 0 else "Failed"
        results[node["name"]] = {"phase": phase, "attempts": attempt, "exit_code": completed.returncode,
                                 "stdout": completed.stdout, "stderr": completed.stderr}
        if phase == "Succeeded" and payload.output_name is not None:
            written = payload.written_outputs()
            assert len(written) == 1, (node["name"], written)
            outputs_by_node[node["name"]] = written[0]
    return results, outputs_by_node


def require_operations(path):
    operations, _ = load_example(path)
    for spec in operations.values():
        for module in IMPORTS_BY_CATEGORY.get(spec.get("category"), []):
            pytest.importorskip(module, reason="{} is not installed; run pip install -r "
                                               "examples/requirements-dev.txt".format(module))


# Structure


def test_examples_are_numbered():
    names = [path.name for path in MANIFEST_PATHS]
    assert len(names) >= 6
    for index, name in enumerate(names, start=1):
        assert re.match(r"^{:02d}-[a-z0-9-]+\.yaml$".format(index), name), name


def test_operation_documents_in_sync():
    for path in MANIFEST_PATHS:
        text = path.read_text()
        assert sync_manifests.render_manifest(text, path) == text, "run: python examples/sync_manifests.py"


@pytest.mark.parametrize("path", MANIFEST_PATHS, ids=lambda path: path.name)
def test_operations_match_examples(path):
    operations, workflow = load_example(path)
    used = {node["operation"] for node in workflow["spec"]["nodes"]}
    assert set(operations) == used
    for name, spec in operations.items():
        assert spec == yaml.safe_load((OPERATIONS / name / "operation.yaml").read_text())["spec"]


@pytest.mark.parametrize("path", MANIFEST_PATHS, ids=lambda path: path.name)
def test_nodes_wire_declared_ports(path):
    operations, workflow = load_example(path)
    nodes = workflow["spec"]["nodes"]
    names = [node["name"] for node in nodes]
    assert len(names) == len(set(names))
    for node in dependency_order(nodes):
        spec = operations[node["operation"]]
        for port, upstreams in (node.get("inputs") or {}).items():
            assert port in (spec.get("inputs") or {}), (node["name"], port)
            for upstream in upstreams:
                assert upstream in names, (node["name"], upstream)
        # Fake paths are enough here: validation checks port counts and parameters, not files.
        fake_outputs = {name: "/in/{}/data.txt".format(name) for name in names}
        node_payload(node, spec, Path("/out"), fake_outputs, 1, workflow["metadata"]["name"])


@pytest.mark.parametrize("path", MANIFEST_PATHS, ids=lambda path: path.name)
def test_workflow_fits_operator_model(path):
    models = pytest.importorskip("stage2_operator.models", reason="the operator's models need pydantic")
    operations, workflow = load_example(path)
    models.WorkflowSpec.model_validate(workflow["spec"])
    for spec in operations.values():
        models.OperationSpec.model_validate(spec)


def test_larger_graph_has_20_nodes():
    _, workflow = load_example(MANIFESTS / "06-larger-graph.yaml")
    assert len(workflow["spec"]["nodes"]) >= 20


# Local runs


def test_linear_chain_runs(tmp_path):
    results, outputs = run_workflow(MANIFESTS / "01-linear-chain.yaml", tmp_path)
    assert {name: result["phase"] for name, result in results.items()} == {
        "hello": "Succeeded", "upper": "Succeeded", "upper-again": "Succeeded"}
    assert outputs["upper-again"].name == "data.txt"
    assert outputs["upper-again"].read_text() == "HELLO, STAGE2\n"


def test_diamond_runs(tmp_path):
    require_operations(MANIFESTS / "02-diamond.yaml")
    from PIL import Image

    results, outputs = run_workflow(MANIFESTS / "02-diamond.yaml", tmp_path)
    assert all(result["phase"] == "Succeeded" for result in results.values()), results
    with Image.open(outputs["blend"]) as image:
        assert image.size == (96, 64)


def test_image_pipeline_runs(tmp_path):
    require_operations(MANIFESTS / "03-image-pipeline.yaml")
    results, outputs = run_workflow(MANIFESTS / "03-image-pipeline.yaml", tmp_path)
    assert all(result["phase"] == "Succeeded" for result in results.values()), results
    statistics = json.loads(outputs["stats"].read_text())
    assert (statistics["width"], statistics["height"]) == (256, 192)
    assert len(statistics["luminance"]["histogram"]["counts"]) == 8
    assert "report" not in outputs
    assert results["report"]["stdout"].startswith("Contrast report\n")
    assert "image: 256x192 RGB (PNG)" in results["report"]["stdout"]


def test_wide_fan_out_runs(tmp_path):
    results, outputs = run_workflow(MANIFESTS / "04-wide-fan-out.yaml", tmp_path)
    assert len(results) == 10
    assert all(result["phase"] == "Succeeded" for result in results.values()), results
    assert outputs["gather"].read_text() == "FAN OUT\n" * 8


def test_failure_retry_runs(tmp_path):
    results, outputs = run_workflow(MANIFESTS / "05-failure-retry.yaml", tmp_path)
    assert results["flaky"]["phase"] == "Succeeded"
    assert results["flaky"]["attempts"] == 2
    assert outputs["after-flaky"].read_text() == "RETRY ME\n"
    assert results["broken"]["phase"] == "Failed"
    assert results["broken"]["attempts"] == 2
    assert results["broken"]["exit_code"] == 3
    assert results["after-broken"]["phase"] == "Skipped"


def test_larger_graph_runs(tmp_path):
    require_operations(MANIFESTS / "06-larger-graph.yaml")
    results, outputs = run_workflow(MANIFESTS / "06-larger-graph.yaml", tmp_path)
    failed = {name: result.get("stderr") for name, result in results.items() if result["phase"] != "Succeeded"}
    assert failed == {}
    assert len(results) == 22
    collection = json.loads(outputs["buffer-all"].read_text())
    assert len(collection["features"]) == 1
    assert collection["features"][0]["properties"]["dissolved"] == 3
    assert results["summary"]["stdout"].startswith("<!DOCTYPE html>")
