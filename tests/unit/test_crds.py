"""Unit tests of the CRDs generated from the models and committed under crds/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from stage2_operator import crdgen
from tests.unit import samples

CRD_DIR = Path(__file__).resolve().parents[2] / "crds"
FORBIDDEN_KEYS = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "title", "patternProperties", "uniqueItems"}


def load(file_name: str) -> dict[str, Any]:
    return yaml.safe_load((CRD_DIR / file_name).read_text(encoding="utf-8"))


def walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Return every schema node with its path."""
    nodes = [(path, schema)]
    for name, child in schema.get("properties", {}).items():
        nodes.extend(walk(child, f"{path}.{name}"))
    if isinstance(schema.get("additionalProperties"), dict):
        nodes.extend(walk(schema["additionalProperties"], f"{path}.*"))
    if isinstance(schema.get("items"), dict):
        nodes.extend(walk(schema["items"], f"{path}[]"))
    return nodes


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def conforms(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Check `value` against the structural subset our CRDs use; return the mismatches."""
    if schema.get("x-kubernetes-int-or-string"):
        return [] if isinstance(value, (int, str)) and not isinstance(value, bool) else [f"{path}: not int-or-string"]
    kind = schema.get("type")
    if kind is None or path == ".metadata":
        # The API server validates metadata itself, whatever the CRD declares.
        return []
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if not checks[kind](value):
        return [f"{path}: expected {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{path}: not in enum")
    if kind == "object":
        for required in schema.get("required", []):
            if required not in value:
                problems.append(f"{path}.{required}: missing")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                problems.extend(conforms(item, properties[key], f"{path}.{key}"))
            elif isinstance(schema.get("additionalProperties"), dict):
                problems.extend(conforms(item, schema["additionalProperties"], f"{path}.{key}"))
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}.{key}: unknown field would be pruned")
    if kind == "array":
        for index, item in enumerate(value):
            problems.extend(conforms(item, schema["items"], f"{path}[{index}]"))
    return problems


def test_committed_crds_match_models() -> None:
    assert crdgen.check(CRD_DIR) == []


def test_check_reports_stale_file(tmp_path: Path) -> None:
    crdgen.write(tmp_path)
    stale = tmp_path / "workflows.stage2.dev.yaml"
    stale.write_text(stale.read_text().replace("s2wf", "old"))

    diffs = crdgen.check(tmp_path)

    assert len(diffs) == 1
    assert "+    - s2wf" in diffs[0]
    assert crdgen.main(["--check", "--output-dir", str(tmp_path)]) == 1


@pytest.mark.parametrize("file_name", ["operations.stage2.dev.yaml", "workflows.stage2.dev.yaml"])
def test_schema_is_structural(file_name: str) -> None:
    for path, node in walk(schema_of(load(file_name))):
        leftovers = FORBIDDEN_KEYS & node.keys()
        if node.get("x-kubernetes-int-or-string"):
            leftovers.discard("anyOf")
        assert not leftovers, f"{path}: {leftovers}"
        assert node.get("additionalProperties") is not False, path
        has_type = "type" in node or node.get("x-kubernetes-preserve-unknown-fields") or node.get(
            "x-kubernetes-int-or-string"
        )
        assert has_type, f"{path} has no type"
        if "properties" in node:
            assert "additionalProperties" not in node, path


@pytest.mark.parametrize(
    ("file_name", "kind", "short_name"),
    [("operations.stage2.dev.yaml", "Operation", "s2op"), ("workflows.stage2.dev.yaml", "Workflow", "s2wf")],
)
def test_names_version_and_scope(file_name: str, kind: str, short_name: str) -> None:
    crd = load(file_name)
    spec = crd["spec"]
    version = spec["versions"][0]

    assert spec["group"] == "stage2.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["kind"] == kind
    assert spec["names"]["shortNames"] == [short_name]
    assert spec["names"]["categories"] == ["stage2"]
    assert len(spec["versions"]) == 1
    assert version["name"] == "v1alpha1"
    assert version["served"] is True
    assert version["storage"] is True
    assert version["subresources"] == {"status": {}}


def test_workflow_printer_columns() -> None:
    columns = load("workflows.stage2.dev.yaml")["spec"]["versions"][0]["additionalPrinterColumns"]
    by_name = {column["name"].upper(): column for column in columns}

    assert by_name["PHASE"]["jsonPath"] == ".status.phase"
    assert by_name["PROGRESS"]["jsonPath"] == ".status.progress"
    assert by_name["AGE"]["jsonPath"] == ".metadata.creationTimestamp"
    assert by_name["AGE"]["type"] == "date"
    assert by_name["MESSAGE"]["jsonPath"] == ".status.message"
    assert by_name["MESSAGE"]["priority"] == 0


def test_operation_printer_columns() -> None:
    columns = load("operations.stage2.dev.yaml")["spec"]["versions"][0]["additionalPrinterColumns"]
    by_name = {column["name"].upper(): column for column in columns}

    assert by_name["FAMILY"]["jsonPath"] == ".spec.family"
    assert by_name["IMAGE"]["jsonPath"] == ".spec.image"
    assert by_name["READY"]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'


def test_nodes_are_list_map_keyed_by_name() -> None:
    nodes = schema_of(load("workflows.stage2.dev.yaml"))["properties"]["spec"]["properties"]["nodes"]

    assert nodes["x-kubernetes-list-type"] == "map"
    assert nodes["x-kubernetes-list-map-keys"] == ["name"]
    assert "name" in nodes["items"]["required"]
    assert nodes["maxItems"] == 2000


def test_workflow_status_schema() -> None:
    status = schema_of(load("workflows.stage2.dev.yaml"))["properties"]["status"]

    assert status["type"] == "object"
    assert status["properties"]["nodes"]["type"] == "object"
    assert status["properties"]["nodes"]["additionalProperties"]["properties"]["phase"]["enum"] == [
        "Pending",
        "Running",
        "Succeeded",
        "Failed",
        "Skipped",
    ]
    assert status["properties"]["conditions"]["type"] == "array"
    assert all("default" not in node for _, node in walk(status))


def test_free_form_fields_keep_unknown_fields() -> None:
    operation = schema_of(load("operations.stage2.dev.yaml"))["properties"]["spec"]
    workflow = schema_of(load("workflows.stage2.dev.yaml"))["properties"]["spec"]
    parameter = operation["properties"]["parameters"]["additionalProperties"]

    assert parameter["properties"]["default"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert parameter["properties"]["enum"]["items"] == {"x-kubernetes-preserve-unknown-fields": True}
    assert workflow["properties"]["nodes"]["items"]["properties"]["parameters"]["x-kubernetes-preserve-unknown-fields"]
    assert "x-kubernetes-preserve-unknown-fields" not in operation
    assert "x-kubernetes-preserve-unknown-fields" not in workflow


def test_cel_rules_on_bounds() -> None:
    operation = schema_of(load("operations.stage2.dev.yaml"))["properties"]["spec"]
    parameter = operation["properties"]["parameters"]["additionalProperties"]
    multiplicity = operation["properties"]["inputs"]["additionalProperties"]["properties"]["multiplicity"]

    assert parameter["x-kubernetes-validations"][0]["rule"] == "!has(self.min) || !has(self.max) || self.min <= self.max"
    assert multiplicity["x-kubernetes-validations"][0]["rule"] == (
        "!has(self.min) || !has(self.max) || self.min <= self.max"
    )


@pytest.mark.parametrize("name", sorted(samples.OPERATIONS))
def test_sample_operations_conform(name: str) -> None:
    schema = schema_of(load("operations.stage2.dev.yaml"))
    body = {"apiVersion": "stage2.dev/v1alpha1", "kind": "Operation", "metadata": {"name": name}}

    assert conforms({**body, "spec": samples.operation(name)}, schema) == []


@pytest.mark.parametrize("sample", [samples.TEXT_PIPELINE, samples.IMAGE_PIPELINE], ids=["text", "image"])
def test_sample_workflows_conform(sample: dict[str, Any]) -> None:
    schema = schema_of(load("workflows.stage2.dev.yaml"))
    body = {"apiVersion": "stage2.dev/v1alpha1", "kind": "Workflow", "metadata": {"name": "wf"}}

    assert conforms({**body, "spec": samples.workflow(sample)}, schema) == []


def test_conforms_finds_pruned_field() -> None:
    schema = schema_of(load("workflows.stage2.dev.yaml"))
    spec = samples.workflow(samples.TEXT_PIPELINE)
    spec["nodes"][0]["bogus"] = 1

    assert conforms({"spec": spec}, schema) == [".spec.nodes[0].bogus: unknown field would be pruned"]
