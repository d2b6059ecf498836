"""Unit tests of the operation-author SDK in sdk/stage2_sdk (no cluster)."""

import ast
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"
if str(SDK_DIR) not in sys.path:
    sys.path.insert(0, str(SDK_DIR))

import stage2_sdk  # noqa: E402
from stage2_sdk import (EXIT_FAILURE, EXIT_INVALID_PAYLOAD, EXIT_SUCCESS, ManifestError,  # noqa: E402
                        OperationFailed, PayloadError, execute, load_payload, parse_payload,
                        validate_payload)

SPEC = {
    "family": "compute",
    "parameters": {
        "Contrast Factor": {"type": "number", "default": 1.0, "min": 0, "max": 10},
        "Label": {"type": "string", "default": "x", "min": 1, "max": 5},
        "Mode": {"type": "string", "default": "fast", "enum": ["fast", "slow"]},
        "Count": {"type": "integer", "default": 2},
        "Seed": {"type": "integer", "default": None, "nullable": True},
        "Tags": {"type": "array", "default": [], "max": 2},
        "Extra": {"type": "object", "default": {}},
        "Enabled": {"type": "boolean", "default": False},
    },
    "inputs": {
        "Images": {"multiplicity": {"min": 1, "max": 2}},
        "Notes": {"multiplicity": {"min": 1}},
    },
    "output": {"name": "output"},
}


def make_document(tmp_path, **overrides):
    document = {
        "context": {"workflow": "survey-42", "namespace": "geo", "node": "clip",
                    "operation": "clip-raster", "run": "3", "attempt": 1},
        "inputs": {"Images": [str(tmp_path / "in" / "a.png")], "Notes": [str(tmp_path / "in" / "n.txt")]},
        "outputs": {"output": str(tmp_path / "out" / "data")},
        "parameters": {"Contrast Factor": 1.4},
    }
    document.update(overrides)
    return document


# Parsing and loading


def test_parse_reads_context(tmp_path):
    payload = parse_payload(json.dumps(make_document(tmp_path)))
    assert payload.context.workflow == "survey-42"
    assert payload.context.node == "clip"
    assert payload.context.run == "3"
    assert payload.context.attempt == 1


def test_parse_without_context_uses_defaults(tmp_path):
    document = make_document(tmp_path)
    del document["context"]
    payload = parse_payload(document)
    assert payload.context.attempt == 1
    assert payload.context.workflow == ""


@pytest.mark.parametrize("document, field", [
    ("not json", "payload"),
    ("[1, 2]", "payload"),
    ({"outputs": {}, "parameters": {}}, "inputs"),
    ({"inputs": {}, "parameters": {}}, "outputs"),
    ({"inputs": {}, "outputs": {}}, "parameters"),
    ({"inputs": [], "outputs": {}, "parameters": {}}, "inputs"),
    ({"inputs": {"A": "x.png"}, "outputs": {}, "parameters": {}}, "inputs.A"),
    ({"inputs": {"A": ["", "b"]}, "outputs": {}, "parameters": {}}, "inputs.A[0]"),
    ({"inputs": {}, "outputs": {"output": "/o/result"}, "parameters": {}}, "outputs.output"),
    ({"inputs": {}, "outputs": {"a": "/o/data", "b": "/p/data"}, "parameters": {}}, "outputs"),
    ({"inputs": {}, "outputs": {}, "parameters": {}, "context": {"attempt": 0}}, "context.attempt"),
    ({"inputs": {}, "outputs": {}, "parameters": {}, "context": {"node": ["x"]}}, "context.node"),
])
def test_parse_rejects_invalid_field(document, field):
    if not isinstance(document, str):
        document = json.dumps(document)
    with pytest.raises(PayloadError) as caught:
        parse_payload(document)
    assert caught.value.field == field
    assert repr(field) in str(caught.value)


def test_load_from_argument(tmp_path):
    payload = load_payload([json.dumps(make_document(tmp_path))], environ={})
    assert payload.parameter("Contrast Factor", float) == 1.4


def test_load_from_payload_file_option(tmp_path):
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(make_document(tmp_path)))
    payload = load_payload(["--payload-file", str(path)], environ={})
    assert payload.context.operation == "clip-raster"


