"""stage2 run: real example workflows with the process executor, through the controller's planner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stage2_operator.cli import main
from stage2_operator.cli.local import find_operation_folder, local_payload

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "manifests" / "examples"


def run_example(name: str, workdir: Path) -> tuple[int, dict, Path]:
    code = main(["run", "--quiet", "--workdir", str(workdir), str(EXAMPLES / name)])
    (run_dir,) = workdir.iterdir()
    status = json.loads((run_dir / "_run" / "status.json").read_text())
    return code, status, run_dir


def phases(status: dict) -> dict[str, str]:
    return {name: node["phase"] for name, node in status["nodes"].items()}


def test_run_linear_chain(tmp_path):
    code, status, run_dir = run_example("01-linear-chain.yaml", tmp_path)
    assert code == 0
    assert status["phase"] == "Succeeded"
    assert status["progress"] == "3/3"
    assert phases(status) == {"hello": "Succeeded", "upper": "Succeeded", "upper-again": "Succeeded"}
    assert (run_dir / "upper-again" / "data.txt").read_text() == "HELLO, STAGE2\n"
    payload = json.loads((run_dir / "_run" / "upper" / "payload.json").read_text())
    assert payload["inputs"] == {"Text": [str(run_dir / "hello" / "data.txt")]}
    assert payload["outputs"] == {"output": str(run_dir / "upper" / "data")}
    assert "exit code 0" in (run_dir / "_run" / "upper" / "log.txt").read_text()
    assert (run_dir / "_run" / "graph.svg").read_text().startswith("<svg")


def test_run_diamond(tmp_path):
    pytest.importorskip("PIL", reason="Pillow is needed: pip install -r examples/requirements-dev.txt")
    pytest.importorskip("numpy", reason="numpy is needed: pip install -r examples/requirements-dev.txt")
    code, status, run_dir = run_example("02-diamond.yaml", tmp_path)
    assert code == 0
    assert set(phases(status).values()) == {"Succeeded"}
    assert status["nodes"]["blend"]["outputs"] == ["data.png"]
    from PIL import Image

    with Image.open(run_dir / "blend" / "data.png") as image:
        assert image.size == (96, 64)


def test_run_failure_retry(tmp_path, capsys):
    code, status, run_dir = run_example("05-failure-retry.yaml", tmp_path)
    assert code == 1
    assert status["phase"] == "Failed"
    observed = phases(status)
    # after-flaky runs only if flaky succeeds before broken fails; the two race.
    assert observed.pop("after-flaky") in ("Succeeded", "Skipped")
    assert observed == {"seed": "Succeeded", "flaky": "Succeeded", "broken": "Failed", "after-broken": "Skipped"}
    assert status["nodes"]["flaky"]["attempts"] == 2
    assert status["nodes"]["broken"]["attempts"] == 2
    assert status["nodes"]["broken"]["exitCode"] == 3
    assert status["nodes"]["broken"]["reason"] == "Error"
    assert status["nodes"]["after-broken"]["reason"] == "UpstreamFailed"
    assert (run_dir / "flaky" / "data.txt").read_text() == "retry me\n"
    log = (run_dir / "_run" / "broken" / "log.txt").read_text()
    assert "===== attempt 2 =====" in log
    table = capsys.readouterr().out
    assert "broken        fail-once    Failed     2" in table


def test_run_deadline_fails_node(tmp_path):
    operation = tmp_path / "sleeper"
    operation.mkdir()
    (operation / "stage2_interface.py").write_text("import time\ntime.sleep(30)\n")
    (operation / "operation.yaml").write_text(
        "apiVersion: stage2.dev/v1alpha1\nkind: Operation\nmetadata: {name: sleeper}\n"
        "spec: {family: source, image: localhost/sleeper:dev, output: {name: output}, timeoutSeconds: 1}\n"
    )
    workflow = tmp_path / "wf.yaml"
    workflow.write_text("apiVersion: stage2.dev/v1alpha1\nkind: Workflow\nmetadata: {name: slow}\n"
                        "spec: {nodes: [{name: nap, operation: sleeper}]}\n")
    code = main(["run", "-q", "--workdir", str(tmp_path / "runs"), str(workflow), str(operation / "operation.yaml")])
    assert code == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    status = json.loads((run_dir / "_run" / "status.json").read_text())
    assert status["nodes"]["nap"]["reason"] == "DeadlineExceeded"


def test_run_invalid_workflow_exits_1(tmp_path, capsys):
    workflow = tmp_path / "wf.yaml"
    workflow.write_text("apiVersion: stage2.dev/v1alpha1\nkind: Workflow\nmetadata: {name: w}\n"
                        "spec: {nodes: [{name: a, operation: nothing}]}\n")
    assert main(["run", "--workdir", str(tmp_path / "runs"), str(workflow)]) == 1
    assert "nothing was run" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_local_payload_rewrites_paths(tmp_path):
    payload = {
        "inputs": {"Raw Image": ["/stage2/inputs/Raw Image/load/data.png"], "Dir": ["/stage2/inputs/Dir/up/data"]},
        "outputs": {"output": "/stage2/outputs/output/data"},
    }
    result = local_payload(payload, run_dir=tmp_path, node="clip")
    assert result["inputs"]["Raw Image"] == [str(tmp_path / "load" / "data.png")]
    assert result["inputs"]["Dir"] == [str(tmp_path / "up" / "data")]
    assert result["outputs"]["output"] == str(tmp_path / "clip" / "data")


def test_find_operation_folder_falls_back_to_examples():
    folder = find_operation_folder(
        "text-upper", manifest=EXAMPLES / "01-linear-chain.yaml", command=["python", "stage2_interface.py"]
    )
    assert folder == ROOT / "examples" / "operations" / "text-upper"
