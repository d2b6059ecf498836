"""`stage2 import`: turn a Stage2 operation definition (JSON) into an Operation manifest.

Stage2 definitions carry `name`, `family`, `category`, `thumbnail`,
`parameters` (name -> `type`, `description`, `default_value`, `nullable`,
`min`, `max`), `inputs` (port -> `description`, `multiplicity`) and
`output`. The image is not part of a Stage2 definition, so `--image` is
required. The result is checked with the controller's `validate_operation`
before it is written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import API_VERSION, naming
from ..models import DEFAULT_OUTPUT_PORT
from ..validation import validate_operation

# Stage2 type names (Python and JSON Schema spellings) and the Operation type they map to.
TYPES = {
    "float": "number", "double": "number", "number": "number", "decimal": "number",
    "int": "integer", "integer": "integer", "long": "integer",
    "str": "string", "string": "string", "text": "string",
    "bool": "boolean", "boolean": "boolean",
    "list": "array", "array": "array", "tuple": "array",
    "dict": "object", "object": "object", "map": "object", "json": "object",
}
UNBOUNDED = ("*", "unbounded", "inf", "infinity", "n")
PARAMETER_KEYS = {"type", "description", "default_value", "default", "nullable", "min", "max", "enum", "options"}


class ConversionError(ValueError):
    """The definition cannot be converted; the message names the field."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import",
        help="convert a Stage2 operation definition (JSON) into an Operation manifest",
        description="Convert a Stage2 operation definition into an Operation manifest and validate it. "
        "Exit code 0: written; 1: the definition is invalid; 2: unreadable input.",
    )
    parser.add_argument("file", metavar="FILE", help="Stage2 definition JSON, or - for standard input")
    parser.add_argument("--image", required=True, help="container image that runs the operation")
    parser.add_argument("--name", help="Operation name (default: the definition's name, made an RFC 1123 label)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the manifest to FILE (default: standard output)")
    parser.set_defaults(handler=run_import)


def operation_name(raw: str) -> str:
    """Make a definition name (`Adjust Contrast`) an RFC 1123 label (`adjust-contrast`)."""
    label = re.sub(r"[^a-z0-9-]+", "-", raw.lower())
    return re.sub(r"-{2,}", "-", label)[: naming.MAX_NAME].strip("-")


def _parameter(name: str, raw: Any) -> dict[str, Any]:
    path = f"parameters[{json.dumps(name)}]"
    if not isinstance(raw, Mapping):
        raise ConversionError(f"{path}: expected an object with type, description and default_value")
    kind = raw.get("type")
    mapped = TYPES.get(str(kind).strip().lower()) if isinstance(kind, str) else None
    if mapped is None:
        known = ", ".join(sorted(TYPES))
        raise ConversionError(f"{path}.type: unknown Stage2 type {json.dumps(kind)} of parameter {name!r}; "
                           f"use one of {known}")
    result: dict[str, Any] = {"type": mapped, "description": str(raw.get("description") or "")}
    if "default_value" in raw or "default" in raw:
        result["default"] = raw.get("default_value", raw.get("default"))
    result["nullable"] = bool(raw.get("nullable", False))
    for bound in ("min", "max"):
        if raw.get(bound) is not None:
            result[bound] = raw[bound]
    choices = raw.get("enum", raw.get("options"))
    if choices is not None:
        result["enum"] = choices
    return result


def _multiplicity(port: str, raw: Any) -> dict[str, Any]:
    path = f"inputs[{json.dumps(port)}].multiplicity"
    if raw is None:
        return {"min": 1, "max": 1}
    if not isinstance(raw, Mapping):
        raise ConversionError(f"{path}: expected an object with min and max")
    result: dict[str, Any] = {"min": raw.get("min", 1)}
    high = raw.get("max")
    if isinstance(high, str) and high.strip().lower() in UNBOUNDED:
        high = None
    elif isinstance(high, str) and high.strip().isdigit():
        high = int(high)
    elif isinstance(high, (int, float)) and high < 0:  # -1 is a common spelling of "no limit".
        high = None
    if high is not None:
        result["max"] = high
    return result


def _output(raw: Any) -> dict[str, Any] | None:
    if raw is None or raw == {} or raw is False:
        return None
    if isinstance(raw, str):
        return {"name": DEFAULT_OUTPUT_PORT, "description": raw}
    if isinstance(raw, Mapping):
        return {"name": str(raw.get("name") or DEFAULT_OUTPUT_PORT), "description": str(raw.get("description") or "")}
    raise ConversionError("output: expected an object with a description, a string, or null for a sink")


def convert(definition: Mapping[str, Any], *, image: str, name: str | None = None) -> dict[str, Any]:
    """Build an Operation manifest from a Stage2 definition; raise ConversionError naming the bad field."""
    raw_name = name or definition.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise ConversionError("name: missing; set it in the definition or pass --name")
    label = raw_name if name else operation_name(raw_name)
    if not naming.is_dns_label(label):
        raise ConversionError(f"name: {label!r} is not an RFC 1123 label; pass --name with lowercase letters, "
                           "digits and dashes")
    family = str(definition.get("family") or "").strip().lower()

    spec: dict[str, Any] = {"family": family}
    for key in ("category", "thumbnail", "description"):
        if definition.get(key):
            spec[key] = str(definition[key])
    spec["image"] = image
    parameters = definition.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise ConversionError("parameters: expected an object keyed by parameter name")
    spec["parameters"] = {str(key): _parameter(str(key), value) for key, value in parameters.items()}
    inputs = definition.get("inputs") or {}
    if not isinstance(inputs, Mapping):
        raise ConversionError("inputs: expected an object keyed by port name")
    if inputs:
        spec["inputs"] = {
            str(port): {
                "description": str((value or {}).get("description") or "") if isinstance(value, Mapping) else "",
                "multiplicity": _multiplicity(str(port), value.get("multiplicity") if isinstance(value, Mapping) else None),
            }
            for port, value in inputs.items()
        }
    output = _output(definition.get("output"))
    if output is not None:
        spec["output"] = output
    return {"apiVersion": API_VERSION, "kind": "Operation", "metadata": {"name": label}, "spec": spec}


def unknown_parameter_keys(definition: Mapping[str, Any]) -> list[str]:
    """Return `parameters["X"].key` for keys the import ignores."""
    found = []
    for name, raw in (definition.get("parameters") or {}).items():
        if isinstance(raw, Mapping):
            found += [f"parameters[{json.dumps(name)}].{key}" for key in raw if key not in PARAMETER_KEYS]
    return found


def run_import(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        definition = json.loads(text)
    except (OSError, UnicodeDecodeError) as error:
        print(f"error: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"error: {args.file}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}",
              file=sys.stderr)
        return 2
    if not isinstance(definition, Mapping):
        print(f"error: {args.file}: expected a JSON object", file=sys.stderr)
        return 1

    try:
        manifest = convert(definition, image=args.image, name=args.name)
    except ConversionError as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 1
    for key in unknown_parameter_keys(definition):
        print(f"warning: {args.file}: {key} is not part of an Operation and was left out", file=sys.stderr)
    _, errors = validate_operation(manifest["spec"])
    if errors:
        for error in errors:
            print(f"error: {args.file}: {error}", file=sys.stderr)
        return 1

    document = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    if args.output:
        try:
            Path(args.output).write_text(document, encoding="utf-8")
        except OSError as error:
            print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
            return 2
        print(f"wrote Operation {manifest['metadata']['name']} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(document)
    return 0
