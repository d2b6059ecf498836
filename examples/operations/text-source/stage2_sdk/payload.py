"""The payload an operation receives: parsing, typed parameters, input and output paths."""

import argparse
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .errors import PayloadError

PAYLOAD_FILE_ENV = "STAGE2_PAYLOAD_FILE"

_MISSING = object()
_EXTENSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
               list: "an array", dict: "an object"}


class Context:
    """Identifiers of the run that started the operation (all optional in the payload)."""

    def __init__(self, workflow: str = "", namespace: str = "", node: str = "",
                 operation: str = "", run: str = "", attempt: int = 1) -> None:
        self.workflow = workflow
        self.namespace = namespace
        self.node = node
        self.operation = operation
        self.run = run
        self.attempt = attempt

    def as_dict(self) -> Dict[str, Any]:
        return {"workflow": self.workflow, "namespace": self.namespace, "node": self.node,
                "operation": self.operation, "run": self.run, "attempt": self.attempt}

    def __repr__(self) -> str:
        return "Context({})".format(", ".join("{}={!r}".format(k, v) for k, v in self.as_dict().items()))


class Payload:
    """A parsed, structurally valid payload.

    Build one with :func:`parse_payload` or :func:`load_payload`. Accessors raise
    :class:`PayloadError` naming the field when a value is missing or has the
    wrong type, so an operation that reads its parameters through them exits
    with code 2 under :func:`stage2_sdk.run`.
    """

    def __init__(self, context: Context, inputs: Dict[str, List[str]],
                 outputs: Dict[str, str], parameters: Dict[str, Any]) -> None:
        self.context = context
        self._inputs = inputs
        self._outputs = outputs
        self._parameters = parameters

    # Parameters

    @property
    def parameters(self) -> Dict[str, Any]:
        """A copy of the raw parameter map."""
        return dict(self._parameters)

    def parameter(self, name: str, kind: Optional[type] = None, default: Any = _MISSING,
                  nullable: bool = False) -> Any:
        """Return parameter ``name`` converted to ``kind``.

        ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``list``, ``dict``
        or None for no check. ``float`` accepts JSON integers and ``int`` accepts
        floats with an integral value, and neither accepts booleans. ``default`` is
        returned when the parameter is absent; without it an absent parameter is an
        error. A null value is an error unless ``nullable`` is true.
        """
        field = "parameters." + name
        if name not in self._parameters:
            if default is not _MISSING:
                return default
            known = ", ".join(repr(key) for key in sorted(self._parameters)) or "none"
            raise PayloadError(field, "missing (parameters given: {})".format(known))
        value = self._parameters[name]
        if value is None:
            if nullable:
                return None
            raise PayloadError(field, "must not be null")
        if kind is None:
            return value
        return convert_value(field, value, kind)

    # Inputs

    @property
    def input_ports(self) -> List[str]:
        """Input port names in payload order."""
        return list(self._inputs)

    def inputs(self, port: str) -> List[Path]:
        """Return the paths connected to ``port``, one per upstream node, in wiring order."""
        if port not in self._inputs:
            known = ", ".join(repr(key) for key in self._inputs) or "none"
            raise PayloadError("inputs." + port, "missing (input ports given: {})".format(known))
        return [Path(path) for path in self._inputs[port]]

    def input(self, port: str) -> Path:
        """Return the only path connected to ``port``, raising PayloadError unless there is exactly one."""
        paths = self.inputs(port)
        if len(paths) != 1:
            raise PayloadError("inputs." + port, "expected exactly 1 path, got {}: {}".format(
                len(paths), ", ".join(str(path) for path in paths) or "none"))
        return paths[0]

    # Output

    @property
    def output_name(self) -> Optional[str]:
        """The output port name, or None for a sink."""
        return next(iter(self._outputs), None)

    @property
    def output_base(self) -> Path:
        """The output base path (ending in ``data``) without an extension."""
        name = self.output_name
        if name is None:
            raise PayloadError("outputs", "is empty, so this operation has no output path "
                                          "(a sink must not write output)")
        return Path(self._outputs[name])

    def output_file(self, extension: str) -> Path:
        """Create the output's parent directory and return ``<base>.<extension>``.

        ``extension`` may start with a dot and may have several parts (``tar.gz``).
        """
        cleaned = extension[1:] if extension.startswith(".") else extension
        if not _EXTENSION.match(cleaned):
            raise ValueError("invalid output file extension {!r}: use letters, digits, '-', '_' "
                             "and inner dots, for example 'png' or 'tar.gz'".format(extension))
        base = self.output_base
        base.parent.mkdir(parents=True, exist_ok=True)
        return base.with_name(base.name + "." + cleaned)

    def output_dir(self) -> Path:
        """Create and return the output directory ``<base>/``."""
        base = self.output_base
        base.mkdir(parents=True, exist_ok=True)
        return base

    def written_outputs(self) -> List[Path]:
        """Return what exists at the output base: the directory and ``data.*`` files (empty for a sink)."""
        if self.output_name is None:
            return []
        base = self.output_base
        if not base.parent.is_dir():
            return []
        found = [path for path in base.parent.iterdir()
                 if path.name == base.name or path.name.startswith(base.name + ".")]
        return sorted(found)

    def as_dict(self) -> Dict[str, Any]:
        """Return the payload as the JSON-ready map it was parsed from."""
        return {"context": self.context.as_dict(),
                "inputs": {port: list(paths) for port, paths in self._inputs.items()},
                "outputs": dict(self._outputs),
                "parameters": dict(self._parameters)}


