"""Workflows of real operations, run by the in-process operator on the test cluster."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import wait_for
from tests.support.operator import (
    create_operation,
    create_workflow,
    example_operation,
    get_workflow,
    kubectl,
    read_claim_file,
    workflow_phase_is,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

TEXT_SOURCE = "text-source"
TEXT_UPPER = "text-upper"


def apply_text_operations(api: client.ApiClient, namespace: str) -> dict[str, Any]:
    source = example_operation(TEXT_SOURCE)
    upper = example_operation(TEXT_UPPER)
    create_operation(api, namespace, source)
    create_operation(api, namespace, upper)
    return {"source": source, "upper": upper}


def children(api: client.ApiClient, namespace: str) -> dict[str, list[str]]:
    selector = "app.kubernetes.io/managed-by=stage2-operator"
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    return {
        "jobs": [j.metadata.name for j in batch.list_namespaced_job(namespace, label_selector=selector).items],
        "configmaps": [
            c.metadata.name for c in core.list_namespaced_config_map(namespace, label_selector=selector).items
        ],
        "claims": [
            c.metadata.name
            for c in core.list_namespaced_persistent_volume_claim(namespace, label_selector=selector).items
        ],
    }


def test_linear_chain_succeeds(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    operations = apply_text_operations(k8s_api, namespace)
    create_workflow(
        k8s_api,
        namespace,
        "chain",
        {
            "nodes": [
                {"name": "hello", "operation": TEXT_SOURCE, "parameters": {"Text": "stage two"}},
                {"name": "shout", "operation": TEXT_UPPER, "inputs": {"Text": ["hello"]}},
                {"name": "again", "operation": TEXT_UPPER, "inputs": {"Text": ["shout"]}},
            ]
        },
    )
    body = wait_for(
        lambda: workflow_phase_is(k8s_api, namespace, "chain", "Succeeded", "Failed"),
        timeout=180,
        message="workflow chain finished",
    )
    status = body["status"]
    assert status["phase"] == "Succeeded", status
    assert status["progress"] == "3/3"
    assert status["observedGeneration"] == 1
    assert {name: node["phase"] for name, node in status["nodes"].items()} == {
        "hello": "Succeeded", "shout": "Succeeded", "again": "Succeeded",
    }
    assert status["nodes"]["again"]["outputs"] == ["data.txt"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}

    table = kubectl("get", "s2wf", "chain", "-n", namespace).stdout
    assert "Succeeded" in table.splitlines()[1]
    assert "3/3" in table.splitlines()[1]

    core = client.CoreV1Api(k8s_api)
    configmap = core.read_namespaced_config_map(f"chain-shout-r{status['run']}-payload", namespace)
    payload = json.loads(configmap.data["payload.json"])
    assert set(payload) == {"context", "inputs", "outputs", "parameters"}
    assert payload["inputs"] == {"Text": ["/stage2/inputs/Text/hello/data.txt"]}
    assert payload["outputs"] == {"output": "/stage2/outputs/output/data"}
    assert payload["parameters"] == {}
    assert payload["context"]["workflow"] == "chain"
    assert payload["context"]["node"] == "shout"
    source_payload = json.loads(
        core.read_namespaced_config_map(f"chain-hello-r{status['run']}-payload", namespace).data["payload.json"]
    )
    assert source_payload["inputs"] == {}
    assert source_payload["parameters"] == {"Text": "stage two"}

    content = read_claim_file(
        k8s_api, namespace, status["claim"], "again/data.txt", image=operations["source"]["spec"]["image"]
    )
    assert content == "STAGE TWO"


def test_diamond_runs_branches_together(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    operations = apply_text_operations(k8s_api, namespace)
    # The same image as text-upper, declared with a port that takes at most
    # two upstreams and a command that sleeps first, so that the two
    # branches visibly overlap.
    slow = copy.deepcopy(operations["upper"])
    slow["metadata"] = {"name": "slow-upper"}
    slow["spec"]["inputs"]["Text"]["multiplicity"] = {"min": 1, "max": 2}
    slow["spec"]["command"] = ["sh", "-c", 'sleep 4; exec python stage2_interface.py "$1"', "slow-upper"]
    create_operation(k8s_api, namespace, slow)
    create_workflow(
        k8s_api,
        namespace,
        "diamond",
        {
            "nodes": [
                {"name": "a", "operation": TEXT_SOURCE, "parameters": {"Text": "ab"}},
                {"name": "b", "operation": "slow-upper", "inputs": {"Text": ["a"]}},
                {"name": "c", "operation": "slow-upper", "inputs": {"Text": ["a"]}},
                {"name": "d", "operation": "slow-upper", "inputs": {"Text": ["c", "b"]}},
            ]
        },
    )
    body = wait_for(
        lambda: workflow_phase_is(k8s_api, namespace, "diamond", "Succeeded", "Failed"),
        timeout=180,
        message="workflow diamond finished",
    )
    status = body["status"]
    assert status["phase"] == "Succeeded", status

    core = client.CoreV1Api(k8s_api)
    run = status["run"]
    payload = json.loads(core.read_namespaced_config_map(f"diamond-d-r{run}-payload", namespace).data["payload.json"])
    assert payload["inputs"] == {"Text": ["/stage2/inputs/Text/c/data.txt", "/stage2/inputs/Text/b/data.txt"]}

    intervals = {}
    for node in ("b", "c"):
        pods = core.list_namespaced_pod(namespace, label_selector=f"job-name=diamond-{node}-r{run}").items
        terminated = pods[0].status.container_statuses[0].state.terminated
        intervals[node] = (terminated.started_at, terminated.finished_at)
    assert intervals["b"][0] < intervals["c"][1]
    assert intervals["c"][0] < intervals["b"][1]

    content = read_claim_file(k8s_api, namespace, status["claim"], "d/data.txt", image=slow["spec"]["image"])
    assert content == "ABAB"


def test_cycle_fails_without_children(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    apply_text_operations(k8s_api, namespace)
    started = time.monotonic()
    create_workflow(
        k8s_api,
        namespace,
        "loop",
        {
            "nodes": [
                {"name": "start", "operation": TEXT_SOURCE},
                {"name": "x", "operation": TEXT_UPPER, "inputs": {"Text": ["start", "z"]}},
                {"name": "y", "operation": TEXT_UPPER, "inputs": {"Text": ["x"]}},
                {"name": "z", "operation": TEXT_UPPER, "inputs": {"Text": ["y"]}},
            ]
        },
    )
    body = wait_for(
        lambda: workflow_phase_is(k8s_api, namespace, "loop", "Failed"),
        timeout=10,
        message="workflow loop failed",
    )
    assert time.monotonic() - started < 10
    status = body["status"]
    stalled = next(c for c in status["conditions"] if c["type"] == "Stalled")
    assert (stalled["status"], stalled["reason"]) == ("True", "InvalidSpec")
    assert "x -> y -> z -> x" in status["message"]
    # Give the operator time to misbehave before checking that it did not.
    time.sleep(3)
    assert children(k8s_api, namespace) == {"jobs": [], "configmaps": [], "claims": []}


def test_failing_node_skips_downstream(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    operations = apply_text_operations(k8s_api, namespace)
    broken = copy.deepcopy(operations["upper"])
    broken["metadata"] = {"name": "exit-one"}
    broken["spec"]["command"] = ["python", "-c", "import sys; print('failing on purpose'); sys.exit(1)"]
    create_operation(k8s_api, namespace, broken)
    create_workflow(
        k8s_api,
        namespace,
        "broken",
        {
            "nodes": [
                {"name": "a", "operation": TEXT_SOURCE},
                {"name": "fails", "operation": "exit-one", "inputs": {"Text": ["a"]}},
                {"name": "after", "operation": TEXT_UPPER, "inputs": {"Text": ["fails"]}},
                {"name": "last", "operation": TEXT_UPPER, "inputs": {"Text": ["after"]}},
            ]
        },
    )
    body = wait_for(
        lambda: workflow_phase_is(k8s_api, namespace, "broken", "Succeeded", "Failed"),
        timeout=180,
        message="workflow broken finished",
    )
    status = body["status"]
    assert status["phase"] == "Failed"
    nodes = status["nodes"]
    assert nodes["fails"]["phase"] == "Failed"
    assert nodes["fails"]["exitCode"] == 1
    assert nodes["fails"]["reason"] == "Error"
    assert nodes["after"]["phase"] == "Skipped"
    assert nodes["last"]["phase"] == "Skipped"
    assert "node fails failed" in status["message"]
    jobs = children(k8s_api, namespace)["jobs"]
    assert sorted(jobs) == sorted([f"broken-a-r{status['run']}", f"broken-fails-r{status['run']}"])
    events = client.CoreV1Api(k8s_api).list_namespaced_event(
        namespace, field_selector="involvedObject.name=broken"
    ).items
    assert "NodeFailed" in {event.reason for event in events}
    assert get_workflow(k8s_api, namespace, "broken")["status"]["phase"] == "Failed"
