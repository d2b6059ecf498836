"""The Stage2 payload handed to an operation, and the paths it names.

A node mounts its own output directory at `/stage2/outputs/<port>/` and each
upstream's output directory read-only at `/stage2/inputs/<port>/<upstream>/`.
The payload lists, per input port, the exact file or directory each upstream
produced, in the order the Workflow wires them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .models import DEFAULT_OUTPUT_PORT, OperationSpec, WorkflowNode

INPUTS_ROOT = "/stage2/inputs"
OUTPUTS_ROOT = "/stage2/outputs"
OUTPUT_BASENAME = "data"

# Linux rejects a single command-line argument of 128 KiB or more
# (MAX_ARG_STRLEN = 32 pages, counting the terminating NUL byte).
MAX_ARGUMENT_BYTES = 128 * 1024 - 1

# Stand-in for the name an upstream will produce ("data.<ext>"), used when
# the size is checked before any node has run.
ASSUMED_OUTPUT_ENTRY = OUTPUT_BASENAME + ".extension"


def input_dir(*, port: str, upstream: str) -> str:
    return f"{INPUTS_ROOT}/{port}/{upstream}"


def output_dir(*, port: str) -> str:
    return f"{OUTPUTS_ROOT}/{port}"


def output_base(*, port: str) -> str:
    return f"{output_dir(port=port)}/{OUTPUT_BASENAME}"


def resolve_parameters(*, node: WorkflowNode, operation: OperationSpec) -> dict[str, Any]:
    """Return every declared parameter: the node's value, else the default, else null.

    The caller validates first; an undeclared parameter set on the node is
    dropped here because validation has already reported it.
    """
    resolved: dict[str, Any] = {}
    for name, declaration in operation.parameters.items():
        if name in node.parameters:
            resolved[name] = node.parameters[name]
        elif declaration.has_default:
            resolved[name] = declaration.default
        else:
            resolved[name] = None
    return resolved


def build_payload(
    *,
    workflow: str,
    namespace: str,
    node: WorkflowNode,
    operation_name: str,
    operation: OperationSpec,
    run: str,
    attempt: int,
    upstream_outputs: Mapping[str, str],
) -> dict[str, Any]:
    """Build the payload of one node attempt.

    `upstream_outputs` maps each upstream node name to the single entry it
    wrote under its output directory (for example `data.png` or `data`).
    """
    inputs: dict[str, list[str]] = {}
    for port in operation.inputs:
        inputs[port] = [
            f"{input_dir(port=port, upstream=upstream)}/{upstream_outputs[upstream]}"
            for upstream in node.inputs.get(port, [])
        ]
    outputs: dict[str, str] = {}
    if operation.output is not None:
        outputs[operation.output.name] = output_base(port=operation.output.name)
    return {
        "context": {
            "workflow": workflow,
            "namespace": namespace,
            "node": node.name,
            "operation": operation_name,
            "run": run,
            "attempt": attempt,
        },
        "inputs": inputs,
        "outputs": outputs,
        "parameters": resolve_parameters(node=node, operation=operation),
    }


def encode(payload: Mapping[str, Any]) -> str:
    """Encode the payload as the compact JSON string passed as the last argument."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def encoded_size(payload: Mapping[str, Any]) -> int:
    return len(encode(payload).encode())
