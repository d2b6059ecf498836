"""Bad input and large input on the test cluster: clear errors, no crash, nothing lost."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster import wait_for
from tests.support.operator import (
    GROUP,
    VERSION,
    create_operation,
    create_workflow,
    example_operation,
    get_workflow,
    owned_children,
    workflow_phase_is,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


def text_operations(api: client.ApiClient, namespace: str) -> None:
    create_operation(api, namespace, example_operation("text-source"))
    create_operation(api, namespace, example_operation("text-upper"))


def rejected(api: client.ApiClient, namespace: str, name: str, spec: Any) -> ApiException:
    with pytest.raises(ApiException) as caught:
        create_workflow(api, namespace, name, spec)
    return caught.value


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ({"nodes": "not-a-list"}, "spec.nodes"),
        ({"nodes": [{"name": "a"}]}, "spec.nodes[0].operation"),
        ({"nodes": [{"name": "a", "operation": "text-source", "retries": "three"}]}, "spec.nodes[0].retries"),
        ({"nodes": [{"name": "a" * 64, "operation": "text-source"}]}, "spec.nodes[0].name"),
        ({"nodes": [{"name": "a", "operation": "text-source"}], "parallelism": 0}, "spec.parallelism"),
        ({"nodes": [{"name": "a", "operation": "text-source"}, {"name": "a", "operation": "text-source"}]},
         "Duplicate value"),
    ],
    ids=["nodes-not-list", "operation-missing", "retries-string", "name-too-long", "parallelism-zero",
         "duplicate-node"],
)
def test_schema_rejects_malformed_fields(
    operator: Any, k8s_api: client.ApiClient, namespace: str, spec: Any, fragment: str
) -> None:
    error = rejected(k8s_api, namespace, "malformed", spec)
    assert error.status == 422
    assert fragment in error.body


def test_rejected_update_keeps_stored_spec(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    create_workflow(k8s_api, namespace, "kept", {"nodes": [{"name": "a", "operation": "text-source"}]})
    wait_for(lambda: workflow_phase_is(k8s_api, namespace, "kept", "Succeeded"), timeout=120,
             message="the valid workflow succeeds")
    before = get_workflow(k8s_api, namespace, "kept")
    with pytest.raises(ApiException) as caught:
        client.CustomObjectsApi(k8s_api).patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "workflows", "kept", {"spec": {"parallelism": -1}}
        )
    assert caught.value.status == 422
    after = get_workflow(k8s_api, namespace, "kept")
    assert after["spec"] == before["spec"]
    assert after["status"]["phase"] == "Succeeded"


@pytest.mark.parametrize(
    ("node", "fragment"),
    [
        ("Clip", 'rename it to "clip"'),
        ("straße", "invalid node name"),
        ("under_score", 'rename it to "under-score"'),
    ],
    ids=["uppercase", "unicode", "underscore"],
)
def test_invalid_node_names_fail_clearly(
    operator: Any, k8s_api: client.ApiClient, namespace: str, node: str, fragment: str
) -> None:
    text_operations(k8s_api, namespace)
    create_workflow(k8s_api, namespace, "names", {"nodes": [{"name": node, "operation": "text-source"}]})
    body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "names", "Failed"), timeout=20,
                    message="the workflow fails its validation")
    assert fragment in body["status"]["message"]
    assert owned_children(k8s_api, namespace)["jobs"] == []


def test_longest_names_are_cut_and_run(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    workflow = "w" * 63
    node = "n" * 63
    create_workflow(k8s_api, namespace, workflow, {"nodes": [{"name": node, "operation": "text-source"}]})
    body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, workflow, "Succeeded", "Failed"), timeout=120,
                    message="the workflow with 63-character names finishes")
    assert body["status"]["phase"] == "Succeeded", body["status"]
    jobs = owned_children(k8s_api, namespace)["jobs"]
    assert len(jobs) == 1
    assert len(jobs[0]) <= 63


@pytest.mark.parametrize(
    ("text", "phase", "fragment"),
    [
        ("x" * 100_000, "Succeeded", None),
        ("x" * 140_000, "Failed", "above the 131071-byte limit"),
    ],
    ids=["payload-under-limit", "payload-over-limit"],
)
def test_payload_size_limit(
    operator: Any, k8s_api: client.ApiClient, namespace: str, text: str, phase: str, fragment: str | None
) -> None:
    text_operations(k8s_api, namespace)
    create_workflow(k8s_api, namespace, "big", {"nodes": [{"name": "a", "operation": "text-source",
                                                           "parameters": {"Text": text}}]})
    body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "big", "Succeeded", "Failed"), timeout=120,
                    message="the workflow with a large parameter finishes")
    assert body["status"]["phase"] == phase, body["status"].get("message")
    if fragment is not None:
        assert fragment in body["status"]["message"]
        assert owned_children(k8s_api, namespace)["jobs"] == []


def test_thousand_nodes_validate_without_loops(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    text_operations(k8s_api, namespace)
    nodes = [{"name": "root", "operation": "text-source"}]
    nodes += [{"name": f"n{i}", "operation": "text-upper", "inputs": {"Text": ["root" if i < 10 else f"n{i - 10}"]}}
              for i in range(999)]
    create_workflow(k8s_api, namespace, "thousand", {"nodes": nodes, "suspend": True})
    body = wait_for(lambda: (get_workflow(k8s_api, namespace, "thousand").get("status") or {}).get("progress"),
                    timeout=30, message="the 1,000-node workflow gets a status")
    status = get_workflow(k8s_api, namespace, "thousand")["status"]
    assert status["progress"] == "0/1000"
    assert status["message"].startswith("suspended")
    assert body
    # A settled workflow is not rewritten over and over.
    version = get_workflow(k8s_api, namespace, "thousand")["metadata"]["resourceVersion"]
    time.sleep(5)
    assert get_workflow(k8s_api, namespace, "thousand")["metadata"]["resourceVersion"] == version
    assert owned_children(k8s_api, namespace)["jobs"] == []


def test_parameter_at_and_beyond_limits(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_operation(k8s_api, namespace, example_operation("fail-once"))
    base = [{"name": "text", "operation": "text-source"}]
    at_limit = base + [{"name": "edge", "operation": "fail-once", "inputs": {"Input": ["text"]},
                        "parameters": {"Exit Code": 255, "Failing Attempts": 0}}]
    beyond = base + [{"name": "edge", "operation": "fail-once", "inputs": {"Input": ["text"]},
                      "parameters": {"Exit Code": 256, "Failing Attempts": -1}}]
    create_workflow(k8s_api, namespace, "at-limit", {"nodes": at_limit})
    create_workflow(k8s_api, namespace, "beyond", {"nodes": beyond})
    beyond_body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "beyond", "Failed"), timeout=20,
                           message="the workflow beyond the limits fails validation")
    message = beyond_body["status"]["message"]
    assert 'spec.nodes[edge].parameters["Exit Code"]' in message
    assert 'spec.nodes[edge].parameters["Failing Attempts"]' in message
    at_body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "at-limit", "Succeeded", "Failed"),
                       timeout=120, message="the workflow at the limits finishes")
    assert at_body["status"]["phase"] == "Succeeded", at_body["status"]
