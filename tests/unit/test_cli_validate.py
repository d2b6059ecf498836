"""stage2 validate: exit codes and error locations on real and broken manifests."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from stage2_operator.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))

BROKEN = textwrap.dedent("""\
    apiVersion: stage2.dev/v1alpha1
    kind: Operation
    metadata: {name: shout}
    spec:
      family: compute
      image: localhost/shout:dev
      inputs: {Text: {multiplicity: {min: 1}}}
      output: {name: output}
    ---
    apiVersion: stage2.dev/v1alpha1
    kind: Workflow
    metadata: {name: broken}
    spec:
      nodes:
      - {name: a, operation: shout, inputs: {Text: [nowhere]}}
      - {name: b, operation: missing-op}
    """)


def test_validate_examples_valid(capsys):
    assert main(["validate", *map(str, EXAMPLES)]) == 0
    assert "valid:" in capsys.readouterr().out


def test_validate_reports_file_document_path(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: document 2 (Workflow broken): spec.nodes[a].inputs[\"Text\"][0]: unknown upstream node" in out
    assert ('spec.nodes[b].operation: Operation "missing-op" is not defined in the given files;'
            " pass the file that defines it, add --operations-from PATH, or look it up with --cluster") in out


def test_validate_offline_ignores_namespace(tmp_path, capsys):
    # Offline, a missing Operation is missing from the files, whatever the namespace.
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert main(["validate", "--namespace", "geo", str(path)]) == 1
    out = capsys.readouterr().out
    assert 'Operation "missing-op" is not defined in the given files' in out
    assert "geo" not in out


def test_validate_json_format(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    assert main(["validate", "--format", "json", str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert {error["document"] for error in report["errors"]} == {2}
    assert all(error["file"] == str(path) for error in report["errors"])


def test_validate_invalid_operation(tmp_path, capsys):
    path = tmp_path / "op.json"
    path.write_text(json.dumps({"apiVersion": "stage2.dev/v1alpha1", "kind": "Operation",
                                "metadata": {"name": "src"},
                                "spec": {"family": "source", "image": "x", "inputs": {"In": {}}}}))
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "document 1 (Operation src): spec.inputs: a source operation takes no inputs" in out


@pytest.mark.parametrize("content", ["a: [1, 2", "{not json"], ids=["yaml", "json"])
def test_validate_unreadable_exits_2(tmp_path, capsys, content):
    path = tmp_path / ("bad.json" if content.startswith("{") else "bad.yaml")
    path.write_text(content)
    assert main(["validate", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_validate_missing_file_exits_2(tmp_path):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2


def test_validate_operations_from(tmp_path, capsys):
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(textwrap.dedent("""\
        apiVersion: stage2.dev/v1alpha1
        kind: Workflow
        metadata: {name: chain}
        spec:
          nodes:
          - {name: say, operation: text-source}
          - {name: shout, operation: text-upper, inputs: {Text: [say]}}
        """))
    assert main(["validate", str(workflow)]) == 1
    capsys.readouterr()
    operations = ROOT / "examples" / "operations"
    assert main(["validate", "--operations-from", str(operations), str(workflow)]) == 0


def test_validate_conflicting_duplicate_operation(tmp_path, capsys):
    first = (ROOT / "examples" / "operations" / "text-upper" / "operation.yaml").read_text()
    second = first.replace("retries: 0", "retries: 3")
    path = tmp_path / "twice.yaml"
    path.write_text(first + "---\n" + second)
    assert main(["validate", str(path)]) == 1
    assert "defined again with a different spec" in capsys.readouterr().out


def test_validate_skips_other_kinds(tmp_path, capsys):
    path = tmp_path / "mixed.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert main(["validate", str(path)]) == 0
    assert "1 other document(s) skipped" in capsys.readouterr().out
