"""docs/authoring.md: run the guide's local command blocks and check what they produce.

A fenced bash block preceded by the line ``<!-- test: run -->`` is run, in
document order, in one temporary directory, each with ``bash -e``. The
blocks of the cluster part carry no marker and are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "authoring.md"
MARKER = "<!-- test: run -->"
BLOCK = re.compile(r"^" + re.escape(MARKER) + r"\n```bash\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXPECTED_OUTPUT = ("An operation is a container\n"
                   "image whose entry point takes\n"
                   "one JSON payload. A workflow\n"
                   "chains operations into a graph.\n")


def guide_blocks() -> list[str]:
    return BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def command_environment(bin_dir: Path) -> dict[str, str]:
    """Return an environment whose ``stage2`` and ``python`` are this checkout and this interpreter."""
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    stage2 = bin_dir / "stage2"
    stage2.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c '
                      '"import sys; from stage2_operator.cli import main; sys.exit(main())" "$@"\n')
    stage2.chmod(0o755)
    environment = dict(os.environ)
    environment["PATH"] = f"{bin_dir}{os.pathsep}{environment.get('PATH', '')}"
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "operator"), *filter(None, [environment.get("PYTHONPATH")])])
    environment["REPO"] = str(ROOT)
    return environment


def test_guide_has_marked_blocks():
    blocks = guide_blocks()
    assert len(blocks) >= 7
    assert blocks[0].startswith("stage2 init my-op --family compute")
    assert GUIDE.read_text(encoding="utf-8").count(MARKER) == len(blocks), "a marker is not followed by a bash block"


def test_guide_local_part_runs(tmp_path):
    if sys.platform == "win32":
        pytest.skip("the guide's commands are bash")
    environment = command_environment(tmp_path / "bin")
    workdir = tmp_path / "guide"
    workdir.mkdir()

    for index, block in enumerate(guide_blocks(), start=1):
        completed = subprocess.run(["bash", "-e", "-c", block], cwd=workdir, env=environment,
                                   capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, (
            f"block {index} exited {completed.returncode}:\n{block}\nstdout:\n{completed.stdout}\n"
            f"stderr:\n{completed.stderr}")

    (run_dir,) = (workdir / "runs").iterdir()
    assert run_dir.name.startswith("wrap-demo-")
    assert (run_dir / "wrap" / "data.txt").read_text(encoding="utf-8") == EXPECTED_OUTPUT
    assert (workdir / "my-op" / "stage2_sdk" / "__init__.py").is_file()
    assert (workdir / "wrap-demo.svg").read_text(encoding="utf-8").startswith("<svg")


def test_guide_output_matches_document():
    text = GUIDE.read_text(encoding="utf-8")
    assert EXPECTED_OUTPUT in text
