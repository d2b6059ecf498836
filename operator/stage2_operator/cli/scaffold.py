"""`stage2 init`: create a new operation folder that validates and passes its own test.

The folder contains `stage2_interface.py` (written with the SDK), a vendored
copy of `stage2_sdk/` (each image is built from its own folder), an
`operation.yaml`, a `Dockerfile`, `requirements.txt` and `test_operation.py`,
which runs the script with a sample payload.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from pathlib import Path

from .. import naming

FAMILIES = ("source", "compute", "sink")
SDK_PACKAGE = "stage2_sdk"

INTERFACE = {
    "source": '''"""{name}: write the Text parameter to data.txt."""

from stage2_sdk import get_logger, run


def main(payload):
    text = payload.parameter("Text", str)
    target = payload.output_file("txt")
    with open(target, "w", encoding="utf-8") as stream:
        stream.write(text)
    get_logger().info("wrote %d characters", len(text))


if __name__ == "__main__":
    run(main)
''',
    "compute": '''"""{name}: upper-case a text file into data.txt."""

from stage2_sdk import OperationFailed, get_logger, run


def main(payload):
    source = payload.input("Input")
    if not source.is_file():
        raise OperationFailed("input {{}} is not a file".format(source))
    text = source.read_text(encoding="utf-8")
    if payload.parameter("Upper Case", bool):
        text = text.upper()
    target = payload.output_file("txt")
    target.write_text(text, encoding="utf-8")
    get_logger().info("wrote %s", target)


if __name__ == "__main__":
    run(main)
''',
    "sink": '''"""{name}: print a summary of every input to the log."""

from stage2_sdk import run


def main(payload):
    title = payload.parameter("Title", str)
    print(title)
    for path in payload.inputs("Input"):
        size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        print("{{}}: {{}} bytes".format(path.name, size))


if __name__ == "__main__":
    run(main)
''',
}

PARAMETERS = {
    "source": "  parameters:\n    Text:\n      type: string\n      description: Text written to data.txt.\n"
              "      default: hello\n      nullable: false\n",
    "compute": "  parameters:\n    Upper Case:\n      type: boolean\n      description: Upper-case the text.\n"
               "      default: true\n      nullable: false\n",
    "sink": "  parameters:\n    Title:\n      type: string\n      description: First line of the log.\n"
            "      default: Summary\n      nullable: false\n",
}
INPUTS = {
    "source": "",
    "compute": "  inputs:\n    Input:\n      description: A UTF-8 text file.\n      multiplicity: {min: 1, max: 1}\n",
    "sink": "  inputs:\n    Input:\n      description: Files or directories to summarise.\n      multiplicity: {min: 1}\n",
}
OUTPUT = {
    "source": "  output:\n    name: output\n    description: A UTF-8 text file, data.txt.\n",
    "compute": "  output:\n    name: output\n    description: The text, data.txt.\n",
    "sink": "",
}

MANIFEST = """apiVersion: stage2.dev/v1alpha1
kind: Operation
metadata:
  name: {name}
spec:
  family: {family}
  category: ""
  description: TODO describe what {name} does.
  image: localhost/{name}:dev
  imagePullPolicy: IfNotPresent
  command: ["python", "stage2_interface.py"]
{parameters}{inputs}{output}  resources: {{requests: {{cpu: 10m, memory: 32Mi}}, limits: {{memory: 128Mi}}}}
  timeoutSeconds: 300
  retries: 0
