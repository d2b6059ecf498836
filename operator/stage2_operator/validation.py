"""Validation of Operation and Workflow specs, reporting every error at once.

The controller calls this before it creates anything for a run, and the CLI
and an admission webhook can call it on a manifest. Each error carries the
path of the offending field (`spec.nodes[clip].parameters["Contrast Factor"]`)
and a message that states what to change. The module is pure: it reads plain
mappings and parsed models, and never talks to the API server, so the caller
looks up the Operations a Workflow references and passes them in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from . import naming, payload
from .dag import Graph, find_cycle
from .models import MAX_PORT_NAME_LENGTH, Family, OperationSpec, ParameterSpec, ParameterType, WorkflowNode, WorkflowSpec

DEFAULT_ERROR_LIMIT = 20
MAX_MESSAGE_LINE = 512

# Stand-ins for the run id and attempt number, which are unknown when a spec
# is validated. `retries` is at most 100, so the attempt is an upper bound.
# NOTE: the 63-character run id (the label value limit) is an assumed upper
# bound; a longer run id would make the size check slightly too lenient.
ASSUMED_RUN_ID = "r" * 63
ASSUMED_ATTEMPT = 101

# Bytes of the payload's fixed keys and punctuation, rounded up generously.
_PAYLOAD_FIXED_BYTES = 512
# One character costs at most 6 bytes in the payload JSON (a `\u00XX` escape).
_MAX_BYTES_PER_CHARACTER = 6

_FORBIDDEN_PORT_CHARACTERS = ("/", ":")
_LENGTH_BOUNDED_TYPES = (ParameterType.STRING, ParameterType.ARRAY)
_VALUE_BOUNDED_TYPES = (ParameterType.INTEGER, ParameterType.NUMBER)


@dataclass(frozen=True)
class SpecError:
    """One problem in a spec: the path of the field and what to change."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def format_errors(errors: Sequence[SpecError], limit: int = DEFAULT_ERROR_LIMIT) -> str:
    """Format errors one per line for a status message, at most `limit` lines plus a count of the rest."""
    lines = []
    for error in errors[:limit]:
        line = str(error)
        if len(line) > MAX_MESSAGE_LINE:
            line = line[: MAX_MESSAGE_LINE - 3] + "..."
        lines.append(line)
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more")
    return "\n".join(lines)


# --- Operation ---------------------------------------------------------------


def validate_operation(spec: Mapping[str, Any]) -> tuple[OperationSpec | None, list[SpecError]]:
    """Validate an Operation spec; return the parsed spec, or None when there are errors.

    Shape errors (wrong types, unknown fields) are reported alone, because the
    rules on families, parameters and ports need a parsed spec.
    """
    try:
        operation = OperationSpec.model_validate(spec)
    except ValidationError as error:
        return None, _sorted(_convert_pydantic_errors(error, OperationSpec, prefix="spec"))

    errors: list[SpecError] = []
    errors.extend(_check_family(operation))
    for name, declaration in operation.parameters.items():
        errors.extend(_check_parameter_declaration(f"spec.parameters[{_quote(name)}]", declaration))
    for port, declaration in operation.inputs.items():
        path = f"spec.inputs[{_quote(port)}]"
        problem = _port_name_problem(port)
        if problem:
            errors.append(SpecError(path, problem))
        multiplicity = declaration.multiplicity
        if multiplicity.max is not None and multiplicity.min > multiplicity.max:
            errors.append(
                SpecError(
                    f"{path}.multiplicity",
                    f"min {multiplicity.min} is greater than max {multiplicity.max}; lower min or raise max",
                )
            )
    if operation.output is not None:
        problem = _port_name_problem(operation.output.name)
        if problem:
            errors.append(SpecError("spec.output.name", problem))

    errors = _sorted(errors)
    return (None if errors else operation), errors