def test_load_from_environment_file(tmp_path):
    path = tmp_path / "payload.json"
    path.write_text(json.dumps(make_document(tmp_path)))
    payload = load_payload([], environ={"STAGE2_PAYLOAD_FILE": str(path)})
    assert payload.context.namespace == "geo"


def test_load_without_payload_names_sources():
    with pytest.raises(PayloadError) as caught:
        load_payload([], environ={})
    assert "--payload-file" in str(caught.value)
    assert "STAGE2_PAYLOAD_FILE" in str(caught.value)


def test_load_missing_file_is_payload_error(tmp_path):
    with pytest.raises(PayloadError) as caught:
        load_payload(["--payload-file", str(tmp_path / "absent.json")], environ={})
    assert caught.value.field == "payload"
    assert "absent.json" in str(caught.value)


def test_load_rejects_argument_and_file():
    with pytest.raises(SystemExit) as caught:
        load_payload(["{}", "--payload-file", "x.json"], environ={})
    assert caught.value.code == 2


# Parameters


@pytest.mark.parametrize("value, kind, expected", [
    (1.5, float, 1.5),
    (2, float, 2.0),
    (3, int, 3),
    (3.0, int, 3),
    ("a", str, "a"),
    (True, bool, True),
    ([1], list, [1]),
    ({"a": 1}, dict, {"a": 1}),
    ({"a": 1}, None, {"a": 1}),
])
def test_parameter_converts(tmp_path, value, kind, expected):
    payload = parse_payload(make_document(tmp_path, parameters={"P": value}))
    result = payload.parameter("P", kind)
    assert result == expected
    if kind is not None:
        assert type(result) is kind


@pytest.mark.parametrize("value, kind", [
    (True, int), (True, float), (1.5, int), ("1", float), (1, bool), (1, str), ({}, list),
])
def test_parameter_rejects_wrong_type(tmp_path, value, kind):
    payload = parse_payload(make_document(tmp_path, parameters={"P": value}))
    with pytest.raises(PayloadError) as caught:
        payload.parameter("P", kind)
    assert caught.value.field == "parameters.P"


