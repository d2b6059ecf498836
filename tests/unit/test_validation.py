"""Unit tests of Operation and Workflow validation: one row per invalid input."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from stage2_operator import payload
from stage2_operator.models import OperationSpec
from stage2_operator.validation import SpecError, format_errors, validate_operation, validate_workflow
from tests.unit import samples

Mutation = Callable[[dict[str, Any]], Any]


def parsed_operations() -> dict[str, OperationSpec | None]:
    result: dict[str, OperationSpec | None] = {}
    for name, spec in samples.OPERATIONS.items():
        operation, errors = validate_operation(spec)
        assert errors == [], f"sample {name} is invalid: {errors}"
        result[name] = operation
    return result


OPERATIONS = parsed_operations()


def operation_errors(sample: str, mutate: Mutation) -> list[tuple[str, str]]:
    spec = samples.operation(sample)
    mutate(spec)
    operation, errors = validate_operation(spec)
    assert (operation is None) == bool(errors)
    return [(error.path, error.message) for error in errors]


def workflow_errors(mutate: Mutation, *, name: str = "survey", **options: Any) -> list[tuple[str, str]]:
    spec = samples.workflow(samples.IMAGE_PIPELINE)
    mutate(spec)
    workflow, errors = validate_workflow(spec, name=name, namespace="geo", operations=OPERATIONS, **options)
    assert (workflow is None) == bool(errors)
    return [(error.path, error.message) for error in errors]


def node(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in spec["nodes"] if item["name"] == name)


def parameter(spec: dict[str, Any], name: str) -> dict[str, Any]:
    declaration: dict[str, Any] = spec["parameters"][name]
    return declaration


OPERATION_CASES: list[tuple[str, str, Mutation, str, str]] = [
    # (id, sample, mutation, expected path, expected message)
    (
        "family-not-in-enum",
        "text-source",
        lambda s: s.update(family="generator"),
        "spec.family",
        'invalid value "generator": must be one of source, compute, sink',
    ),
    (
        "image-missing",
        "text-source",
        lambda s: s.pop("image"),
        "spec.image",
        "required field is missing; add it",
    ),
    (
        "unknown-field",
        "text-source",
        lambda s: s.update(imagePolicy="Always"),
        "spec.imagePolicy",
        "unknown field; remove it or fix its name (allowed fields: category, command, description, family,"
        " image, imagePullPolicy, inputs, output, parameters, resources, retries, thumbnail, timeoutSeconds)",
    ),
    (
        "parameter-type-not-in-enum",
        "clip-raster",
        lambda s: parameter(s, "Contrast Factor").update(type="float"),
        'spec.parameters["Contrast Factor"].type',
        'invalid value "float": must be one of string, integer, number, boolean, array, object',
    ),
    (
        "multiplicity-min-zero",
        "blend",
        lambda s: s["inputs"]["Images"]["multiplicity"].update(min=0),
        'spec.inputs["Images"].multiplicity.min',
        "must be at least 1, got 0",
    ),
    (
        "resource-quantity-wrong-type",
        "blend",
        lambda s: s.update(resources={"requests": {"cpu": [1]}}),
        'spec.resources.requests["cpu"]',
        "expected a string, an integer or a number, got an array ([1])",
    ),
    (
        "source-with-inputs",
        "text-source",
        lambda s: s.update(inputs={"Text": {}}),
        "spec.inputs",
        "a source operation takes no inputs; remove the inputs or set family to compute",
    ),
    (
        "compute-without-inputs",
        "text-upper",
        lambda s: s.pop("inputs"),
        "spec.inputs",
        "a compute operation needs at least one input port; add one or set family to source",
    ),
    (
        "compute-without-output",
        "text-upper",
        lambda s: s.pop("output"),
        "spec.output",
        "a compute operation needs an output; add `output: {name: output}`",
    ),
    (
        "sink-with-output",
        "report",
        lambda s: s.update(output={"name": "output"}),
        "spec.output",
        "a sink operation has no output; remove the output or set family to compute",
    ),
    (
        "integer-default-is-boolean",
        "clip-raster",
        lambda s: parameter(s, "Iterations").update(default=True),
        'spec.parameters["Iterations"].default',
        "expected an integer, got a boolean (true); fix the default",
    ),
    (
        "integer-default-is-float",
        "clip-raster",
        lambda s: parameter(s, "Iterations").update(default=2.5),
        'spec.parameters["Iterations"].default',
        "expected an integer, got a number (2.5); fix the default",
    ),
    (
        "number-default-is-boolean",
        "clip-raster",
        lambda s: parameter(s, "Contrast Factor").update(default=False),
        'spec.parameters["Contrast Factor"].default',
        "expected a number, got a boolean (false); fix the default",
    ),
    (
        "default-above-max",
        "clip-raster",
        lambda s: parameter(s, "Contrast Factor").update(default=12),
        'spec.parameters["Contrast Factor"].default',
        "value 12 is above the maximum 10; fix the default",
    ),
    (
        "string-default-too-long",
        "clip-raster",
        lambda s: parameter(s, "Label").update(default="x" * 17),
        'spec.parameters["Label"].default',
        "length 17 is above the maximum 16; fix the default",
    ),
    (
        "array-default-too-short",
        "clip-raster",
        lambda s: parameter(s, "Bands").update(default=[]),
        'spec.parameters["Bands"].default',
        "length 0 is below the minimum 1; fix the default",
    ),
    (
        "default-not-in-enum",
        "clip-raster",
        lambda s: parameter(s, "Mode").update(default="slow"),
        'spec.parameters["Mode"].default',
        'invalid value "slow": must be one of "fast", "exact"; fix the default',
    ),
    (
        "enum-value-wrong-type",
        "clip-raster",
        lambda s: parameter(s, "Mode").update(enum=["fast", 2]),
        'spec.parameters["Mode"].enum[1]',
        "expected a string, got an integer (2); every enum value must be valid",
    ),
    (
        "enum-empty",
        "clip-raster",
        lambda s: parameter(s, "Mode").update(enum=[], default=None, nullable=True),
        'spec.parameters["Mode"].enum',
        "enum must list at least one value; add values or remove it",
    ),
    (
        "min-greater-than-max",
        "clip-raster",
        lambda s: (parameter(s, "Iterations").update(min=10, max=5), parameter(s, "Iterations").pop("default")),
        'spec.parameters["Iterations"].min',
        "min 10 is greater than max 5; swap or fix them",
    ),
    (
        "null-default-not-nullable",
        "text-source",
        lambda s: parameter(s, "Text").update(default=None),
        'spec.parameters["Text"].default',
        "default is null but the parameter is not nullable; set `nullable: true` or give a string default",
    ),
    (
        "bound-on-boolean",
        "clip-raster",
        lambda s: parameter(s, "Automatic ROI").update(max=1),
        'spec.parameters["Automatic ROI"].max',
        "max applies only to number, integer, string and array parameters; remove it",
    ),
    (
        "fractional-length-bound",
        "clip-raster",
        lambda s: parameter(s, "Label").update(max=2.5),
        'spec.parameters["Label"].max',
        "max bounds the length of a string, so it must be a whole number of at least 0, got 2.5",
    ),
    (
        "port-name-with-slash",
        "blend",
        lambda s: s.update(inputs={"Images/left": {}}),
        'spec.inputs["Images/left"]',
        'invalid port name "Images/left": it must not contain "/" or ":" or start with "." because it becomes'
        " a directory of the mount path; rename the port",
    ),
    (
        "port-name-starts-with-dot",
        "blend",
        lambda s: s.update(inputs={"..": {}}),
        'spec.inputs[".."]',
        'invalid port name "..": it must not contain "/" or ":" or start with "." because it becomes'
        " a directory of the mount path; rename the port",
    ),
    (
        "output-name-with-colon",
        "blend",
        lambda s: s.update(output={"name": "c:out"}),
        "spec.output.name",
        'invalid port name "c:out": it must not contain "/" or ":" or start with "." because it becomes'
        " a directory of the mount path; rename the port",
    ),
    (
        "multiplicity-min-greater-than-max",
        "blend",
        lambda s: s["inputs"]["Images"]["multiplicity"].update(min=3, max=2),
        'spec.inputs["Images"].multiplicity',
        "min 3 is greater than max 2; lower min or raise max",
    ),
]


@pytest.mark.parametrize(
    ("sample", "mutate", "path", "message"),
    [case[1:] for case in OPERATION_CASES],
    ids=[case[0] for case in OPERATION_CASES],
)
def test_invalid_operation(sample: str, mutate: Mutation, path: str, message: str) -> None:
    assert operation_errors(sample, mutate) == [(path, message)]


WORKFLOW_CASES: list[tuple[str, Mutation, str, str]] = [
    # (id, mutation of IMAGE_PIPELINE, expected path, expected message)
    (
        "unknown-operation",
        lambda s: node(s, "clip").update(operation="clip-rastr"),
        "spec.nodes[clip].operation",
        'Operation "clip-rastr" not found in namespace "geo"; apply it or fix the operation name',
    ),
    (
        "unknown-upstream",
        lambda s: node(s, "mix")["inputs"]["Images"].__setitem__(1, "rigth"),
        'spec.nodes[mix].inputs["Images"][1]',
        'unknown upstream node "rigth"; it must name a node of this Workflow',
    ),
    (
        "wired-to-itself",
        lambda s: node(s, "mix")["inputs"]["Images"].__setitem__(1, "mix"),
        'spec.nodes[mix].inputs["Images"][1]',
        'node "mix" is wired to itself; a node cannot take its own output',
    ),
    (
        "unknown-input-port",
        lambda s: node(s, "clip")["inputs"].update({"Raw Image": ["left"]}),
        'spec.nodes[clip].inputs["Raw Image"]',
        'unknown input port "Raw Image" of Operation "clip-raster"; its ports are "Raw Image File"',
    ),
    (
        "required-port-unconnected",
        lambda s: node(s, "clip").pop("inputs"),
        'spec.nodes[clip].inputs["Raw Image File"]',
        'required input port "Raw Image File" is not connected; list at least 1 upstream node',
    ),
    (
        "multiplicity-max-exceeded",
        lambda s: (
            s["nodes"].insert(0, {"name": "extra", "operation": "text-source"}),
            node(s, "mix")["inputs"]["Images"].append("extra"),
        ),
        'spec.nodes[mix].inputs["Images"]',
        'input port "Images" accepts at most 2 upstream nodes, got 3; remove 1',
    ),
    (
        "same-upstream-twice",
        lambda s: node(s, "mix")["inputs"].update(Images=["left", "left"]),
        'spec.nodes[mix].inputs["Images"][1]',
        'upstream node "left" is listed twice on port "Images" (first at index 0); remove the duplicate',
    ),
    (
        "sink-as-upstream",
        lambda s: s["nodes"].append({"name": "late", "operation": "report", "inputs": {"Input": ["show"]}}),
        'spec.nodes[late].inputs["Input"][0]',
        'upstream node "show" runs the sink Operation "report", which has no output; connect a source or'
        " compute node",
    ),
    (
        "source-with-inputs",
        lambda s: node(s, "right").update(inputs={"Text": ["left"]}),
        "spec.nodes[right].inputs",
        'Operation "text-source" is a source, which takes no inputs; remove the inputs',
    ),
    (
        "cycle",
        lambda s: node(s, "mix")["inputs"].update(Images=["left", "clip"]),
        "spec.nodes",
        "cycle: mix -> clip -> mix; remove one of these edges",
    ),
    (
        "unknown-parameter",
        lambda s: node(s, "clip")["parameters"].update(Contrast=2),
        'spec.nodes[clip].parameters["Contrast"]',
        'unknown parameter "Contrast" of Operation "clip-raster"; declared parameters: "Contrast Factor",'
        ' "Label", "Mode", "Iterations", "Automatic ROI", "Bands", "Options", "Seed"',
    ),
    (
        "parameter-wrong-type",
        lambda s: node(s, "clip")["parameters"].update({"Contrast Factor": "high"}),
        'spec.nodes[clip].parameters["Contrast Factor"]',
        'expected a number, got a string ("high")',
    ),
    (
        "parameter-boolean-for-integer",
        lambda s: node(s, "clip")["parameters"].update(Seed=True),
        'spec.nodes[clip].parameters["Seed"]',
        "expected an integer, got a boolean (true)",
    ),
    (
        "parameter-out-of-range",
        lambda s: node(s, "clip")["parameters"].update({"Contrast Factor": -0.5}),
        'spec.nodes[clip].parameters["Contrast Factor"]',
        "value -0.5 is below the minimum 0",
    ),
    (
        "parameter-array-too-long",
        lambda s: node(s, "clip")["parameters"].update(Bands=[1, 2, 3, 4, 5]),
        'spec.nodes[clip].parameters["Bands"]',
        "length 5 is above the maximum 4",
    ),
    (
        "parameter-not-in-enum",
        lambda s: node(s, "clip")["parameters"].update(Mode="slow"),
        'spec.nodes[clip].parameters["Mode"]',
        'invalid value "slow": must be one of "fast", "exact"',
    ),
    (
        "parameter-null-not-nullable",
        lambda s: node(s, "clip")["parameters"].update(Iterations=None),
        'spec.nodes[clip].parameters["Iterations"]',
        "null is not allowed because the parameter is not nullable; set an integer",
    ),
    (
        "parameter-missing",
        lambda s: node(s, "clip")["parameters"].pop("Seed"),
        'spec.nodes[clip].parameters["Seed"]',
        'missing required parameter "Seed" (integer with no default); set it',
    ),
    (
        "duplicate-node-name",
        lambda s: s["nodes"].append({"name": "left", "operation": "text-source"}),
        "spec.nodes[left].name",
        'duplicate node name "left", also used by the node at index 0; node names must be unique, so rename'
        " one of them",
    ),
    (
        "node-name-not-a-label",
        lambda s: s["nodes"].append({"name": "Clip_2", "operation": "text-source"}),
        "spec.nodes[Clip_2].name",
        'invalid node name "Clip_2": it becomes part of Job and pod names, so it must be an RFC 1123 label (at'
        ' most 63 lowercase letters, digits and "-", starting and ending with a letter or digit); rename it'
        ' to "clip-2"',
    ),
    (
        "node-retries-negative",
        lambda s: node(s, "clip").update(retries=-1),
        "spec.nodes[clip].retries",
        "must be at least 0, got -1",
    ),
    (
        "node-unknown-field",
        lambda s: node(s, "clip").update(needs=["mix"]),
        "spec.nodes[clip].needs",
        "unknown field; remove it or fix its name (allowed fields: inputs, name, operation, parameters,"
        " resources, retries, timeoutSeconds)",
    ),
    (
        "node-name-too-long",
        lambda s: node(s, "show").update(name="s" * 64),
        f"spec.nodes[{'s' * 64}].name",
        "too long: at most 63 characters, got 64; shorten it",
    ),
    (
        "no-nodes",
        lambda s: s.update(nodes=[]),
        "spec.nodes",
        "too few entries: at least 1, got 0",
    ),
    (
        "shutdown-not-in-enum",
        lambda s: s.update(shutdown="Halt"),
        "spec.shutdown",
        'invalid value "Halt": must be one of Stop, Cancel',
    ),
    (
        "parallelism-zero",
        lambda s: s.update(parallelism=0),
        "spec.parallelism",
        "must be at least 1, got 0",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [case[1:] for case in WORKFLOW_CASES],
    ids=[case[0] for case in WORKFLOW_CASES],
)
def test_invalid_workflow(mutate: Mutation, path: str, message: str) -> None:
    assert workflow_errors(mutate) == [(path, message)]


def test_invalid_operation_reference() -> None:
    operations = {**OPERATIONS, "blend": None}
    spec = samples.workflow(samples.IMAGE_PIPELINE)

    _, errors = validate_workflow(
        spec, name="survey", namespace="geo", operations=operations, invalid_operations={"blend"}
    )

    assert [(error.path, error.message) for error in errors] == [
        (
            "spec.nodes[mix].operation",
            'Operation "blend" in namespace "geo" is invalid; fix it first (its Ready condition lists the errors)',
        )
    ]


def test_missing_operation_from_mapping() -> None:
    operations = {name: spec for name, spec in OPERATIONS.items() if name != "report"}

    _, errors = validate_workflow(
        samples.workflow(samples.IMAGE_PIPELINE), name="survey", namespace="geo", operations=operations
    )

    assert [error.path for error in errors] == ["spec.nodes[show].operation"]


def test_workflow_name_cannot_form_job_names() -> None:
    errors = workflow_errors(lambda s: None, name="survey.v2")

    assert errors == [
        (
            "metadata.name",
            'invalid Workflow name "survey.v2": Job names start with it and must be RFC 1123 labels;'
            ' rename the Workflow to "survey-v2"',
        )
    ]


def test_payload_too_large() -> None:
    big = {"blob": "x" * payload.MAX_ARGUMENT_BYTES}

    errors = workflow_errors(lambda s: node(s, "clip")["parameters"].update(Options=big))

    assert len(errors) == 1
    assert errors[0][0] == "spec.nodes[clip]"
    assert re.fullmatch(
        r"payload is \d+ bytes, above the 131071-byte limit of one command-line argument;"
        r" move large parameter values into an input file",
        errors[0][1],
    )


def test_payload_near_limit_is_accepted() -> None:
    # The estimate passes the limit here, so the exact size decides.
    text = "x" * (payload.MAX_ARGUMENT_BYTES // 2)

    errors = workflow_errors(lambda s: node(s, "clip")["parameters"].update(Options={"text": text}))

    assert errors == []


@pytest.mark.parametrize(
    "sample", [samples.TEXT_PIPELINE, samples.IMAGE_PIPELINE], ids=["text-pipeline", "image-pipeline"]
)
def test_valid_workflow(sample: dict[str, Any]) -> None:
    workflow, errors = validate_workflow(
        samples.workflow(sample), name="survey", namespace="geo", operations=OPERATIONS
    )

    assert errors == []
    assert workflow is not None
    assert [node.name for node in workflow.nodes] == [item["name"] for item in sample["nodes"]]


@pytest.mark.parametrize("name", sorted(samples.OPERATIONS))
def test_valid_operation(name: str) -> None:
    operation, errors = validate_operation(samples.operation(name))

    assert errors == []
    assert operation is not None


def test_valid_nullable_parameter_set_to_null() -> None:
    assert workflow_errors(lambda s: node(s, "clip")["parameters"].update(Label=None)) == []


def test_valid_integer_for_number_parameter() -> None:
    assert workflow_errors(lambda s: node(s, "clip")["parameters"].update({"Contrast Factor": 10})) == []


def test_all_errors_reported_at_once() -> None:
    def break_everything(spec: dict[str, Any]) -> None:
        node(spec, "left").update(operation="nowhere")
        node(spec, "right").update(retries="often")
        node(spec, "mix")["inputs"]["Images"].append("ghost")
        node(spec, "clip")["parameters"].update({"Contrast Factor": 99, "Mode": "slow"})
        node(spec, "show")["inputs"]["Input"] = ["show"]

    errors = workflow_errors(break_everything)

    assert errors == [
        ("spec.nodes[left].operation", 'Operation "nowhere" not found in namespace "geo"; apply it or fix the operation name'),
        ("spec.nodes[right].retries", 'expected an integer, got a string ("often")'),
        ('spec.nodes[mix].inputs["Images"]', 'input port "Images" accepts at most 2 upstream nodes, got 3; remove 1'),
        ('spec.nodes[mix].inputs["Images"][2]', 'unknown upstream node "ghost"; it must name a node of this Workflow'),
        ('spec.nodes[clip].parameters["Contrast Factor"]', "value 99 is above the maximum 10"),
        ('spec.nodes[clip].parameters["Mode"]', 'invalid value "slow": must be one of "fast", "exact"'),
        ('spec.nodes[show].inputs["Input"][0]', 'node "show" is wired to itself; a node cannot take its own output'),
    ]


def test_invalid_node_does_not_hide_others() -> None:
    def break_two_nodes(spec: dict[str, Any]) -> None:
        node(spec, "mix")["inputs"] = {"Images": "left"}
        node(spec, "clip")["parameters"]["Seed"] = "seven"

    errors = workflow_errors(break_two_nodes)

    assert errors == [
        ('spec.nodes[mix].inputs["Images"]', 'expected an array, got a string ("left")'),
        ('spec.nodes[clip].parameters["Seed"]', 'expected an integer, got a string ("seven")'),
    ]


def test_errors_sorted_by_node_then_path() -> None:
    def break_in_reverse(spec: dict[str, Any]) -> None:
        node(spec, "show")["parameters"] = {"Zoom": 1}
        node(spec, "mix")["inputs"]["Images"] = ["left"] + [f"ghost-{i}" for i in range(11)]
        spec["nodes"].insert(0, {"name": "Zed", "operation": "text-source"})

    paths = [path for path, _ in workflow_errors(break_in_reverse)]

    assert paths == [
        "spec.nodes[Zed].name",
        'spec.nodes[mix].inputs["Images"]',
        *[f'spec.nodes[mix].inputs["Images"][{i}]' for i in range(1, 12)],
        'spec.nodes[show].parameters["Zoom"]',
    ]


def test_workflow_not_a_mapping() -> None:
    _, errors = validate_workflow([], name="survey", namespace="geo", operations=OPERATIONS)  # type: ignore[arg-type]

    assert errors == [SpecError("spec", "expected an object, got an array ([])")]


def test_spec_error_string() -> None:
    error = SpecError('spec.nodes[clip].parameters["Contrast Factor"]', "value 12 is above the maximum 10")

    assert str(error) == 'spec.nodes[clip].parameters["Contrast Factor"]: value 12 is above the maximum 10'


def test_format_errors_truncates() -> None:
    errors = [SpecError(f"spec.nodes[n{i}]", "broken") for i in range(25)]

    text = format_errors(errors, limit=3)

    assert text.splitlines() == [
        "spec.nodes[n0]: broken",
        "spec.nodes[n1]: broken",
        "spec.nodes[n2]: broken",
        "... and 22 more",
    ]


def test_format_errors_cuts_long_lines() -> None:
    text = format_errors([SpecError("spec", "x" * 5000)])

    assert len(text) == 512
    assert text.endswith("...")


def wide_workflow(count: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [{"name": "n0", "operation": "text-source"}]
    for i in range(1, count):
        nodes.append({"name": f"n{i}", "operation": "text-upper", "inputs": {"Text": [f"n{i - 1}", "n0"][: 1 + (i > 1)]}})
    return {"nodes": nodes}


def test_validation_of_max_nodes() -> None:
    # Timing is measured by `python -m benchmarks`, not asserted here.
    spec = wide_workflow(2000)

    workflow, errors = validate_workflow(spec, name="survey", namespace="geo", operations=OPERATIONS)

    assert errors == []
    assert workflow is not None


def test_validation_of_5000_nodes() -> None:
    # 5,000 nodes pass the model's 2,000-node limit, so the nodes are checked one by one.
    spec = wide_workflow(5000)
    spec["nodes"][4999]["inputs"]["Text"].append("ghost")

    _, errors = validate_workflow(spec, name="survey", namespace="geo", operations=OPERATIONS)

    assert [error.path for error in errors] == ["spec.nodes", 'spec.nodes[n4999].inputs["Text"][2]']
    assert errors[0].message == "too many entries: at most 2000, got 5000; remove some"