def convert_value(field: str, value: Any, kind: type) -> Any:
    """Return ``value`` as ``kind`` or raise PayloadError naming ``field``."""
    if kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif kind in (str, bool, list, dict):
        if isinstance(value, kind):
            return value
    else:
        raise TypeError("unsupported parameter kind {!r}: use str, int, float, bool, list or dict"
                        .format(kind))
    raise PayloadError(field, "expected {}, got {} {!r}".format(
        _TYPE_NAMES[kind], json_type_name(value), value))


def json_type_name(value: Any) -> str:
    """Return the JSON name of a parsed value's type (``null``, ``boolean``, ``integer`` ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_payload(document: Any) -> Payload:
    """Parse a payload from a JSON string or an already decoded map.

    ``inputs``, ``outputs`` and ``parameters`` are required; ``context`` may be
    left out. Unknown top-level keys are ignored so newer controllers can add some.
    """
    if isinstance(document, (str, bytes)):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise PayloadError("payload", "is not valid JSON: {}".format(error)) from None
    if not isinstance(document, Mapping):
        raise PayloadError("payload", "expected a JSON object, got {}".format(json_type_name(document)))

    for key in ("inputs", "outputs", "parameters"):
        if key not in document:
            raise PayloadError(key, "missing (the payload must have inputs, outputs and parameters)")
        if not isinstance(document[key], Mapping):
            raise PayloadError(key, "expected an object, got {}".format(json_type_name(document[key])))

    return Payload(context=_parse_context(document.get("context")),
                   inputs=_parse_inputs(document["inputs"]),
                   outputs=_parse_outputs(document["outputs"]),
                   parameters=dict(document["parameters"]))


def _parse_context(raw: Any) -> Context:
    if raw is None:
        return Context()
    if not isinstance(raw, Mapping):
        raise PayloadError("context", "expected an object, got {}".format(json_type_name(raw)))
    fields = {}
    for key in ("workflow", "namespace", "node", "operation", "run"):
        value = raw.get(key, "")
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise PayloadError("context." + key, "expected a string, got {}".format(json_type_name(value)))
        fields[key] = str(value)
    attempt = raw.get("attempt", 1)
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 1:
        raise PayloadError("context.attempt", "expected an integer of at least 1, got {!r}".format(attempt))
    return Context(attempt=attempt, **fields)


def _parse_inputs(raw: Mapping) -> Dict[str, List[str]]:
    inputs = {}
    for port, paths in raw.items():
        field = "inputs." + str(port)
        if not isinstance(paths, list):
            raise PayloadError(field, "expected an array of paths, got {}".format(json_type_name(paths)))
        for index, path in enumerate(paths):
            if not isinstance(path, str) or not path:
                raise PayloadError("{}[{}]".format(field, index),
                                   "expected a non-empty path string, got {!r}".format(path))
        inputs[str(port)] = list(paths)
    return inputs


def _parse_outputs(raw: Mapping) -> Dict[str, str]:
    if len(raw) > 1:
        raise PayloadError("outputs", "expected at most one output port, got {}".format(
            ", ".join(repr(name) for name in raw)))
    outputs = {}
    for name, path in raw.items():
        field = "outputs." + str(name)
        if not isinstance(path, str) or not path:
            raise PayloadError(field, "expected a non-empty path string, got {!r}".format(path))
        if PurePosixPath(path).name != "data":
            raise PayloadError(field, "expected a base path ending in 'data', got {!r}".format(path))
        outputs[str(name)] = path
    return outputs


def load_payload(argv: Optional[Sequence[str]] = None,
                 environ: Optional[Mapping[str, str]] = None) -> Payload:
    """Read the payload from the command line, a file, or the file named by STAGE2_PAYLOAD_FILE.

    ``argv`` excludes the program name and defaults to ``sys.argv[1:]``. A
    positional argument is the payload JSON itself, as the controller passes it.
    ``--payload-file PATH`` and the environment variable are for local testing.
    Bad command-line usage exits with code 2 through argparse.
    """
    parser = argparse.ArgumentParser(
        description="Run a stage2 operation with a JSON payload.")
    parser.add_argument("payload", nargs="?", help="the payload as a JSON string")
    parser.add_argument("--payload-file", metavar="PATH",
                        help="read the payload JSON from PATH instead of the argument "
                             "(default: the file named by ${})".format(PAYLOAD_FILE_ENV))
    arguments = parser.parse_args(argv)
    environ = os.environ if environ is None else environ

    if arguments.payload is not None and arguments.payload_file is not None:
        parser.error("give the payload either as an argument or with --payload-file, not both")
    if arguments.payload is not None:
        return parse_payload(arguments.payload)

    path = arguments.payload_file or environ.get(PAYLOAD_FILE_ENV)
    if not path:
        raise PayloadError("payload", "missing: pass the payload JSON as the only argument, "
                                      "use --payload-file PATH, or set {}".format(PAYLOAD_FILE_ENV))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PayloadError("payload", "cannot read payload file {}: {}".format(path, error)) from None
    return parse_payload(text)