def _check_family(operation: OperationSpec) -> list[SpecError]:
    family = operation.family
    errors = []
    if family is Family.SOURCE and operation.inputs:
        errors.append(
            SpecError("spec.inputs", "a source operation takes no inputs; remove the inputs or set family to compute")
        )
    if family in (Family.COMPUTE, Family.SINK) and not operation.inputs:
        errors.append(
            SpecError(
                "spec.inputs",
                f"a {family} operation needs at least one input port; add one or set family to source",
            )
        )
    if family in (Family.SOURCE, Family.COMPUTE) and operation.output is None:
        errors.append(
            SpecError("spec.output", f"a {family} operation needs an output; add `output: {{name: output}}`")
        )
    if family is Family.SINK and operation.output is not None:
        errors.append(
            SpecError("spec.output", "a sink operation has no output; remove the output or set family to compute")
        )
    return errors


def _check_parameter_declaration(path: str, declaration: ParameterSpec) -> list[SpecError]:
    errors = []
    kind = declaration.type
    bounds = (("min", declaration.min), ("max", declaration.max))
    for bound_name, bound in bounds:
        if bound is None:
            continue
        if kind not in _LENGTH_BOUNDED_TYPES and kind not in _VALUE_BOUNDED_TYPES:
            errors.append(
                SpecError(
                    f"{path}.{bound_name}",
                    f"{bound_name} applies only to number, integer, string and array parameters; remove it",
                )
            )
        elif kind in _LENGTH_BOUNDED_TYPES and (bound < 0 or not float(bound).is_integer()):
            errors.append(
                SpecError(
                    f"{path}.{bound_name}",
                    f"{bound_name} bounds the length of a {kind}, so it must be a whole number of at least 0,"
                    f" got {_number(bound)}",
                )
            )
    if declaration.min is not None and declaration.max is not None and declaration.min > declaration.max:
        errors.append(
            SpecError(
                f"{path}.min",
                f"min {_number(declaration.min)} is greater than max {_number(declaration.max)}; swap or fix them",
            )
        )

    if declaration.enum is not None:
        if not declaration.enum:
            errors.append(SpecError(f"{path}.enum", "enum must list at least one value; add values or remove it"))
        for position, value in enumerate(declaration.enum):
            problem = _check_type_and_bounds(declaration, value)
            if problem:
                errors.append(SpecError(f"{path}.enum[{position}]", f"{problem}; every enum value must be valid"))

    if declaration.has_default:
        default = declaration.default
        if default is None and not declaration.nullable:
            errors.append(
                SpecError(
                    f"{path}.default",
                    f"default is null but the parameter is not nullable; set `nullable: true` or give a {kind} default",
                )
            )
        elif default is not None:
            problem = _check_parameter_value(declaration, default)
            if problem:
                errors.append(SpecError(f"{path}.default", f"{problem}; fix the default"))
    return errors


def _port_name_problem(port: str) -> str | None:
    """Return why `port` cannot name a port, or None; port names become mount path segments."""
    if not port:
        return "port name must not be empty"
    if any(character in port for character in _FORBIDDEN_PORT_CHARACTERS) or port.startswith("."):
        return (
            f"invalid port name {_quote(port)}: it must not contain \"/\" or \":\" or start with \".\""
            " because it becomes a directory of the mount path; rename the port"
        )
    if len(port) > MAX_PORT_NAME_LENGTH:
        return f"port name is {len(port)} characters long, above the maximum of {MAX_PORT_NAME_LENGTH}; shorten it"
    return None


# --- Parameter values ----------------------------------------------------------


def _check_parameter_value(declaration: ParameterSpec, value: Any) -> str | None:
    """Return what is wrong with `value` for the declared parameter, or None."""
    if value is None:
        if declaration.nullable:
            return None
        return f"null is not allowed because the parameter is not nullable; set {_article(declaration.type)}"
    problem = _check_type_and_bounds(declaration, value)
    if problem:
        return problem
    if declaration.enum is not None and not any(_same_value(value, allowed) for allowed in declaration.enum):
        allowed = ", ".join(_show(item) for item in declaration.enum)
        return f"invalid value {_show(value)}: must be one of {allowed}"
    return None


def _check_type_and_bounds(declaration: ParameterSpec, value: Any) -> str | None:
    kind = declaration.type
    if value is None:
        return None if declaration.nullable else "null is not allowed because the parameter is not nullable"
    if not _matches_type(value, kind):
        return f"expected {_article(kind)}, got {_describe(value)}"
    if kind in _LENGTH_BOUNDED_TYPES:
        measure, measured = len(value), "length"
    elif kind in _VALUE_BOUNDED_TYPES:
        measure, measured = value, "value"
    else:
        return None
    if declaration.min is not None and measure < declaration.min:
        return f"{measured} {_number(measure)} is below the minimum {_number(declaration.min)}"
    if declaration.max is not None and measure > declaration.max:
        return f"{measured} {_number(measure)} is above the maximum {_number(declaration.max)}"
    return None


