"""`stage2 validate`: check Operation and Workflow manifests with the controller's validator.

Workflows are checked against the Operations found in the given files, then
in `--operations-from` paths, then (with `--cluster`) in the cluster. Each
error names its file, document and field path. Exit codes: 0 valid, 1 any
error, 2 unreadable input, so the command fits CI jobs and pre-commit hooks.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..models import OperationSpec
from ..validation import validate_operation, validate_workflow
from . import cluster as cluster_module
from .documents import (
    Document,
    InputError,
    OperationEntry,
    expand_manifest_paths,
    iter_referenced_operations,
    parse_operations,
    read_files,
)

DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Problem:
    """One validation error, tied to the document it was found in."""

    document: Document
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.document.describe()}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.document.file,
            "document": self.document.index,
            "kind": self.document.kind,
            "name": self.document.name,
            "path": self.path,
            "message": self.message,
        }


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "validate",
        help="validate Operation and Workflow manifests",
        description="Validate Operations and Workflows in YAML or JSON files (several documents per file) "
        "with the controller's own rules. Exit code 0: valid; 1: errors; 2: unreadable input.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="manifest file, or - for standard input")
    parser.add_argument(
        "--namespace", "-n", default=None,
        help="namespace used in messages and for --cluster look-ups of documents that set none (default: default)",
    )
    parser.add_argument(
        "--operations-from", action="append", default=[], metavar="PATH",
        help="file or directory with more Operation manifests that Workflows may reference; "
        "they are not reported on (repeatable)",
    )
    parser.add_argument(
        "--cluster", action="store_true",
        help="look up Operations that no file defines in the cluster (uses KUBECONFIG)",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file for --cluster (default: $KUBECONFIG)")
    parser.add_argument("--context", help="kubeconfig context for --cluster")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing when every document is valid")
    parser.set_defaults(handler=run_validate)


def check_documents(
    documents: Sequence[Document],
    *,
    namespace: str | None,
    extra_operations: Mapping[str, OperationEntry] | None = None,
    cluster: cluster_module.Cluster | None = None,
) -> list[Problem]:
    """Return every problem of the stage2.dev documents among `documents`, in file order."""
    problems: list[Problem] = []
    own_operations = parse_operations(documents)
    first_operation: dict[str, Document] = {}
    cluster_cache: dict[tuple[str, str], tuple[OperationSpec | None, bool]] = {}

    for document in documents:
        problems.extend(_check_shape(document))
        if not document.is_stage2 or document.name is None:
            continue
        if document.kind == "Operation":
            first = first_operation.setdefault(document.name, document)
            if first is not document:
                # The same definition in several files (as in the numbered examples) is fine.
                if first.spec != document.spec:
                    problems.append(Problem(
                        document, "metadata.name",
                        f"Operation {document.name!r} is defined again with a different spec;"
                        f" the first definition is {first.describe()}",
                    ))
                continue
            for error in own_operations[document.name].errors:
                problems.append(Problem(document, error.path, error.message))
        elif document.kind == "Workflow":
            workflow_namespace = document.namespace or namespace or DEFAULT_NAMESPACE
            operations, invalid = _resolve_operations(
                document,
                own=own_operations,
                extra=extra_operations or {},
                cluster=cluster,
                namespace=workflow_namespace,
                cache=cluster_cache,
            )
            spec = document.spec if isinstance(document.spec, Mapping) else {}
            _, errors = validate_workflow(
                spec,
                name=document.name,
                namespace=workflow_namespace,
                operations=operations,
                invalid_operations=invalid,
            )
            for error in errors:
                message = error.message
                missing = error.path.endswith(".operation") and " not found in namespace " in message
                if missing and cluster is None:
                    # Offline, the namespace means nothing: the fix is to pass the file.
                    operation = message.split(" not found in namespace ", 1)[0].removeprefix("Operation ")
                    message = (
                        f"Operation {operation} is not defined in the given files; pass the file that defines it,"
                        " add --operations-from PATH, or look it up with --cluster"
                    )
                problems.append(Problem(document, error.path, message))
    return problems


def _check_shape(document: Document) -> list[Problem]:
    if not isinstance(document.body, Mapping):
        return [Problem(document, "(document)", "expected a mapping with apiVersion, kind, metadata and spec")]
    if not document.is_stage2:
        return []
    problems = []
    if document.kind not in ("Operation", "Workflow"):
        problems.append(Problem(document, "kind", f"unknown kind {document.kind!r}; expected Operation or Workflow"))
    if document.name is None:
        problems.append(Problem(document, "metadata.name", "required field is missing; add it"))
    if not isinstance(document.spec, Mapping):
        problems.append(Problem(document, "spec", "required field is missing or not a mapping; add it"))
    return problems


def _resolve_operations(
    workflow: Document,
    *,
    own: Mapping[str, OperationEntry],
    extra: Mapping[str, OperationEntry],
    cluster: cluster_module.Cluster | None,
    namespace: str,
    cache: dict[tuple[str, str], tuple[OperationSpec | None, bool]],
) -> tuple[dict[str, OperationSpec | None], set[str]]:
    """Find each referenced Operation: in the files, then in --operations-from, then in the cluster."""
    operations: dict[str, OperationSpec | None] = {}
    invalid: set[str] = set()
    for name in iter_referenced_operations(workflow.spec):
        entry = own.get(name) or extra.get(name)
        if entry is not None:
            operations[name] = entry.spec
            if entry.spec is None:
                invalid.add(name)
            continue
        if cluster is None:
            continue
        key = (namespace, name)
        if key not in cache:
            body = cluster.get_operation(name, namespace=namespace)
            if body is None:
                cache[key] = (None, False)
            else:
                parsed, errors = validate_operation(body.get("spec") or {})
                cache[key] = (parsed, bool(errors))
        parsed, is_invalid = cache[key]
        if parsed is not None or is_invalid:
            operations[name] = parsed
        if is_invalid:
            invalid.add(name)
    return operations, invalid


def _summary(documents: Sequence[Document], files: int) -> str:
    operations = sum(1 for document in documents if document.is_stage2 and document.kind == "Operation")
    workflows = sum(1 for document in documents if document.is_stage2 and document.kind == "Workflow")
    others = len(documents) - operations - workflows
    text = f"{files} file(s): {operations} Operation(s), {workflows} Workflow(s)"
    if others:
        text += f", {others} other document(s) skipped"
    return text


def run_validate(args: argparse.Namespace) -> int:
    try:
        documents = read_files(args.files)
        extra_documents = read_files(expand_manifest_paths(args.operations_from))
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    cluster = None
    if args.cluster:
        try:
            cluster = cluster_module.connect(args)
        except cluster_module.ClusterError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.namespace is None:
            args.namespace = cluster.namespace
        cluster.namespace = args.namespace

    try:
        problems = check_documents(
            documents,
            namespace=args.namespace,
            extra_operations=parse_operations(extra_documents),
            cluster=cluster,
        )
    except cluster_module.ClusterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.format == "json":
        print(json.dumps({"valid": not problems, "errors": [problem.as_dict() for problem in problems]}, indent=2))
    else:
        for problem in problems:
            print(problem)
        if problems:
            print(f"{len(problems)} error(s) in {_summary(documents, len(args.files))}", file=sys.stderr)
        elif not args.quiet:
            print(f"valid: {_summary(documents, len(args.files))}")
    return 1 if problems else 0
