"""stage2 init and stage2 import: generated operations validate, pass their test, and types map."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from stage2_operator.cli import main
from stage2_operator.cli.importer import ConversionError, convert


@pytest.mark.parametrize("family", ["source", "compute", "sink"])
def test_init_validates_and_passes_test(tmp_path, capsys, family):
    folder = tmp_path / f"my-{family}"
    assert main(["init", f"my-{family}", "--family", family, "--dir", str(folder)]) == 0
    assert (folder / "stage2_sdk" / "__init__.py").is_file()
    assert main(["validate", str(folder / "operation.yaml")]) == 0
    completed = subprocess.run([sys.executable, "-m", "pytest", "-q", "test_operation.py"],
                               cwd=folder, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_init_rejects_invalid_name(tmp_path):
    assert main(["init", "Bad_Name", "--dir", str(tmp_path / "x")]) == 2


def test_init_keeps_nonempty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["init", "op", "--dir", str(tmp_path)]) == 1


DEFINITION = {
    "name": "Adjust Contrast",
    "family": "compute",
    "category": "image",
    "thumbnail": "",
    "parameters": {
        "Contrast Factor": {"type": "float", "description": "factor", "default_value": 1.0,
                            "nullable": False, "min": 0, "max": 10},
        "Iterations": {"type": "int", "description": "n", "default_value": 1, "nullable": False},
        "Label": {"type": "str", "description": "", "default_value": None, "nullable": True},
        "Automatic ROI": {"type": "bool", "description": "", "default_value": False, "nullable": False},
        "Points": {"type": "list", "description": "", "default_value": [], "nullable": False},
        "Options": {"type": "dict", "description": "", "default_value": {}, "nullable": False},
    },
    "inputs": {
        "Raw Image File": {"description": "image", "multiplicity": {"min": 1, "max": 1}},
        "Masks": {"description": "masks", "multiplicity": {"min": 1, "max": "*"}},
        "Extra": {"description": "more", "multiplicity": {"min": 1, "max": None}},
    },
    "output": {"description": "The adjusted image"},
}


def test_import_maps_types_and_multiplicity():
    manifest = convert(DEFINITION, image="localhost/adjust:dev")
    assert manifest["metadata"]["name"] == "adjust-contrast"
    spec = manifest["spec"]
    types = {name: parameter["type"] for name, parameter in spec["parameters"].items()}
    assert types == {"Contrast Factor": "number", "Iterations": "integer", "Label": "string",
                     "Automatic ROI": "boolean", "Points": "array", "Options": "object"}
    assert spec["parameters"]["Contrast Factor"]["default"] == 1.0
    assert spec["inputs"]["Raw Image File"]["multiplicity"] == {"min": 1, "max": 1}
    assert spec["inputs"]["Masks"]["multiplicity"] == {"min": 1}
    assert spec["inputs"]["Extra"]["multiplicity"] == {"min": 1}
    assert spec["output"] == {"name": "output", "description": "The adjusted image"}


def test_import_rejects_unknown_type():
    definition = json.loads(json.dumps(DEFINITION))
    definition["parameters"]["Iterations"]["type"] = "complex"
    with pytest.raises(ConversionError, match="Iterations"):
        convert(definition, image="x")


def test_import_command_writes_valid_yaml(tmp_path, capsys):
    source = tmp_path / "def.json"
    source.write_text(json.dumps(DEFINITION))
    target = tmp_path / "operation.yaml"
    assert main(["import", str(source), "--image", "localhost/adjust:dev", "--name", "contrast", "-o", str(target)]) == 0
    document = yaml.safe_load(target.read_text())
    assert document["metadata"]["name"] == "contrast"
    assert main(["validate", str(target)]) == 0


def test_import_invalid_family_exits_1(tmp_path, capsys):
    definition = dict(DEFINITION, family="source")
    source = tmp_path / "def.json"
    source.write_text(json.dumps(definition))
    assert main(["import", str(source), "--image", "x"]) == 1
    assert "source operation takes no inputs" in capsys.readouterr().err


def test_import_unreadable_exits_2(tmp_path):
    source = tmp_path / "def.json"
    source.write_text("{")
    assert main(["import", str(source), "--image", "x"]) == 2
