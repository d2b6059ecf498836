"""Job, ConfigMap and claim manifests of a node."""

from __future__ import annotations

import json

from stage2_operator import builders
from stage2_operator.models import OperationSpec, WorkflowSpec

OWNER = builders.Owner(name="wf", namespace="ns", uid="uid-1")
OPERATION = OperationSpec.model_validate(
    {
        "family": "compute",
        "image": "localhost/upper:dev",
        "command": ["python", "stage2_interface.py", "--fast"],
        "inputs": {"Text": {"multiplicity": {"min": 1}}},
        "output": {},
        "retries": 2,
        "timeoutSeconds": 90,
        "resources": {"limits": {"memory": "64Mi"}},
    }
)
SPEC = WorkflowSpec.model_validate(
    {
        "nodes": [
            {"name": "a", "operation": "src"},
            {"name": "b", "operation": "upper", "inputs": {"Text": ["a"]}, "retries": 5},
        ]
    }
)


def job() -> dict:
    return builders.build_job(
        owner=OWNER, run="1", spec=SPEC, node=SPEC.nodes[1], operation=OPERATION, claim="wf-r1-data",
        configmap="wf-b-r1-payload",
    )


def test_job_runs_launcher_with_operation_command() -> None:
    container = job()["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == [
        "python", "/stage2/launcher/launcher.py", "--", "python", "stage2_interface.py", "--fast",
    ]
    assert "args" not in container
    assert container["resources"] == {"limits": {"memory": "64Mi"}}


def test_job_mounts_stage2_paths() -> None:
    mounts = job()["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    by_path = {m["mountPath"]: m for m in mounts}
    assert by_path["/stage2/outputs/output"]["subPath"] == "b"
    assert "readOnly" not in by_path["/stage2/outputs/output"]
    assert by_path["/stage2/inputs/Text/a"] == {
        "name": "stage2-data", "mountPath": "/stage2/inputs/Text/a", "subPath": "a", "readOnly": True,
    }
    assert by_path["/stage2/launcher"]["readOnly"] is True


def test_job_policy_fields() -> None:
    manifest = job()
    assert manifest["metadata"]["name"] == "wf-b-r1"
    assert manifest["spec"]["backoffLimit"] == 5
    assert manifest["spec"]["template"]["spec"]["activeDeadlineSeconds"] == 90
    # Six attempts of 90 s, the Job backoff of 10+20+40+80+160 s, and 60 s of slack.
    assert manifest["spec"]["activeDeadlineSeconds"] == 6 * 90 + 310 + 60
    rule = manifest["spec"]["podFailurePolicy"]["rules"][0]
    assert rule["action"] == "Ignore"
    assert rule["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    owner = manifest["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Workflow", "uid-1", True)


def test_configmap_carries_payload_and_launcher() -> None:
    configmap = builders.build_payload_configmap(owner=OWNER, run="1", node=SPEC.nodes[1], payload={"a": 1})
    assert json.loads(configmap["data"]["payload.json"]) == {"a": 1}
    assert "def main(argv)" in configmap["data"]["launcher.py"]


def test_claim_uses_storage_settings() -> None:
    claim = builders.build_claim(owner=OWNER, run="1", spec=SPEC, default_storage_class="standard")
    assert claim["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "1Gi"}},
        "storageClassName": "standard",
    }


def test_existing_claim_runs_use_their_own_directory() -> None:
    spec = WorkflowSpec.model_validate({**SPEC.model_dump(by_alias=True), "storage": {"existingClaim": "shared"}})
    manifest = builders.build_job(
        owner=OWNER, run="4", spec=spec, node=spec.nodes[1], operation=OPERATION, claim="shared",
        configmap="c",
    )
    mounts = manifest["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {m["subPath"] for m in mounts if "subPath" in m} == {"stage2/runs/r4/b", "stage2/runs/r4/a"}