def _matches_type(value: Any, kind: ParameterType) -> bool:
    # bool is a subclass of int in Python, but true is not a number in JSON.
    if kind is ParameterType.STRING:
        return isinstance(value, str)
    if kind is ParameterType.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is ParameterType.NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind is ParameterType.BOOLEAN:
        return isinstance(value, bool)
    if kind is ParameterType.ARRAY:
        return isinstance(value, list)
    return isinstance(value, dict)


def _same_value(left: Any, right: Any) -> bool:
    """Compare two JSON values, telling booleans apart from the numbers 0 and 1."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same_value(a, b) for a, b in zip(left, right))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same_value(left[key], right[key]) for key in left)
    return bool(left == right)


# --- Workflow -------------------------------------------------------------------


_NODE_LIST = TypeAdapter(list[WorkflowNode])


@dataclass
class _Node:
    """A node that could be parsed, with where it sits in the spec.

    `failed_fields` are the fields that failed the model and were dropped,
    so checks that depend on them are skipped rather than reported twice.
    """

    position: int
    path: str
    model: WorkflowNode
    failed_fields: frozenset[str] = frozenset()

    @property
    def name_checked(self) -> bool:
        return "name" not in self.failed_fields

    @property
    def operation_checked(self) -> bool:
        return "operation" not in self.failed_fields


class _Collector:
    """Errors with their sort keys: workflow-wide errors first, then by node position and path."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, tuple[Any, ...], str, SpecError]] = []

    def add(self, path: str, message: str, position: int = -1) -> None:
        self.entries.append((position, _natural_key(path), message, SpecError(path, message)))

    def result(self) -> list[SpecError]:
        return [entry[3] for entry in sorted(self.entries, key=lambda entry: entry[:3])]


def validate_workflow(
    spec: Mapping[str, Any],
    *,
    name: str,
    namespace: str,
    operations: Mapping[str, OperationSpec | None],
    invalid_operations: Collection[str] = (),
) -> tuple[WorkflowSpec | None, list[SpecError]]:
    """Validate a Workflow spec against the Operations it references.

    `operations` maps each referenced Operation name to its parsed spec, or
    to None when it is not found or invalid. A name missing from the mapping
    counts as not found. Names in `invalid_operations` are Operations that
    exist but failed their own validation, which changes only the message.

    Returns the parsed spec, or None when there is any error, and every
    error: workflow-wide ones first, then by node order and path.
    """
    collector = _Collector()
    raw_nodes = spec.get("nodes") if isinstance(spec, Mapping) else None
    raw_nodes = raw_nodes if isinstance(raw_nodes, list) else []
    paths = [_raw_node_path(raw, position) for position, raw in enumerate(raw_nodes)]

    parsed: WorkflowSpec | None = None
    try:
        parsed = WorkflowSpec.model_validate(spec)
        nodes = [_Node(i, paths[i], node) for i, node in enumerate(parsed.nodes)]
    except ValidationError as error:
        bad_fields = _report_workflow_shape_errors(error, paths, collector)
        nodes = _salvage_nodes(raw_nodes, paths, bad_fields)

    _check_workflow_nodes(nodes, name=name, namespace=namespace, operations=operations,
                          invalid_operations=invalid_operations, collector=collector)
    errors = collector.result()
    return (parsed if not errors else None), errors


def _report_workflow_shape_errors(
    error: ValidationError, paths: Sequence[str], collector: _Collector
) -> dict[int, set[str]]:
    """Report pydantic errors; return, per node position, the node fields that failed."""
    bad_fields: dict[int, set[str]] = {}
    for converted, loc in _convert_with_loc(error, WorkflowSpec, prefix="spec", node_paths=paths):
        position = -1
        if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
            position = loc[1]
            bad_fields.setdefault(position, set()).add(str(loc[2]) if len(loc) > 2 else "")
        collector.add(converted.path, converted.message, position)
    return bad_fields


