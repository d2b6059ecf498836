"""Failure classes provoked for real on the test cluster: each ends with a reason."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import wait_for
from tests.support.operator import (
    create_operation,
    create_workflow,
    derived_operation,
    example_operation,
    get_workflow,
    node_phase,
    owned_children,
    sleeping_command,
    workflow_phase_is,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

TERMINAL = ("Succeeded", "Failed", "Cancelled")


def finished(api: client.ApiClient, namespace: str, name: str, timeout: float = 180) -> dict[str, Any]:
    body: dict[str, Any] = wait_for(
        lambda: workflow_phase_is(api, namespace, name, *TERMINAL), timeout=timeout, message=f"workflow {name} finished"
    )
    return body["status"]


def source_with(api: client.ApiClient, namespace: str, name: str, **spec: Any) -> None:
    create_operation(api, namespace, derived_operation("text-source", name, **spec))


def single_node(api: client.ApiClient, namespace: str, workflow: str, operation: str, **spec: Any) -> None:
    create_workflow(api, namespace, workflow, {"nodes": [{"name": "only", "operation": operation}], **spec})


def test_retry_succeeds_on_second_attempt(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_operation(k8s_api, namespace, example_operation("fail-once"))
    create_workflow(
        k8s_api,
        namespace,
        "retry",
        {
            "nodes": [
                {"name": "text", "operation": "text-source"},
                {"name": "flaky", "operation": "fail-once", "inputs": {"Input": ["text"]}, "retries": 1},
            ]
        },
    )
    status = finished(k8s_api, namespace, "retry")
    assert status["phase"] == "Succeeded", status
    assert status["nodes"]["flaky"]["attempts"] == 2
    assert status["nodes"]["flaky"]["outputs"] == ["data.txt"]


def test_attempt_timeout_is_deadline_exceeded(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(k8s_api, namespace, "too-slow", command=sleeping_command(120), timeoutSeconds=3)
    single_node(k8s_api, namespace, "slow", "too-slow")
    status = finished(k8s_api, namespace, "slow", timeout=90)
    assert status["phase"] == "Failed"
    assert status["nodes"]["only"]["reason"] == "DeadlineExceeded", status["nodes"]["only"]


def test_memory_limit_is_oom_killed(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(
        k8s_api,
        namespace,
        "hungry",
        command=["python", "-c", "import time; block = bytearray(400 * 1024 * 1024); time.sleep(5)"],
        resources={"limits": {"memory": "48Mi"}},
    )
    single_node(k8s_api, namespace, "oom", "hungry")
    status = finished(k8s_api, namespace, "oom", timeout=90)
    assert status["phase"] == "Failed"
    assert status["nodes"]["only"]["reason"] == "OOMKilled", status["nodes"]["only"]


def test_missing_image_fails_after_grace(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(k8s_api, namespace, "no-image", image="localhost/stage2-missing:dev", imagePullPolicy="Never")
    single_node(k8s_api, namespace, "pull", "no-image")
    waiting = wait_for(
        lambda: (get_workflow(k8s_api, namespace, "pull").get("status") or {}).get("nodes", {}).get("only", {}).get(
            "reason") == "ImagePullFailed",
        timeout=60,
        message="the node reports the image problem while it waits",
    )
    assert waiting
    status = finished(k8s_api, namespace, "pull", timeout=90)
    node = status["nodes"]["only"]
    assert (status["phase"], node["phase"], node["reason"]) == ("Failed", "Failed", "ImagePullFailed")
    assert "localhost/stage2-missing:dev" in node["message"]
    wait_for(lambda: owned_children(k8s_api, namespace)["jobs"] == [], timeout=30, message="the stuck Job is deleted")


def test_unschedulable_until_deadline(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_workflow(
        k8s_api,
        namespace,
        "nowhere",
        {
            "nodes": [{"name": "only", "operation": "text-source"}],
            "nodeSelector": {"stage2.dev/no-such-node": "true"},
            "activeDeadlineSeconds": 12,
        },
    )
    wait_for(
        lambda: (get_workflow(k8s_api, namespace, "nowhere").get("status") or {}).get("nodes", {}).get("only", {}).get(
            "reason") == "Unschedulable",
        timeout=30,
        message="the pending node says it cannot be scheduled",
    )
    status = finished(k8s_api, namespace, "nowhere", timeout=60)
    assert status["phase"] == "Failed"
    assert status["nodes"]["only"]["reason"] == "DeadlineExceeded"
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "DeadlineExceeded")


def running_pod(api: client.ApiClient, namespace: str, job: str) -> client.V1Pod | None:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
    return next((p for p in pods if p.status.phase == "Running"), None)


def test_deleted_pod_is_retried(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(k8s_api, namespace, "slow-source", command=sleeping_command(8))
    single_node(k8s_api, namespace, "podgone", "slow-source")
    job = wait_for(
        lambda: ((get_workflow(k8s_api, namespace, "podgone").get("status") or {}).get("nodes", {})
                 .get("only", {}).get("job")),
        timeout=30, message="the node's Job is named in status",
    )
    pod = wait_for(lambda: running_pod(k8s_api, namespace, job), timeout=60, message="the node's pod runs")
    client.CoreV1Api(k8s_api).delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
    # The Operation allows no retries, so the node fails with a reason; it is never left Running.
    status = finished(k8s_api, namespace, "podgone", timeout=120)
    node = status["nodes"]["only"]
    assert node["phase"] in ("Succeeded", "Failed")
    if node["phase"] == "Failed":
        assert node["reason"]


def test_deleted_job_is_recreated(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(k8s_api, namespace, "slow-source", command=sleeping_command(6))
    single_node(k8s_api, namespace, "jobgone", "slow-source")
    job = wait_for(
        lambda: ((get_workflow(k8s_api, namespace, "jobgone").get("status") or {}).get("nodes", {})
                 .get("only", {}).get("job")),
        timeout=30, message="the node's Job is named in status",
    )
    wait_for(lambda: running_pod(k8s_api, namespace, job), timeout=60, message="the node's pod runs")
    batch = client.BatchV1Api(k8s_api)
    first_uid = batch.read_namespaced_job(job, namespace).metadata.uid
    batch.delete_namespaced_job(job, namespace, propagation_policy="Background")
    wait_for(
        lambda: batch.read_namespaced_job(job, namespace).metadata.uid != first_uid,
        timeout=60, message="a new Job replaces the deleted one",
    )
    status = finished(k8s_api, namespace, "jobgone", timeout=120)
    assert status["phase"] == "Succeeded", status


def test_deleted_payload_configmap_is_recreated(
    operator: Any, k8s_api: client.ApiClient, namespace: str
) -> None:
    source_with(k8s_api, namespace, "slow-source", command=sleeping_command(25), timeoutSeconds=120)
    single_node(k8s_api, namespace, "cmgone", "slow-source")
    core = client.CoreV1Api(k8s_api)
    configmap = wait_for(
        lambda: owned_children(k8s_api, namespace)["configmaps"], timeout=30, message="the payload ConfigMap exists"
    )[0]
    # Delete it once the pod has mounted it: a pod that has not yet mounted
    # it waits on the kubelet's mount retry backoff, which is not ours.
    job = configmap.removesuffix("-payload")
    wait_for(lambda: running_pod(k8s_api, namespace, job), timeout=60, message="the node's pod runs")
    first_uid = core.read_namespaced_config_map(configmap, namespace).metadata.uid
    core.delete_namespaced_config_map(configmap, namespace)
    recreated = wait_for(
        lambda: core.read_namespaced_config_map(configmap, namespace),
        timeout=40, message="the payload ConfigMap is recreated",
    )
    assert recreated.metadata.uid != first_uid
    status = finished(k8s_api, namespace, "cmgone", timeout=120)
    assert status["phase"] == "Succeeded", status
    assert node_phase(k8s_api, namespace, "cmgone", "only") == "Succeeded"


def test_eviction_does_not_use_a_retry(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    source_with(k8s_api, namespace, "slow-source", command=sleeping_command(8), retries=0)
    single_node(k8s_api, namespace, "evicted", "slow-source")
    job = wait_for(
        lambda: ((get_workflow(k8s_api, namespace, "evicted").get("status") or {}).get("nodes", {})
                 .get("only", {}).get("job")),
        timeout=30, message="the node's Job is named in status",
    )
    pod = wait_for(lambda: running_pod(k8s_api, namespace, job), timeout=60, message="the node's pod runs")
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=namespace))
    client.CoreV1Api(k8s_api).create_namespaced_pod_eviction(pod.metadata.name, namespace, eviction)
    status = finished(k8s_api, namespace, "evicted", timeout=120)
    # retries is 0, so only a disruption that is not counted lets it succeed.
    assert status["phase"] == "Succeeded", status
    batch_job = client.BatchV1Api(k8s_api).read_namespaced_job(job, namespace)
    assert not batch_job.status.failed
    pods = client.CoreV1Api(k8s_api).list_namespaced_pod(namespace, label_selector=f"job-name={job}").items
    assert [p.metadata.name for p in pods if p.status.phase == "Succeeded"] != [pod.metadata.name]
    assert pod.metadata.uid not in {p.metadata.uid for p in pods}
