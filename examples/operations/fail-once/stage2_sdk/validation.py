"""Checking a payload against the declaration in an Operation manifest."""

import json
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

from .errors import ManifestError, PayloadError
from .payload import Payload, convert_value, json_type_name

PARAMETER_TYPES = {"string": str, "integer": int, "number": float, "boolean": bool,
                   "array": list, "object": dict}


def load_manifest(path: Union[str, Path]) -> Dict[str, Any]:
    """Read an Operation manifest from a JSON or YAML file and return its ``spec``.

    YAML needs PyYAML, which is not part of the standard library, so an image
    without it should ship the manifest as JSON.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError("cannot read operation manifest {}: {}".format(path, error)) from None

    if path.suffix == ".json":
        try:
            document = json.loads(text)
        except ValueError as error:
            raise ManifestError("operation manifest {} is not valid JSON: {}".format(path, error)) from None
    else:
        try:
            import yaml
        except ImportError:
            raise ManifestError("reading YAML manifest {} needs PyYAML: install it "
                                "(pip install PyYAML) or give a JSON manifest".format(path)) from None
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ManifestError("operation manifest {} is not valid YAML: {}".format(path, error)) from None
    return operation_spec(document)


def operation_spec(document: Any) -> Dict[str, Any]:
    """Return the spec of an Operation document, or the document itself when it is already a spec."""
    if not isinstance(document, Mapping):
        raise ManifestError("operation manifest must be a mapping, got {}".format(json_type_name(document)))
    if "spec" in document:
        if document.get("kind", "Operation") != "Operation":
            raise ManifestError("expected kind Operation, got {!r}".format(document.get("kind")))
        document = document["spec"]
        if not isinstance(document, Mapping):
            raise ManifestError("operation spec must be a mapping, got {}".format(json_type_name(document)))
    return dict(document)


def validate_payload(payload: Payload, spec: Mapping[str, Any]) -> Payload:
    """Check ``payload`` against an Operation spec and return a copy with defaults filled in.

    A missing parameter takes its default, or null when it is nullable and has
    none. Parameters are checked for type, null, enum and min/max (value bounds for
    numbers, length bounds for strings and arrays), and integral floats given for
    integer parameters become ints. Every declared input port must be present with
    a path count inside its multiplicity, and the output port must match the
    declared output (none for a sink). Undeclared parameters and ports are
    rejected. The first problem found raises PayloadError naming its field.
    """
    parameters = _validate_parameters(payload.parameters, spec.get("parameters") or {})
    _validate_inputs(payload, spec.get("inputs") or {})
    _validate_output(payload, spec.get("output"))
    document = payload.as_dict()
    document["parameters"] = parameters
    return Payload(payload.context, document["inputs"], document["outputs"], parameters)


def _validate_parameters(supplied: Dict[str, Any], declared: Mapping[str, Any]) -> Dict[str, Any]:
    for name in supplied:
        if name not in declared:
            raise PayloadError("parameters." + name, "not declared by the operation (declared: {})".format(
                ", ".join(repr(key) for key in declared) or "none"))

    checked = {}
    for name, declaration in declared.items():
        declaration = declaration or {}
        field = "parameters." + name
        if name in supplied:
            value = supplied[name]
        elif "default" in declaration:
            value = declaration["default"]
        elif declaration.get("nullable", False):
            value = None
        else:
            raise PayloadError(field, "missing and the operation declares no default")
        checked[name] = _validate_parameter(field, value, declaration)
    return checked


def _validate_parameter(field: str, value: Any, declaration: Mapping[str, Any]) -> Any:
    type_name = declaration.get("type")
    if type_name not in PARAMETER_TYPES:
        raise ManifestError("{} declares unknown type {!r} (expected one of: {})".format(
            field, type_name, ", ".join(PARAMETER_TYPES)))
    if value is None:
        if declaration.get("nullable", False):
            return None
        raise PayloadError(field, "must not be null")

    value = convert_value(field, value, PARAMETER_TYPES[type_name])

    allowed = declaration.get("enum")
    if allowed is not None and value not in allowed:
        raise PayloadError(field, "expected one of {!r}, got {!r}".format(list(allowed), value))

    if type_name in ("integer", "number"):
        measured, unit = value, "value"
    elif type_name in ("string", "array"):
        measured, unit = len(value), "length"
    else:
        return value
    minimum, maximum = declaration.get("min"), declaration.get("max")
    if minimum is not None and measured < minimum:
        raise PayloadError(field, "{} {!r} is below the minimum {!r}".format(unit, measured, minimum))
    if maximum is not None and measured > maximum:
        raise PayloadError(field, "{} {!r} is above the maximum {!r}".format(unit, measured, maximum))
    return value


def _validate_inputs(payload: Payload, declared: Mapping[str, Any]) -> None:
    for port in payload.input_ports:
        if port not in declared:
            raise PayloadError("inputs." + port, "not declared by the operation (declared: {})".format(
                ", ".join(repr(key) for key in declared) or "none"))

    for port, declaration in declared.items():
        # A port without a multiplicity takes exactly one path, and a multiplicity
        # without a max is unbounded.
        multiplicity = (declaration or {}).get("multiplicity") or {"min": 1, "max": 1}
        minimum = multiplicity.get("min", 1)
        maximum: Optional[int] = multiplicity.get("max")
        if port not in payload.input_ports:
            raise PayloadError("inputs." + port, "missing (the operation declares this port)")
        count = len(payload.inputs(port))
        if count < minimum:
            raise PayloadError("inputs." + port, "got {} path(s), the port needs at least {}".format(
                count, minimum))
        if maximum is not None and count > maximum:
            raise PayloadError("inputs." + port, "got {} path(s), the port accepts at most {}".format(
                count, maximum))


def _validate_output(payload: Payload, declared: Optional[Mapping[str, Any]]) -> None:
    output_name = payload.output_name
    if declared is None:
        if output_name is not None:
            raise PayloadError("outputs." + output_name, "the operation is a sink and declares no output")
        return
    expected = declared.get("name") or "output"
    if output_name != expected:
        raise PayloadError("outputs", "expected the output port {!r}, got {}".format(
            expected, repr(output_name) if output_name is not None else "none"))