def _salvage_nodes(
    raw_nodes: Sequence[Any], paths: Sequence[str], bad_fields: Mapping[int, set[str]]
) -> list[_Node]:
    """Parse each node on its own, dropping fields that failed, so one bad node hides nothing else."""
    if not bad_fields:
        # Only workflow-wide fields failed, such as the node count: parse all nodes in one pass.
        models = _NODE_LIST.validate_python(raw_nodes)
        return [_Node(position, paths[position], model) for position, model in enumerate(models)]
    nodes = []
    for position, raw in enumerate(raw_nodes):
        failed = bad_fields.get(position, set())
        if not isinstance(raw, Mapping) or "" in failed or not isinstance(raw.get("name"), str):
            continue
        cleaned = {key: value for key, value in raw.items() if key not in failed}
        cleaned["name"] = "placeholder"
        if "operation" in failed or not isinstance(raw.get("operation"), str):
            cleaned["operation"] = "placeholder"
        try:
            model = WorkflowNode.model_validate(cleaned)
        except ValidationError:
            continue
        model.name = raw["name"]
        nodes.append(_Node(position, paths[position], model, frozenset(failed)))
    return nodes


def _check_workflow_nodes(
    nodes: Sequence[_Node],
    *,
    name: str,
    namespace: str,
    operations: Mapping[str, OperationSpec | None],
    invalid_operations: Collection[str],
    collector: _Collector,
) -> None:
    first_by_name: dict[str, _Node] = {}
    for node in nodes:
        first = first_by_name.setdefault(node.model.name, node)
        if first is not node:
            collector.add(
                f"{node.path}.name",
                f"duplicate node name {_quote(node.model.name)}, also used by the node at index {first.position};"
                " node names must be unique, so rename one of them",
                node.position,
            )
        elif node.name_checked and not naming.is_dns_label(node.model.name):
            collector.add(
                f"{node.path}.name",
                f"invalid node name {_quote(node.model.name)}: it becomes part of Job and pod names, so it must be"
                " an RFC 1123 label (at most 63 lowercase letters, digits and \"-\", starting and ending with a"
                f" letter or digit); rename it to {_quote(_suggest_label(node.model.name, node.position))}",
                node.position,
            )
    _check_workflow_name(name, collector)

    def operation_of(node: _Node) -> OperationSpec | None:
        return operations.get(node.model.operation) if node.operation_checked else None

    upstreams: dict[str, list[str]] = {}
    for node in nodes:
        operation = operation_of(node)
        if node.operation_checked and operation is None:
            _report_missing_operation(node, namespace, invalid_operations, collector)
        edges = _check_wiring(node, operation, first_by_name, operation_of, collector)
        if first_by_name[node.model.name] is node:
            upstreams[node.model.name] = edges
        if operation is None:
            continue
        if "inputs" not in node.failed_fields:
            _check_ports(node, operation, collector)
        if "parameters" not in node.failed_fields:
            _check_node_parameters(node, operation, collector)
        if not node.failed_fields & {"inputs", "parameters"}:
            _check_payload_size(node, operation, name=name, namespace=namespace, collector=collector)

    graph = Graph.from_upstreams(list(first_by_name), upstreams)
    cycle = find_cycle(graph)
    if cycle:
        collector.add("spec.nodes", "cycle: " + " -> ".join(cycle) + "; remove one of these edges")


def _check_workflow_name(name: str, collector: _Collector) -> None:
    # Every child name starts with the Workflow name, so checking one Job name
    # with a valid node name is enough.
    if not naming.is_dns_label(naming.job_name(workflow=name, run="0", node="node")):
        collector.add(
            "metadata.name",
            f"invalid Workflow name {_quote(name)}: Job names start with it and must be RFC 1123 labels;"
            f" rename the Workflow to {_quote(_suggest_label(name, 0))}",
        )


def _report_missing_operation(
    node: _Node, namespace: str, invalid_operations: Collection[str], collector: _Collector
) -> None:
    operation = node.model.operation
    if operation in invalid_operations:
        message = (
            f"Operation {_quote(operation)} in namespace {_quote(namespace)} is invalid;"
            " fix it first (its Ready condition lists the errors)"
        )
    else:
        message = (
            f"Operation {_quote(operation)} not found in namespace {_quote(namespace)};"
            " apply it or fix the operation name"
        )
    collector.add(f"{node.path}.operation", message, node.position)