def test_parameter_missing_uses_default(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    assert payload.parameter("Absent", int, default=7) == 7


def test_parameter_missing_without_default(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    with pytest.raises(PayloadError) as caught:
        payload.parameter("Absent", int)
    assert caught.value.field == "parameters.Absent"
    assert "'Contrast Factor'" in str(caught.value)


def test_parameter_null_needs_nullable(tmp_path):
    payload = parse_payload(make_document(tmp_path, parameters={"Seed": None}))
    assert payload.parameter("Seed", int, nullable=True) is None
    with pytest.raises(PayloadError):
        payload.parameter("Seed", int)


def test_parameter_unsupported_kind(tmp_path):
    payload = parse_payload(make_document(tmp_path, parameters={"P": 1}))
    with pytest.raises(TypeError):
        payload.parameter("P", complex)


# Inputs and output


def test_inputs_keep_wiring_order(tmp_path):
    payload = parse_payload(make_document(tmp_path, inputs={"Images": ["/i/b/data.png", "/i/a/data.png"]}))
    assert payload.inputs("Images") == [Path("/i/b/data.png"), Path("/i/a/data.png")]
    assert payload.input_ports == ["Images"]


def test_single_input_rejects_several(tmp_path):
    payload = parse_payload(make_document(tmp_path, inputs={"Images": ["/i/b/data.png", "/i/a/data.png"]}))
    with pytest.raises(PayloadError) as caught:
        payload.input("Images")
    assert caught.value.field == "inputs.Images"
    assert "got 2" in str(caught.value)


def test_unknown_input_port(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    with pytest.raises(PayloadError) as caught:
        payload.inputs("Image")
    assert caught.value.field == "inputs.Image"
    assert "'Images'" in str(caught.value)


def test_output_file_adds_extension(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    assert payload.output_name == "output"
    assert payload.output_file("png") == tmp_path / "out" / "data.png"
    assert payload.output_file(".tar.gz") == tmp_path / "out" / "data.tar.gz"
    assert (tmp_path / "out").is_dir()


@pytest.mark.parametrize("extension", ["", ".", "a/b", "..", "png.", "../x"])
def test_output_file_rejects_bad_extension(tmp_path, extension):
    payload = parse_payload(make_document(tmp_path))
    with pytest.raises(ValueError):
        payload.output_file(extension)


def test_output_dir_created(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    directory = payload.output_dir()
    assert directory == tmp_path / "out" / "data"
    assert directory.is_dir()
    assert payload.written_outputs() == [directory]


def test_written_outputs_ignores_other_names(tmp_path):
    payload = parse_payload(make_document(tmp_path))
    payload.output_file("txt").write_text("x")
    (tmp_path / "out" / "database.txt").write_text("not ours")
    assert payload.written_outputs() == [tmp_path / "out" / "data.txt"]


def test_sink_has_no_output_path(tmp_path):
    payload = parse_payload(make_document(tmp_path, outputs={}))
    assert payload.output_name is None
    assert payload.written_outputs() == []
    with pytest.raises(PayloadError) as caught:
        payload.output_file("png")
    assert caught.value.field == "outputs"


# Validation against a manifest


def test_validate_fills_defaults(tmp_path):
    payload = validate_payload(parse_payload(make_document(tmp_path)), SPEC)
    assert payload.parameters["Contrast Factor"] == 1.4
    assert payload.parameters["Mode"] == "fast"
    assert payload.parameters["Seed"] is None
    assert payload.context.node == "clip"


def test_validate_converts_integral_float(tmp_path):
    document = make_document(tmp_path, parameters={"Count": 4.0})
    payload = validate_payload(parse_payload(document), SPEC)
    assert type(payload.parameters["Count"]) is int


def test_validate_accepts_whole_manifest(tmp_path):
    manifest = {"apiVersion": "stage2.dev/v1alpha1", "kind": "Operation", "spec": SPEC}
    payload = validate_payload(parse_payload(make_document(tmp_path)), stage2_sdk.operation_spec(manifest))
    assert payload.parameters["Count"] == 2


@pytest.mark.parametrize("parameters, field, words", [
    ({"Contrast Factor": "high"}, "parameters.Contrast Factor", "expected a number"),
    ({"Contrast Factor": 11}, "parameters.Contrast Factor", "above the maximum"),
    ({"Contrast Factor": -1}, "parameters.Contrast Factor", "below the minimum"),
    ({"Contrast Factor": None}, "parameters.Contrast Factor", "must not be null"),
    ({"Label": ""}, "parameters.Label", "length 0 is below"),
    ({"Label": "toolong"}, "parameters.Label", "length 7 is above"),
    ({"Mode": "medium"}, "parameters.Mode", "expected one of"),
    ({"Count": 2.5}, "parameters.Count", "expected an integer"),
    ({"Tags": [1, 2, 3]}, "parameters.Tags", "length 3 is above"),
    ({"Extra": []}, "parameters.Extra", "expected an object"),
    ({"Enabled": "yes"}, "parameters.Enabled", "expected a boolean"),
    ({"Unknown": 1}, "parameters.Unknown", "not declared"),
])
def test_validate_rejects_parameter(tmp_path, parameters, field, words):
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(make_document(tmp_path, parameters=parameters)), SPEC)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_validate_requires_parameter_without_default(tmp_path):
    spec = {"parameters": {"Name": {"type": "string"}}, "inputs": {}, "output": {}}
    document = make_document(tmp_path, inputs={}, parameters={})
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(document), spec)
    assert caught.value.field == "parameters.Name"


def test_validate_nullable_without_default_is_null(tmp_path):
    spec = {"parameters": {"Name": {"type": "string", "nullable": True}}, "inputs": {}, "output": {}}
    document = make_document(tmp_path, inputs={}, parameters={})
    payload = validate_payload(parse_payload(document), spec)
    assert payload.parameters == {"Name": None}


def test_validate_port_without_multiplicity_takes_one(tmp_path):
    spec = {"parameters": {}, "inputs": {"Image": {"description": "x"}}, "output": {}}
    document = make_document(tmp_path, inputs={"Image": ["/a", "/b"]}, parameters={})
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(document), spec)
    assert "at most 1" in str(caught.value)


def test_validate_rejects_unknown_type_in_manifest(tmp_path):
    spec = {"parameters": {"Name": {"type": "text", "default": "a"}}, "inputs": {}, "output": {}}
    document = make_document(tmp_path, inputs={}, parameters={})
    with pytest.raises(ManifestError):
        validate_payload(parse_payload(document), spec)


@pytest.mark.parametrize("inputs, field, words", [
    ({"Notes": ["/n"]}, "inputs.Images", "missing"),
    ({"Images": [], "Notes": ["/n"]}, "inputs.Images", "at least 1"),
    ({"Images": ["/a", "/b", "/c"], "Notes": ["/n"]}, "inputs.Images", "at most 2"),
    ({"Images": ["/a"], "Notes": ["/n"], "Other": ["/o"]}, "inputs.Other", "not declared"),
])
def test_validate_rejects_inputs(tmp_path, inputs, field, words):
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(make_document(tmp_path, inputs=inputs)), SPEC)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_validate_accepts_unbounded_port(tmp_path):
    inputs = {"Images": ["/a"], "Notes": ["/n{}".format(i) for i in range(50)]}
    payload = validate_payload(parse_payload(make_document(tmp_path, inputs=inputs)), SPEC)
    assert len(payload.inputs("Notes")) == 50


def test_validate_output_name(tmp_path):
    document = make_document(tmp_path, outputs={"result": str(tmp_path / "data")})
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(document), SPEC)
    assert caught.value.field == "outputs"


