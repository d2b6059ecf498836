"""The `stage2` command line (also installed as the kubectl plugin `kubectl-stage2`).

Each subcommand lives in its own module and registers itself through an
`add_parser(subparsers)` function. Offline commands (validate, graph of a
file, run, init, import) never import the Kubernetes client. Exit codes:
0 success, 1 invalid input or a failed workflow, 2 a usage error or
unreadable input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

from . import graph, importer, live, run, scaffold, validate

COMMANDS = (validate, graph, run, live, scaffold, importer)


def _version() -> str:
    try:
        return metadata.version("stage2-operator")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser(prog: str = "stage2") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Validate, draw, run and inspect stage2 Operations and Workflows.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in COMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    prog = "kubectl stage2" if sys.argv and sys.argv[0].endswith("kubectl-stage2") else "stage2"
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`stage2 logs wf | head`); exit quietly.
        sys.stderr.close()
        return 0
