"""Lifecycle verbs as spec fields, new runs, and cleanup, on the test cluster."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster import wait_for
from tests.support.operator import (
    create_operation,
    create_workflow,
    derived_operation,
    example_operation,
    get_workflow,
    node_phase,
    owned_children,
    patch_workflow_spec,
    read_claim_file,
    sleeping_command,
    workflow_phase_is,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

TERMINAL = ("Succeeded", "Failed", "Cancelled")
TEXT_IMAGE = "localhost/stage2-example-text-source:dev"


def finished(api: client.ApiClient, namespace: str, name: str, timeout: float = 180) -> dict[str, Any]:
    body: dict[str, Any] = wait_for(
        lambda: workflow_phase_is(api, namespace, name, *TERMINAL), timeout=timeout, message=f"workflow {name} finished"
    )
    return body["status"]


def text_operations(api: client.ApiClient, namespace: str, sleep: int = 0) -> None:
    create_operation(api, namespace, example_operation("text-source"))
    create_operation(api, namespace, example_operation("text-upper"))
    if sleep:
        create_operation(api, namespace, derived_operation("text-upper", "slow-upper", command=sleeping_command(sleep)))
        create_operation(api, namespace, derived_operation("text-source", "slow-source", command=sleeping_command(sleep)))


def chain(first: str = "text-source", second: str = "text-upper", third: str = "text-upper") -> list[dict[str, Any]]:
    return [
        {"name": "a", "operation": first, "parameters": {"Text": "abc"}},
        {"name": "b", "operation": second, "inputs": {"Text": ["a"]}},
        {"name": "c", "operation": third, "inputs": {"Text": ["b"]}},
    ]


def test_suspend_and_resume(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace, sleep=4)
    create_workflow(k8s_api, namespace, "paused", {"nodes": chain(first="slow-source"), "suspend": True})
    time.sleep(4)
    assert owned_children(k8s_api, namespace)["jobs"] == []
    assert get_workflow(k8s_api, namespace, "paused")["status"]["message"].startswith("suspended")

    patch_workflow_spec(k8s_api, namespace, "paused", {"suspend": False})
    wait_for(lambda: node_phase(k8s_api, namespace, "paused", "a") == "Running", timeout=30, message="a runs")
    patch_workflow_spec(k8s_api, namespace, "paused", {"suspend": True})
    wait_for(lambda: node_phase(k8s_api, namespace, "paused", "a") == "Succeeded", timeout=60, message="a finishes")
    time.sleep(3)
    assert node_phase(k8s_api, namespace, "paused", "b") == "Pending"
    assert len(owned_children(k8s_api, namespace)["jobs"]) == 1

    patch_workflow_spec(k8s_api, namespace, "paused", {"suspend": False})
    status = finished(k8s_api, namespace, "paused")
    assert status["phase"] == "Succeeded"
    assert status["run"] == "1"


def test_stop_lets_running_nodes_finish(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace, sleep=6)
    create_workflow(k8s_api, namespace, "stopping", {"nodes": chain(first="slow-source")})
    wait_for(lambda: node_phase(k8s_api, namespace, "stopping", "a") == "Running", timeout=30, message="a runs")
    patch_workflow_spec(k8s_api, namespace, "stopping", {"shutdown": "Stop"})
    status = finished(k8s_api, namespace, "stopping")
    assert status["phase"] == "Failed"
    assert status["nodes"]["a"]["phase"] == "Succeeded"
    assert (status["nodes"]["b"]["phase"], status["nodes"]["c"]["phase"]) == ("Skipped", "Skipped")
    reasons = {c["type"]: c["reason"] for c in status["conditions"]}
    assert reasons["Stalled"] == "Stopped"


def test_cancel_deletes_running_jobs(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace, sleep=60)
    create_workflow(k8s_api, namespace, "cancelled", {"nodes": chain(first="slow-source")})
    wait_for(lambda: node_phase(k8s_api, namespace, "cancelled", "a") == "Running", timeout=30, message="a runs")
    patch_workflow_spec(k8s_api, namespace, "cancelled", {"shutdown": "Cancel"})
    status = finished(k8s_api, namespace, "cancelled", timeout=30)
    assert status["phase"] == "Cancelled"
    assert status["nodes"]["a"]["reason"] == "Cancelled"
    wait_for(lambda: owned_children(k8s_api, namespace)["jobs"] == [], timeout=30, message="the running Job is deleted")


def test_rerun_keeps_succeeded_outputs(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    create_operation(k8s_api, namespace, example_operation("fail-once"))
    nodes = [
        {"name": "a", "operation": "text-source", "parameters": {"Text": "again"}},
        {"name": "flaky", "operation": "fail-once", "inputs": {"Input": ["a"]}},
        {"name": "c", "operation": "text-upper", "inputs": {"Text": ["flaky"]}},
    ]
    create_workflow(k8s_api, namespace, "rerun", {"nodes": nodes})
    status = finished(k8s_api, namespace, "rerun")
    assert status["phase"] == "Failed"
    assert status["nodes"]["c"]["phase"] == "Skipped"
    first_a_job = status["nodes"]["a"]["job"]

    patch_workflow_spec(k8s_api, namespace, "rerun", {"rerun": "try-2"})
    wait_for(lambda: workflow_phase_is(k8s_api, namespace, "rerun", "Running", "Succeeded"), timeout=30,
             message="the rerun starts")
    status = finished(k8s_api, namespace, "rerun")
    assert status["phase"] == "Succeeded", status
    assert status["run"] == "1"
    assert status["nodes"]["a"]["job"] == first_a_job
    assert status["nodes"]["flaky"]["rerun"] == 1
    assert status["nodes"]["flaky"]["job"].endswith("-x1")
    pods = client.CoreV1Api(k8s_api).list_namespaced_pod(namespace, label_selector=f"job-name={first_a_job}").items
    assert len(pods) == 1
    assert read_claim_file(k8s_api, namespace, status["claim"], "c/data.txt", image=TEXT_IMAGE) == "AGAIN"


def test_spec_change_starts_new_run(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    create_workflow(k8s_api, namespace, "edited", {"nodes": chain()})
    first = finished(k8s_api, namespace, "edited")
    assert (first["phase"], first["run"]) == ("Succeeded", "1")

    patch_workflow_spec(k8s_api, namespace, "edited", {"ttlSecondsAfterFinished": 3600})
    time.sleep(3)
    unchanged = get_workflow(k8s_api, namespace, "edited")["status"]
    assert (unchanged["run"], unchanged["phase"], unchanged["observedGeneration"]) == ("1", "Succeeded", 2)

    body = get_workflow(k8s_api, namespace, "edited")
    body["spec"]["nodes"][0]["parameters"] = {"Text": "xyz"}
    client.CustomObjectsApi(k8s_api).replace_namespaced_custom_object(
        "stage2.dev", "v1alpha1", namespace, "workflows", "edited", body
    )
    wait_for(lambda: get_workflow(k8s_api, namespace, "edited")["status"].get("run") == "3", timeout=30,
             message="a new run starts for generation 3")
    second = finished(k8s_api, namespace, "edited")
    assert second["phase"] == "Succeeded"
    assert read_claim_file(k8s_api, namespace, second["claim"], "c/data.txt", image=TEXT_IMAGE) == "XYZ"
    wait_for(
        lambda: all(name.endswith("-r3") for name in owned_children(k8s_api, namespace)["jobs"]),
        timeout=30, message="the first run's Jobs are deleted",
    )


def test_ttl_after_success_removes_everything(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    create_workflow(k8s_api, namespace, "shortlived", {"nodes": chain(), "ttlSecondsAfterSuccess": 2})

    def gone() -> bool:
        try:
            get_workflow(k8s_api, namespace, "shortlived")
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(gone, timeout=120, message="the workflow is deleted after its TTL")
    wait_for(lambda: owned_children(k8s_api, namespace) == {"jobs": [], "pods": [], "configmaps": [], "claims": []},
             timeout=60, message="garbage collection removes every child")


def test_delete_running_workflow_cleans_up(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace, sleep=60)
    create_workflow(k8s_api, namespace, "doomed", {"nodes": chain(first="slow-source")})
    wait_for(lambda: node_phase(k8s_api, namespace, "doomed", "a") == "Running", timeout=30, message="a runs")
    body = get_workflow(k8s_api, namespace, "doomed")
    assert not body["metadata"].get("finalizers")
    assert not [key for key in body["metadata"].get("annotations") or {} if "kopf" in key]
    client.CustomObjectsApi(k8s_api).delete_namespaced_custom_object(
        "stage2.dev", "v1alpha1", namespace, "workflows", "doomed"
    )
    wait_for(lambda: owned_children(k8s_api, namespace) == {"jobs": [], "pods": [], "configmaps": [], "claims": []},
             timeout=90, message="garbage collection removes every child of a running workflow")


def test_failed_run_keeps_claim_after_deletion(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    create_operation(
        k8s_api, namespace, derived_operation("text-upper", "exit-two", command=["python", "-c", "raise SystemExit(2)"])
    )
    create_workflow(k8s_api, namespace, "kept", {"nodes": chain(second="exit-two")})
    status = finished(k8s_api, namespace, "kept")
    assert status["phase"] == "Failed"
    claim = status["claim"]
    wait_for(lambda: get_workflow(k8s_api, namespace, "kept")["status"].get("claimRetained") is True, timeout=30,
             message="the failed run's claim is retained")
    client.CustomObjectsApi(k8s_api).delete_namespaced_custom_object(
        "stage2.dev", "v1alpha1", namespace, "workflows", "kept"
    )
    wait_for(lambda: owned_children(k8s_api, namespace)["jobs"] == [], timeout=90, message="the Jobs are removed")
    time.sleep(2)
    kept = client.CoreV1Api(k8s_api).read_namespaced_persistent_volume_claim(claim, namespace)
    assert not kept.metadata.owner_references
    assert kept.metadata.labels["stage2.dev/retained"] == "true"
    assert read_claim_file(k8s_api, namespace, claim, "a/data.txt", image=TEXT_IMAGE) == "abc"
