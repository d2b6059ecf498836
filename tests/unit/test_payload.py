"""The Stage2 payload: context, inputs as lists, outputs ending in data, parameters filled."""

from __future__ import annotations

from stage2_operator import payload
from stage2_operator.models import OperationSpec, WorkflowNode

OPERATION = OperationSpec.model_validate(
    {
        "family": "compute",
        "image": "localhost/clip:dev",
        "parameters": {
            "Contrast Factor": {"type": "number", "default": 1.0},
            "Automatic ROI": {"type": "boolean", "default": False},
            "Label": {"type": "string", "nullable": True},
        },
        "inputs": {"Raw Image File": {}, "Mask": {"multiplicity": {"min": 1}}},
        "output": {"name": "clipped"},
    }
)


def build(node: WorkflowNode) -> dict:
    return payload.build_payload(
        workflow="survey-42",
        namespace="geo",
        node=node,
        operation_name="clip-raster",
        operation=OPERATION,
        run="3",
        attempt=1,
        upstream_outputs={"load": "data.png", "m1": "data", "m2": "data.tif"},
    )


def test_payload_shape() -> None:
    node = WorkflowNode.model_validate(
        {
            "name": "clip",
            "operation": "clip-raster",
            "parameters": {"Contrast Factor": 1.4},
            "inputs": {"Raw Image File": ["load"], "Mask": ["m2", "m1"]},
        }
    )
    assert build(node) == {
        "context": {
            "workflow": "survey-42",
            "namespace": "geo",
            "node": "clip",
            "operation": "clip-raster",
            "run": "3",
            "attempt": 1,
        },
        "inputs": {
            "Raw Image File": ["/stage2/inputs/Raw Image File/load/data.png"],
            "Mask": ["/stage2/inputs/Mask/m2/data.tif", "/stage2/inputs/Mask/m1/data"],
        },
        "outputs": {"clipped": "/stage2/outputs/clipped/data"},
        "parameters": {"Contrast Factor": 1.4, "Automatic ROI": False, "Label": None},
    }


def test_sink_gets_empty_outputs() -> None:
    sink = OperationSpec.model_validate({"family": "sink", "image": "x", "inputs": {"In": {}}})
    node = WorkflowNode.model_validate({"name": "s", "operation": "sink", "inputs": {"In": ["load"]}})
    result = payload.build_payload(
        workflow="w", namespace="n", node=node, operation_name="sink", operation=sink, run="1", attempt=1,
        upstream_outputs={"load": "data.png"},
    )
    assert result["outputs"] == {}
    assert result["inputs"] == {"In": ["/stage2/inputs/In/load/data.png"]}


def test_encoded_size_counts_utf8_bytes() -> None:
    assert payload.encoded_size({"a": "é"}) == len('{"a":"é"}'.encode())
