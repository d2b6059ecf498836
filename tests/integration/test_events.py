"""Kubernetes Events of a Workflow: one per phase change, none for a pass that changes nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes import client

from stage2_operator import metrics
from tests.support.cluster import wait_for
from tests.support.operator import create_operation, create_workflow, example_operation, workflow_phase_is

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

GROUP = "stage2.dev"
VERSION = "v1alpha1"


def workflow_event_reasons(api: client.ApiClient, namespace: str, name: str) -> list[str]:
    events = client.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.kind=Workflow,involvedObject.name={name}"
    )
    return sorted(event.reason for event in events.items)


def reconcile_passes() -> float:
    return sum(
        metrics.REGISTRY.get_sample_value("stage2_reconcile_total", {"result": result}) or 0.0
        for result in metrics.RESULTS
    )


def require_leadership() -> None:
    """Skip unless this process's operator holds the leader Lease within 30 s.

    Test sessions running at the same time on one cluster share the Lease,
    and only the leader reconciles, so only the leader's metrics move.
    """
    deadline = time.monotonic() + 30
    while metrics.REGISTRY.get_sample_value("stage2_leader") != 1:
        if time.monotonic() > deadline:
            pytest.skip("another operator holds the leader Lease of the s2t-* namespaces")
        time.sleep(0.5)


def test_events_once_per_phase_change(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    require_leadership()
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_operation(k8s_api, namespace, example_operation("text-upper"))
    create_workflow(k8s_api, namespace, "noted", {
        "nodes": [
            {"name": "say", "operation": "text-source"},
            {"name": "shout", "operation": "text-upper", "inputs": {"Text": ["say"]}},
        ],
    })
    body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "noted", "Succeeded", "Failed"),
                    timeout=180, message="workflow noted finished")
    assert body["status"]["phase"] == "Succeeded", body["status"]

    # The phase went (none) -> Running -> Succeeded: two changes, two Events.
    expected = ["WorkflowRunning", "WorkflowSucceeded"]
    wait_for(lambda: len(workflow_event_reasons(k8s_api, namespace, "noted")) >= 2,
             timeout=30, message="two Events of workflow noted")
    assert workflow_event_reasons(k8s_api, namespace, "noted") == expected

    # An annotation changes no status, so the pass it causes posts nothing.
    passes = reconcile_passes()
    client.CustomObjectsApi(k8s_api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "workflows", "noted",
        {"metadata": {"annotations": {"test.stage2.dev/touched": str(time.time())}}},
    )
    wait_for(lambda: reconcile_passes() > passes, timeout=30,
             message="a reconcile pass after annotating workflow noted")
    time.sleep(3)
    assert workflow_event_reasons(k8s_api, namespace, "noted") == expected