def _check_wiring(
    node: _Node,
    operation: OperationSpec | None,
    first_by_name: Mapping[str, _Node],
    operation_of: Callable[[_Node], OperationSpec | None],
    collector: _Collector,
) -> list[str]:
    """Check each upstream reference of `node`; return the upstreams that form valid edges."""
    model = node.model
    if operation is not None and operation.family is Family.SOURCE and model.inputs:
        collector.add(
            f"{node.path}.inputs",
            f"Operation {_quote(model.operation)} is a source, which takes no inputs; remove the inputs",
            node.position,
        )
    edges = []
    for port, upstream_names in model.inputs.items():
        seen: dict[str, int] = {}
        for index, upstream in enumerate(upstream_names):
            if upstream in seen:
                message = (
                    f"upstream node {_quote(upstream)} is listed twice on port {_quote(port)}"
                    f" (first at index {seen[upstream]}); remove the duplicate"
                )
            elif upstream == model.name:
                message = f"node {_quote(model.name)} is wired to itself; a node cannot take its own output"
            elif upstream not in first_by_name:
                message = f"unknown upstream node {_quote(upstream)}; it must name a node of this Workflow"
            else:
                upstream_operation = operation_of(first_by_name[upstream])
                if upstream_operation is not None and upstream_operation.family is Family.SINK:
                    message = (
                        f"upstream node {_quote(upstream)} runs the sink Operation"
                        f" {_quote(first_by_name[upstream].model.operation)}, which has no output;"
                        " connect a source or compute node"
                    )
                else:
                    message = ""
                    edges.append(upstream)
            seen.setdefault(upstream, index)
            if message:
                collector.add(f"{node.path}.inputs[{_quote(port)}][{index}]", message, node.position)
    return edges


def _check_ports(node: _Node, operation: OperationSpec, collector: _Collector) -> None:
    model = node.model
    if operation.family is Family.SOURCE:
        return
    for port in model.inputs:
        if port not in operation.inputs:
            declared = ", ".join(_quote(name) for name in operation.inputs)
            collector.add(
                f"{node.path}.inputs[{_quote(port)}]",
                f"unknown input port {_quote(port)} of Operation {_quote(model.operation)};"
                f" its ports are {declared}",
                node.position,
            )
    for port, declaration in operation.inputs.items():
        count = len(model.inputs.get(port, []))
        low, high = declaration.multiplicity.min, declaration.multiplicity.max
        if low <= count and (high is None or count <= high):
            continue
        path = f"{node.path}.inputs[{_quote(port)}]"
        if count == 0:
            collector.add(
                path,
                f"required input port {_quote(port)} is not connected; list at least {low} upstream"
                f" {_plural(low, 'node')}",
                node.position,
            )
        elif count < low:
            collector.add(
                path,
                f"input port {_quote(port)} needs at least {low} upstream nodes, got {count}; connect more",
                node.position,
            )
        elif high is not None and count > high:
            collector.add(
                path,
                f"input port {_quote(port)} accepts at most {high} upstream {_plural(high, 'node')},"
                f" got {count}; remove {count - high}",
                node.position,
            )


def _check_node_parameters(node: _Node, operation: OperationSpec, collector: _Collector) -> None:
    model = node.model
    for parameter, value in model.parameters.items():
        path = f"{node.path}.parameters[{_quote(parameter)}]"
        declaration = operation.parameters.get(parameter)
        if declaration is None:
            declared = ", ".join(_quote(name) for name in operation.parameters) or "none"
            collector.add(
                path,
                f"unknown parameter {_quote(parameter)} of Operation {_quote(model.operation)};"
                f" declared parameters: {declared}",
                node.position,
            )
            continue
        problem = _check_parameter_value(declaration, value)
        if problem:
            collector.add(path, problem, node.position)
    for parameter, declaration in operation.parameters.items():
        if parameter in model.parameters or declaration.has_default or declaration.nullable:
            continue
        collector.add(
            f"{node.path}.parameters[{_quote(parameter)}]",
            f"missing required parameter {_quote(parameter)} ({declaration.type} with no default); set it",
            node.position,
        )


