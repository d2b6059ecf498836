"""The in-pod launcher, run as a real subprocess with the host Python."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stage2_operator import launcher

LAUNCHER = Path(launcher.__file__)


def run(tmp_path: Path, script: str, payload: dict | None = None) -> tuple[int, dict, Path]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    payload_file = tmp_path / "payload.json"
    payload_file.write_text(json.dumps(payload or {"context": {}, "inputs": {}, "outputs": {}, "parameters": {}}))
    (tmp_path / "op.py").write_text(script)
    report = tmp_path / "termination-log"
    env = {
        "STAGE2_PAYLOAD_FILE": str(payload_file),
        "STAGE2_OUTPUT_DIR": str(out),
        "STAGE2_TERMINATION_LOG": str(report),
        "PATH": "/usr/bin:/bin",
    }
    completed = subprocess.run(
        [sys.executable, str(LAUNCHER), "--", sys.executable, str(tmp_path / "op.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )
    return completed.returncode, json.loads(report.read_text()), out


def test_payload_is_last_argument_and_outputs_reported(tmp_path: Path) -> None:
    script = (
        "import json, sys, os\n"
        "payload = json.loads(sys.argv[-1])\n"
        "open(os.environ['STAGE2_OUTPUT_DIR'] + '/data.txt', 'w').write(payload['parameters']['x'])\n"
    )
    code, report, out = run(tmp_path, script, {"context": {}, "parameters": {"x": "it's $HOME; `no shell`"}})
    assert code == 0
    assert report["outputs"] == [{"name": "data.txt", "kind": "file"}]
    assert (out / "data.txt").read_text() == "it's $HOME; `no shell`"


def test_exit_code_kept(tmp_path: Path) -> None:
    code, report, _ = run(tmp_path, "import sys; sys.exit(3)\n")
    assert code == 3
    assert report["exitCode"] == 3


def test_second_attempt_starts_clean(tmp_path: Path) -> None:
    script = (
        "import json, sys, os\n"
        "attempt = json.loads(sys.argv[-1])['context']['attempt']\n"
        "d = os.environ['STAGE2_OUTPUT_DIR']\n"
        "open(d + '/partial-%d' % attempt, 'w').write('x')\n"
        "if attempt == 1: sys.exit(1)\n"
        "os.mkdir(d + '/data')\n"
    )
    first, _, _ = run(tmp_path, script)
    second, report, out = run(tmp_path, script)
    assert (first, second) == (1, 0)
    assert report["attempt"] == 2
    assert report["outputs"] == [{"name": "data", "kind": "dir"}]
    assert report["unexpected"] == 1
    assert not (out / "partial-1").exists()


def test_report_fits_termination_message_limit(tmp_path: Path) -> None:
    script = "import os\nfor i in range(500): open(os.environ['STAGE2_OUTPUT_DIR'] + '/data.%03d' % i, 'w')\n"
    _, report, _ = run(tmp_path, script)
    assert report["truncated"] is True
    assert len(json.dumps(report, separators=(",", ":")).encode()) <= 4096