def test_validate_sink_rejects_output(tmp_path):
    spec = dict(SPEC, output=None)
    with pytest.raises(PayloadError) as caught:
        validate_payload(parse_payload(make_document(tmp_path)), spec)
    assert caught.value.field == "outputs.output"


def test_load_manifest_json_and_yaml(tmp_path):
    manifest = {"apiVersion": "stage2.dev/v1alpha1", "kind": "Operation", "spec": SPEC}
    json_path = tmp_path / "operation.json"
    json_path.write_text(json.dumps(manifest))
    assert stage2_sdk.load_manifest(json_path) == SPEC

    yaml = pytest.importorskip("yaml")
    yaml_path = tmp_path / "operation.yaml"
    yaml_path.write_text(yaml.safe_dump(manifest))
    assert stage2_sdk.load_manifest(yaml_path) == SPEC


def test_load_manifest_missing_file(tmp_path):
    with pytest.raises(ManifestError) as caught:
        stage2_sdk.load_manifest(tmp_path / "absent.yaml")
    assert "absent.yaml" in str(caught.value)


# The runner


def run_main(tmp_path, main, document=None, **options):
    document = make_document(tmp_path) if document is None else document
    return execute(main, argv=[json.dumps(document)], environ={}, **options)


def write_png_output(payload):
    payload.output_file("png").write_bytes(b"x")


def test_execute_success(tmp_path):
    assert run_main(tmp_path, write_png_output) == EXIT_SUCCESS
    assert (tmp_path / "out" / "data.png").read_bytes() == b"x"


def test_execute_invalid_payload_exits_2(tmp_path, caplog):
    code = execute(write_png_output, argv=["{"], environ={})
    assert code == EXIT_INVALID_PAYLOAD
    assert "'payload'" in caplog.text


def test_execute_bad_parameter_in_main_exits_2(tmp_path, caplog):
    def main(payload):
        payload.parameter("Contrast Factor", str)

    assert run_main(tmp_path, main) == EXIT_INVALID_PAYLOAD
    assert "parameters.Contrast Factor" in caplog.text


def test_execute_manifest_violation_exits_2(tmp_path, caplog):
    document = make_document(tmp_path, parameters={"Contrast Factor": 20})
    assert run_main(tmp_path, write_png_output, document, manifest=SPEC) == EXIT_INVALID_PAYLOAD
    assert "above the maximum" in caplog.text


def test_execute_manifest_defaults_reach_main(tmp_path):
    seen = {}

    def main(payload):
        seen.update(payload.parameters)
        write_png_output(payload)

    assert run_main(tmp_path, main, manifest=SPEC) == EXIT_SUCCESS
    assert seen["Mode"] == "fast"