def _check_payload_size(
    node: _Node, operation: OperationSpec, *, name: str, namespace: str, collector: _Collector
) -> None:
    # The exact size needs the whole payload JSON; build it only when a cheap
    # upper bound does not already prove the payload small enough.
    if _payload_size_bound(node.model, operation, name=name, namespace=namespace) <= payload.MAX_ARGUMENT_BYTES:
        return
    upstream_outputs = {
        upstream: payload.ASSUMED_OUTPUT_ENTRY
        for upstream_names in node.model.inputs.values()
        for upstream in upstream_names
    }
    document = payload.build_payload(
        workflow=name,
        namespace=namespace,
        node=node.model,
        operation_name=node.model.operation,
        operation=operation,
        run=ASSUMED_RUN_ID,
        attempt=ASSUMED_ATTEMPT,
        upstream_outputs=upstream_outputs,
    )
    try:
        size = payload.encoded_size(document)
    except (TypeError, ValueError):
        return  # A value that is not JSON already has a type error.
    if size > payload.MAX_ARGUMENT_BYTES:
        collector.add(
            node.path,
            f"payload is {size} bytes, above the {payload.MAX_ARGUMENT_BYTES}-byte limit of one command-line"
            " argument; move large parameter values into an input file",
            node.position,
        )


def _payload_size_bound(model: WorkflowNode, operation: OperationSpec, *, name: str, namespace: str) -> int:
    """Return an upper bound of the encoded payload size in bytes, in time linear in its contents."""
    width = _MAX_BYTES_PER_CHARACTER
    size = _PAYLOAD_FIXED_BYTES + len(ASSUMED_RUN_ID)
    size += width * (len(name) + len(namespace) + len(model.name) + len(model.operation))
    for port in operation.inputs:
        size += width * len(port) + 8
        for upstream in model.inputs.get(port, []):
            size += len(payload.INPUTS_ROOT) + width * (len(port) + len(upstream)) + 32
    if operation.output is not None:
        size += 2 * width * len(operation.output.name) + len(payload.OUTPUTS_ROOT) + 32
    for parameter, declaration in operation.parameters.items():
        value = model.parameters.get(parameter, declaration.default if declaration.has_default else None)
        size += width * len(parameter) + 8 + _value_size_bound(value)
    return size


def _value_size_bound(value: Any) -> int:
    if isinstance(value, str):
        return _MAX_BYTES_PER_CHARACTER * len(value) + 2
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        return len(repr(value)) + 8
    # ASCII-only JSON with default separators is never shorter than the
    # compact UTF-8 encoding the payload uses.
    return len(json.dumps(value, default=str))


# --- Pydantic errors ---------------------------------------------------------------

_TYPE_NAMES = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "list": "an array",
    "dict": "an object",
    "model": "an object",
    "model_attributes": "an object",
}


def _convert_pydantic_errors(error: ValidationError, model: type[BaseModel], *, prefix: str) -> list[SpecError]:
    return [converted for converted, _ in _convert_with_loc(error, model, prefix=prefix)]


def _convert_with_loc(
    error: ValidationError, model: type[BaseModel], *, prefix: str, node_paths: Sequence[str] = ()
) -> list[tuple[SpecError, tuple[Any, ...]]]:
    """Turn pydantic errors into SpecErrors, merging the per-member errors of one union value."""
    result: list[tuple[SpecError, tuple[Any, ...]]] = []
    expected_by_path: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        path, annotation, parent = _describe_loc(model, loc, prefix=prefix, node_paths=node_paths)
        kind = item["type"].removesuffix("_type").removesuffix("_parsing")
        if kind in _TYPE_NAMES and item["type"] != kind:
            expected = expected_by_path.setdefault(path, [])
            if expected:
                expected.append(_TYPE_NAMES[kind])
                message = f"expected {_join_or(expected)}, got {_describe(item['input'])}"
                result[-1] = (SpecError(path, message), result[-1][1])
                continue
            expected.append(_TYPE_NAMES[kind])
        result.append((SpecError(path, _pydantic_message(item, annotation, parent)), loc))
    return result


