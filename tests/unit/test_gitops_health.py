"""GitOps health of Workflows and Operations, from the status the controller writes.

The Argo CD Lua checks run in Lua (lupa). Flux and Helm 4 judge custom
resources with kstatus; `kstatus` below follows its decision order for the
conditions we set (sigs.k8s.io/cli-utils pkg/kstatus/status: generic.go).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from stage2_operator.models import WorkflowPhase
from stage2_operator.status import (
    READY, REASON_CANCELLED, REASON_INVALID_SPEC, REASON_NODE_FAILED, REASON_PENDING, REASON_RUNNING,
    REASON_SUCCEEDED, REASON_SUSPENDED, REASON_VALID, kstatus_conditions, set_condition,
)
from tests.support.cluster import REPO_ROOT

lupa = pytest.importorskip("lupa", reason="lupa runs the Argo CD Lua checks; pip install -e '.[test]'")

GITOPS = REPO_ROOT / "gitops"
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def lua_check(script: Path) -> Any:
    """Return a Python callable that runs an Argo CD health script on an object."""
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
    function = runtime.eval("function(obj) " + script.read_text() + "\nend")

    def check(obj: dict[str, Any]) -> tuple[str, str]:
        result = function(runtime.table_from(obj, recursive=True))
        return result["status"], result["message"]

    return check


def kstatus(obj: dict[str, Any]) -> str:
    """Return kstatus's result for a custom resource: InProgress, Failed or Current."""
    status = obj.get("status") or {}
    observed = status.get("observedGeneration")
    if observed is not None and observed != obj["metadata"].get("generation"):
        return "InProgress"
    conditions = {condition["type"]: condition for condition in status.get("conditions") or []}
    if conditions.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if conditions.get("Stalled", {}).get("status") == "True":
        return "Failed"
    if "Ready" in conditions:
        return "Current" if conditions["Ready"]["status"] == "True" else "InProgress"
    return "Current"


def workflow(phase: WorkflowPhase, reason: str, *, generation: int = 2, observed: int = 2) -> dict[str, Any]:
    message = f"{phase.value} for the test"
    conditions = kstatus_conditions([], phase=phase, reason=reason, message=message, generation=observed, now=NOW)
    return {
        "apiVersion": "stage2.dev/v1alpha1", "kind": "Workflow",
        "metadata": {"name": "wf", "namespace": "ns", "generation": generation},
        "status": {"observedGeneration": observed, "phase": phase.value, "message": message, "conditions": conditions},
    }


def operation(valid: bool, *, generation: int = 1, observed: int = 1) -> dict[str, Any]:
    reason = REASON_VALID if valid else REASON_INVALID_SPEC
    conditions = set_condition([], type_=READY, status=valid, reason=reason, message=reason,
                               generation=observed, now=NOW)
    return {
        "apiVersion": "stage2.dev/v1alpha1", "kind": "Operation",
        "metadata": {"name": "op", "namespace": "ns", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


WORKFLOW_CASES = [
    ("pending", workflow(WorkflowPhase.PENDING, REASON_PENDING), "Progressing", "InProgress"),
    ("running", workflow(WorkflowPhase.RUNNING, REASON_RUNNING), "Progressing", "InProgress"),
    ("suspended", workflow(WorkflowPhase.RUNNING, REASON_SUSPENDED), "Suspended", "InProgress"),
    ("succeeded", workflow(WorkflowPhase.SUCCEEDED, REASON_SUCCEEDED), "Healthy", "Current"),
    ("failed", workflow(WorkflowPhase.FAILED, REASON_NODE_FAILED), "Degraded", "Failed"),
    ("invalid", workflow(WorkflowPhase.FAILED, REASON_INVALID_SPEC), "Degraded", "Failed"),
    ("cancelled", workflow(WorkflowPhase.CANCELLED, REASON_CANCELLED), "Degraded", "Failed"),
    ("new-generation", workflow(WorkflowPhase.SUCCEEDED, REASON_SUCCEEDED, generation=3), "Progressing", "InProgress"),
]


@pytest.mark.parametrize(("body", "argocd"), [(case[1], case[2]) for case in WORKFLOW_CASES],
                         ids=[case[0] for case in WORKFLOW_CASES])
def test_argocd_workflow_health(body: dict[str, Any], argocd: str) -> None:
    status, _message = lua_check(GITOPS / "argocd" / "health-workflow.lua")(body)
    assert status == argocd


@pytest.mark.parametrize(("body", "expected"), [(case[1], case[3]) for case in WORKFLOW_CASES],
                         ids=[case[0] for case in WORKFLOW_CASES])
def test_kstatus_workflow(body: dict[str, Any], expected: str) -> None:
    assert kstatus(body) == expected


def test_argocd_workflow_without_status() -> None:
    body = {"metadata": {"name": "wf", "generation": 1}}
    status, message = lua_check(GITOPS / "argocd" / "health-workflow.lua")(body)
    assert status == "Progressing"
    assert "Waiting" in message


def test_argocd_degraded_message() -> None:
    body = workflow(WorkflowPhase.FAILED, REASON_NODE_FAILED)
    _status, message = lua_check(GITOPS / "argocd" / "health-workflow.lua")(body)
    assert message == "Failed for the test"


@pytest.mark.parametrize(("body", "argocd", "expected_kstatus"), [
    (operation(True), "Healthy", "Current"),
    (operation(False), "Degraded", "InProgress"),
    (operation(True, generation=2), "Progressing", "InProgress"),
], ids=["valid", "invalid", "new-generation"])
def test_operation_health(body: dict[str, Any], argocd: str, expected_kstatus: str) -> None:
    status, _message = lua_check(GITOPS / "argocd" / "health-operation.lua")(body)
    assert status == argocd
    assert kstatus(body) == expected_kstatus


def test_argocd_snippet_matches_scripts() -> None:
    snippet = yaml.safe_load((GITOPS / "argocd" / "argocd-cm-snippet.yaml").read_text())
    data = snippet["data"]
    assert data["resource.customizations.health.stage2.dev_Workflow"] == (
        GITOPS / "argocd" / "health-workflow.lua").read_text()
    assert data["resource.customizations.health.stage2.dev_Operation"] == (
        GITOPS / "argocd" / "health-operation.lua").read_text()


def test_flux_exprs_cover_both_kinds() -> None:
    kustomization = yaml.safe_load((GITOPS / "flux" / "kustomization-healthcheckexprs.yaml").read_text())
    exprs = {entry["kind"]: entry for entry in kustomization["spec"]["healthCheckExprs"]}
    assert sorted(exprs) == ["Operation", "Workflow"]
    workflow_exprs = exprs["Workflow"]
    assert "observedGeneration != metadata.generation" in workflow_exprs["inProgress"]
    assert "'Stalled' && c.status == 'True'" in workflow_exprs["failed"]
    assert "'Ready' && c.status == 'True'" in workflow_exprs["current"]
    for entry in exprs.values():
        assert entry["apiVersion"] == "stage2.dev/v1alpha1"