"""

DOCKERFILE = """# Build: docker build -t localhost/{name}:dev .
# The default base is the project's Python image (hack/images/Dockerfile.python).
# Pass --build-arg BASE_IMAGE=<image> to use another Python 3 image.
ARG BASE_IMAGE=localhost/stage2-python:dev
FROM ${{BASE_IMAGE}}
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
# With packages in requirements.txt, use a base image that has pip and add:
# RUN python -m pip install --no-cache-dir -r requirements.txt
COPY . .
"""

REQUIREMENTS = "# Packages the operation imports, one per line. The standard library needs none.\n"

TEST = '''"""Run stage2_interface.py with a sample payload, as the launcher does. Run: python -m pytest test_operation.py"""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent


class OperationTest(unittest.TestCase):
    def test_runs_with_sample_payload(self):
        with tempfile.TemporaryDirectory() as work:
            work = Path(work)
            inputs = {{}}
            if {has_input}:
                sample = work / "upstream" / "data.txt"
                sample.parent.mkdir()
                sample.write_text("sample text", encoding="utf-8")
                inputs = {{"Input": [str(sample)]}}
            outputs = {{"output": str(work / "node" / "data")}} if {has_output} else {{}}
            payload = {{
                "context": {{"workflow": "test", "namespace": "default", "node": "node",
                            "operation": "{name}", "run": "1", "attempt": 1}},
                "inputs": inputs,
                "outputs": outputs,
                "parameters": {parameters},
            }}
            completed = subprocess.run(
                [sys.executable, "stage2_interface.py", json.dumps(payload)],
                cwd=str(HERE), capture_output=True, text=True, timeout=120,
            )
            self.assertEqual(completed.returncode, 0, completed.stderr)
            if {has_output}:
                written = sorted(path.name for path in (work / "node").iterdir())
                self.assertEqual(written, ["data.txt"])
                self.assertTrue((work / "node" / "data.txt").read_text(encoding="utf-8"))


if __name__ == "__main__":
    unittest.main()
'''

SAMPLE_PARAMETERS = {"source": '{"Text": "hello"}', "compute": '{"Upper Case": True}', "sink": '{"Title": "Summary"}'}


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "init",
        help="create a new operation folder",
        description="Create an operation folder with stage2_interface.py, operation.yaml, a Dockerfile, "
        "requirements.txt, a test and a copy of the SDK.",
    )
    parser.add_argument("name", metavar="NAME", help="Operation name, an RFC 1123 label such as clip-raster")
    parser.add_argument("--family", choices=FAMILIES, default="compute", help="operation family (default: compute)")
    parser.add_argument("--dir", metavar="DIR", help="folder to create (default: ./NAME)")
    parser.add_argument("--force", action="store_true", help="write into an existing non-empty folder")
    parser.set_defaults(handler=run_init)


def find_sdk() -> Path | None:
    """Find the SDK package to vendor: an installed stage2_sdk, else the copy in this source checkout."""
    spec = importlib.util.find_spec(SDK_PACKAGE)
    if spec is not None and spec.origin:
        return Path(spec.origin).parent
    # NOTE: a wheel install of stage2-operator does not ship the SDK; install it with `pip install ./sdk`.
    checkout = Path(__file__).resolve().parents[3] / "sdk" / SDK_PACKAGE
    return checkout if (checkout / "__init__.py").is_file() else None


def render_files(name: str, family: str) -> dict[str, str]:
    """Return the text of every generated file except the SDK copy, by file name."""
    return {
        "stage2_interface.py": INTERFACE[family].format(name=name),
        "operation.yaml": MANIFEST.format(
            name=name, family=family, parameters=PARAMETERS[family], inputs=INPUTS[family], output=OUTPUT[family]
        ),
        "Dockerfile": DOCKERFILE.format(name=name),
        "requirements.txt": REQUIREMENTS,
        "test_operation.py": TEST.format(
            name=name,
            has_input=family != "source",
            has_output=family != "sink",
            parameters=SAMPLE_PARAMETERS[family],
        ),
    }


def run_init(args: argparse.Namespace) -> int:
    if not naming.is_dns_label(args.name):
        print(f"error: invalid name {args.name!r}: use at most 63 lowercase letters, digits and '-', "
              "starting and ending with a letter or digit", file=sys.stderr)
        return 2
    folder = Path(args.dir or args.name)
    if folder.exists() and any(folder.iterdir()) and not args.force:
        print(f"error: {folder} exists and is not empty; choose another --dir or pass --force", file=sys.stderr)
        return 1
    sdk = find_sdk()
    if sdk is None:
        print("error: the stage2_sdk package was not found; install it with pip install ./sdk", file=sys.stderr)
        return 2

    folder.mkdir(parents=True, exist_ok=True)
    for file_name, text in render_files(args.name, args.family).items():
        (folder / file_name).write_text(text, encoding="utf-8")
    shutil.rmtree(folder / SDK_PACKAGE, ignore_errors=True)
    shutil.copytree(sdk, folder / SDK_PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))

    print(f"created {args.family} operation {args.name} in {folder}")
    print(f"  test it:      cd {folder} && python -m pytest test_operation.py")
    print(f"  validate it:  stage2 validate {folder / 'operation.yaml'}")
    print(f"  build it:     docker build -t localhost/{args.name}:dev {folder}")
    return 0
