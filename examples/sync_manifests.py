"""Put the Operation documents each example workflow needs into manifests/examples/*.yaml.

Each example file is one multi-document YAML: a leading comment, then the
Operations its Workflow uses (copied verbatim from
examples/operations/<name>/operation.yaml, in the order the nodes first use
them), then the Workflow. Edit only the comment and the Workflow, then run:

    python examples/sync_manifests.py          # rewrite the files
    python examples/sync_manifests.py --check  # exit 1 and list files that are out of date

Needs PyYAML.
"""

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS = ROOT / "examples" / "operations"
MANIFESTS = ROOT / "manifests" / "examples"
DOCUMENT_SEPARATOR = re.compile(r"^---[ \t]*$", re.MULTILINE)


def split_documents(text):
    """Return the leading comment block and the list of YAML document texts after it."""
    chunks = DOCUMENT_SEPARATOR.split(text)
    return chunks[0], [chunk.strip("\n") + "\n" for chunk in chunks[1:] if chunk.strip()]


def used_operations(workflow):
    """Return the operation names the workflow's nodes use, in first-use order."""
    names = []
    for node in workflow["spec"]["nodes"]:
        if node["operation"] not in names:
            names.append(node["operation"])
    return names


def render_manifest(text, path):
    """Return the file text with its Operation documents rebuilt from operation.yaml."""
    header, documents = split_documents(text)
    workflows = [document for document in documents if (yaml.safe_load(document) or {}).get("kind") == "Workflow"]
    if len(workflows) != 1:
        raise SystemExit("{}: expected exactly one Workflow document, found {}".format(path, len(workflows)))

    parts = [header.rstrip("\n") + "\n"]
    for name in used_operations(yaml.safe_load(workflows[0])):
        operation_file = OPERATIONS / name / "operation.yaml"
        if not operation_file.is_file():
            raise SystemExit("{}: operation {!r} not found: {} does not exist".format(path, name, operation_file))
        parts.append(operation_file.read_text().strip("\n") + "\n")
    parts.append(workflows[0])
    return "---\n".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    arguments = parser.parse_args(argv)

    stale = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        text = path.read_text()
        rendered = render_manifest(text, path)
        if rendered == text:
            continue
        stale.append(path)
        if not arguments.check:
            path.write_text(rendered)

    for path in stale:
        print("{} {}".format("out of date:" if arguments.check else "updated:", path.relative_to(ROOT)))
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