def _pydantic_message(item: Any, annotation: Any, parent: type[BaseModel] | None) -> str:
    error_type = item["type"]
    context = item.get("ctx") or {}
    input_value = item.get("input")
    kind = error_type.removesuffix("_type").removesuffix("_parsing")

    if error_type == "missing":
        return "required field is missing; add it"
    if error_type == "extra_forbidden":
        allowed = ", ".join(sorted(field.alias or name for name, field in parent.model_fields.items())) if parent else ""
        return f"unknown field; remove it or fix its name (allowed fields: {allowed})"
    if error_type == "enum":
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            allowed = ", ".join(str(member.value) for member in annotation)
        else:
            allowed = context.get("expected", "")
        return f"invalid value {_show(input_value)}: must be one of {allowed}"

    if kind in _TYPE_NAMES and error_type != kind:
        return f"expected {_TYPE_NAMES[kind]}, got {_describe(input_value)}"
    if error_type == "int_from_float":
        return f"expected an integer, got {_describe(input_value)}"

    comparisons = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("greater than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if error_type in comparisons:
        words, key = comparisons[error_type]
        return f"must be {words} {context.get(key)}, got {_show(input_value)}"

    if error_type == "string_too_short":
        return "must not be empty"
    if error_type == "string_too_long":
        return f"too long: at most {context.get('max_length')} characters, got {len(input_value)}; shorten it"
    if error_type == "too_long":
        return (
            f"too many entries: at most {context.get('max_length')}, got {context.get('actual_length')};"
            " remove some"
        )
    if error_type == "too_short":
        return f"too few entries: at least {context.get('min_length')}, got {context.get('actual_length')}"
    return str(item["msg"])


def _describe_loc(
    model: type[BaseModel], loc: tuple[Any, ...], *, prefix: str, node_paths: Sequence[str] = ()
) -> tuple[str, Any, type[BaseModel] | None]:
    """Return the path of a pydantic `loc`, the annotation it ends on, and the model around that field."""
    path = prefix
    current: Any = model
    parent: type[BaseModel] | None = None
    items = list(loc)
    if node_paths and len(items) >= 2 and items[0] == "nodes" and isinstance(items[1], int):
        if items[1] < len(node_paths):
            path = node_paths[items[1]]
        current, items = WorkflowNode, items[2:]
    for item in items:
        current = _strip_optional(current)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            parent = current
            path += f".{item}"
            field = next(
                (field for name, field in current.model_fields.items() if item in (name, field.alias)), None
            )
            current = field.annotation if field else None
        elif origin is dict:
            path += f"[{_quote(str(item))}]"
            current = get_args(current)[1]
        elif origin is list:
            path += f"[{item}]"
            current = get_args(current)[0]
        else:
            break  # A union member tag such as "str"; the path is complete.
    return path, _strip_optional(current), parent


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, type(int | None)):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


# --- Formatting helpers ----------------------------------------------------------------


def _quote(text: str) -> str:
    """Quote `text` as a JSON string, so names with spaces or brackets stay readable in paths."""
    return json.dumps(text, ensure_ascii=False)


def _show(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        kind = "a boolean"
    elif isinstance(value, int):
        kind = "an integer"
    elif isinstance(value, float):
        kind = "a number"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, list):
        kind = "an array"
    elif isinstance(value, Mapping):
        kind = "an object"
    else:
        kind = type(value).__name__
    return f"{kind} ({_show(value)})"


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _join_or(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _raw_node_path(raw: Any, position: int) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return f"spec.nodes[{name}]" if isinstance(name, str) and name else f"spec.nodes[{position}]"


def _suggest_label(value: str, position: int) -> str:
    """Return a valid RFC 1123 label close to `value`, for a rename hint."""
    label = re.sub(r"[^a-z0-9-]+", "-", value.lower())
    label = re.sub(r"-{2,}", "-", label)[: naming.MAX_NAME].strip("-")
    return label or f"node-{position}"


def _sorted(errors: Sequence[SpecError]) -> list[SpecError]:
    return sorted(errors, key=lambda error: (_natural_key(error.path), error.message))


def _natural_key(path: str) -> tuple[Any, ...]:
    """Sort key that orders `[2]` before `[10]`."""
    parts = re.split(r"([0-9]+)", path)
    # re.split puts the captured digit runs at the odd positions.
    return tuple(int(part) if position % 2 else part for position, part in enumerate(parts))
