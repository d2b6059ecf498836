"""Reading Operation and Workflow manifests from YAML and JSON files.

Every command that takes FILE arguments reads them here. A file may hold
several documents (YAML `---` separators, a JSON array, or a `kind: List`),
and each document remembers its file and its position in that file, so an
error message can point at it. Reading errors raise `InputError`, which the
commands turn into exit code 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import GROUP
from ..models import OperationSpec
from ..validation import SpecError, validate_operation

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"


class InputError(Exception):
    """A file could not be read or parsed as YAML or JSON."""


@dataclass(frozen=True)
class Document:
    """One parsed document and where it came from."""

    path: Path | None
    index: int
    body: Any

    @property
    def kind(self) -> str | None:
        kind = self.body.get("kind") if isinstance(self.body, Mapping) else None
        return kind if isinstance(kind, str) else None

    @property
    def name(self) -> str | None:
        metadata = self.body.get("metadata") if isinstance(self.body, Mapping) else None
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        return name if isinstance(name, str) else None

    @property
    def namespace(self) -> str | None:
        metadata = self.body.get("metadata") if isinstance(self.body, Mapping) else None
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        return namespace if isinstance(namespace, str) and namespace else None

    @property
    def spec(self) -> Any:
        return self.body.get("spec") if isinstance(self.body, Mapping) else None

    @property
    def is_stage2(self) -> bool:
        """Return whether the document is in the stage2.dev API group."""
        api_version = self.body.get("apiVersion") if isinstance(self.body, Mapping) else None
        return isinstance(api_version, str) and api_version.startswith(GROUP + "/")

    @property
    def file(self) -> str:
        return "<stdin>" if self.path is None else str(self.path)

    def describe(self) -> str:
        """Return `FILE: document N (Kind name)`, the prefix of every message about this document."""
        label = " ".join(part for part in (self.kind, self.name) if part)
        suffix = f" ({label})" if label else ""
        return f"{self.file}: document {self.index}{suffix}"


def _parse(text: str, source: str) -> list[Any]:
    """Parse YAML (which includes JSON) into a list of non-empty documents."""
    try:
        if source.endswith(".json"):
            loaded: list[Any] = [json.loads(text)]
        else:
            loaded = list(yaml.safe_load_all(text))
    except json.JSONDecodeError as error:
        raise InputError(f"{source}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except yaml.YAMLError as error:
        raise InputError(f"{source}: invalid YAML: {error}") from None

    documents: list[Any] = []
    for item in loaded:
        if item is None:
            continue
        if isinstance(item, list):
            documents.extend(item)
        elif isinstance(item, Mapping) and item.get("kind") == "List" and isinstance(item.get("items"), list):
            documents.extend(item["items"])
        else:
            documents.append(item)
    return documents


def read_file(path: str) -> list[Document]:
    """Read every document of one file, or of standard input for `-`."""
    if path == STDIN:
        return [Document(None, index, body) for index, body in enumerate(_parse(sys.stdin.read(), "<stdin>"), 1)]
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; pass the manifest files, or use --operations-from") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read: {error}") from None
    return [Document(file, index, body) for index, body in enumerate(_parse(text, path), 1)]


def read_files(paths: Iterable[str]) -> list[Document]:
    documents: list[Document] = []
    for path in paths:
        documents.extend(read_file(path))
    return documents


def expand_manifest_paths(paths: Iterable[str]) -> list[str]:
    """Expand directories into the YAML and JSON files below them, sorted; keep files as given."""
    result: list[str] = []
    for path in paths:
        candidate = Path(path)
        if candidate.is_dir():
            result.extend(
                str(found)
                for found in sorted(candidate.rglob("*"))
                if found.suffix in MANIFEST_SUFFIXES and found.is_file() and "stage2_sdk" not in found.parts
            )
        else:
            result.append(path)
    return result


@dataclass
class OperationEntry:
    """An Operation document, parsed (None when invalid), with its validation errors."""

    document: Document
    spec: OperationSpec | None
    errors: list[SpecError]


def parse_operations(documents: Sequence[Document]) -> dict[str, OperationEntry]:
    """Validate every Operation document and key it by name; the first document of a name wins."""
    entries: dict[str, OperationEntry] = {}
    for document in documents:
        if document.kind != "Operation" or not document.is_stage2 or document.name is None:
            continue
        if document.name in entries:
            continue
        spec = document.spec if isinstance(document.spec, Mapping) else {}
        parsed, errors = validate_operation(spec)
        entries[document.name] = OperationEntry(document=document, spec=parsed, errors=errors)
    return entries


def workflows(documents: Sequence[Document]) -> list[Document]:
    return [document for document in documents if document.kind == "Workflow" and document.is_stage2]


def pick_workflow(documents: Sequence[Document], name: str | None) -> Document:
    """Return the Workflow named `name`, or the only Workflow when `name` is None."""
    found = workflows(documents)
    if name is not None:
        found = [document for document in found if document.name == name]
        if not found:
            raise InputError(f"no Workflow named {name!r} in the given files")
    if not found:
        raise InputError("no Workflow document (kind: Workflow, apiVersion: stage2.dev/v1alpha1) in the given files")
    if len(found) > 1:
        names = ", ".join(str(document.name) for document in found)
        raise InputError(f"the files hold several Workflows ({names}); choose one with --name")
    return found[0]


def iter_referenced_operations(workflow_spec: Any) -> Iterator[str]:
    """Yield the Operation names the nodes of a raw Workflow spec reference, in node order, once each."""
    seen: set[str] = set()
    nodes = workflow_spec.get("nodes") if isinstance(workflow_spec, Mapping) else None
    for node in nodes if isinstance(nodes, list) else []:
        operation = node.get("operation") if isinstance(node, Mapping) else None
        if isinstance(operation, str) and operation not in seen:
            seen.add(operation)
            yield operation