def test_execute_missing_manifest_exits_1(tmp_path, caplog):
    code = run_main(tmp_path, write_png_output, manifest=tmp_path / "absent.json")
    assert code == EXIT_FAILURE
    assert "absent.json" in caplog.text


def test_execute_exception_exits_1_with_traceback(tmp_path, caplog):
    def main(payload):
        raise RuntimeError("disk on fire")

    assert run_main(tmp_path, main) == EXIT_FAILURE
    assert "disk on fire" in caplog.text
    assert "Traceback" in caplog.text


def test_execute_operation_failed_code(tmp_path, caplog):
    def main(payload):
        raise OperationFailed("bad input image", exit_code=7)

    assert run_main(tmp_path, main) == 7
    assert "bad input image" in caplog.text
    assert "Traceback" not in caplog.text


def test_operation_failed_rejects_zero():
    with pytest.raises(ValueError):
        OperationFailed("x", exit_code=0)


def test_execute_system_exit_code(tmp_path):
    def main(payload):
        sys.exit(4)

    assert run_main(tmp_path, main) == 4


def test_execute_without_output_fails(tmp_path, caplog):
    assert run_main(tmp_path, lambda payload: None) == EXIT_FAILURE
    assert "wrote no output" in caplog.text


def test_execute_output_check_can_be_disabled(tmp_path):
    assert run_main(tmp_path, lambda payload: None, require_output=False) == EXIT_SUCCESS


def test_execute_sink_needs_no_output(tmp_path):
    document = make_document(tmp_path, outputs={})
    assert run_main(tmp_path, lambda payload: None, document) == EXIT_SUCCESS


def test_run_exits_process(tmp_path):
    with pytest.raises(SystemExit) as caught:
        stage2_sdk.run(write_png_output, argv=[json.dumps(make_document(tmp_path))], environ={})
    assert caught.value.code == 0


def test_configure_logging_adds_one_handler():
    root = logging.getLogger()
    stage2_sdk.configure_logging()
    count = len(root.handlers)
    stage2_sdk.configure_logging("DEBUG")
    assert len(root.handlers) == count
    assert root.level == logging.DEBUG
    stage2_sdk.configure_logging("INFO")


# Process-level behaviour and packaging


def test_script_logs_to_stderr_in_one_format(tmp_path):
    script = tmp_path / "stage2_interface.py"
    script.write_text(
        "from stage2_sdk import run\n"
        "def main(payload):\n"
        "    payload.output_file('txt').write_text(str(payload.parameter('Contrast Factor', float)))\n"
        "run(main)\n")
    document = make_document(tmp_path)
    result = subprocess.run([sys.executable, str(script), json.dumps(document)], capture_output=True,
                            text=True, env={"PYTHONPATH": str(SDK_DIR)}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "INFO stage2: starting operation clip-raster" in result.stderr
    assert (tmp_path / "out" / "data.txt").read_text() == "1.4"


def test_module_checks_payload_file(tmp_path):
    manifest = tmp_path / "operation.json"
    manifest.write_text(json.dumps({"kind": "Operation", "spec": SPEC}))
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(make_document(tmp_path)))
    command = [sys.executable, "-m", "stage2_sdk", str(manifest), str(payload_file)]
    result = subprocess.run(command, capture_output=True, text=True, env={"PYTHONPATH": str(SDK_DIR)},
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["parameters"]["Mode"] == "fast"

    payload_file.write_text(json.dumps(make_document(tmp_path, parameters={"Mode": "x"})))
    result = subprocess.run(command, capture_output=True, text=True, env={"PYTHONPATH": str(SDK_DIR)},
                            timeout=60)
    assert result.returncode == 2
    assert "parameters.Mode" in result.stderr


@pytest.mark.parametrize("source", sorted((SDK_DIR / "stage2_sdk").glob("*.py")), ids=lambda path: path.name)
def test_sdk_parses_as_python_38(source):
    ast.parse(source.read_text(), filename=str(source), feature_version=(3, 8))


def test_sdk_imports_only_stdlib():
    allowed_third_party = {"yaml"}  # imported lazily, only for YAML manifests
    for source in (SDK_DIR / "stage2_sdk").glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module.split(".")[0]]
            else:
                continue
            for name in names:
                assert name in sys.stdlib_module_names or name in allowed_third_party, (source.name, name)
