"""The metrics endpoint of the in-process operator, scraped during a real workflow."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from stage2_operator import metrics
from tests.support.cluster import wait_for
from tests.support.operator import create_operation, create_workflow, example_operation, workflow_phase_is

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape() -> Samples:
    """Fetch /metrics from the operator of this process and index the samples by name and labels."""
    ports = metrics.serving_ports()
    assert ports, "the operator serves no metrics endpoint; see its log for the bind error"
    with urllib.request.urlopen(f"http://127.0.0.1:{ports[-1]}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def names(samples: Samples) -> set[str]:
    return {name for name, _labels in samples}


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


def test_metrics_during_text_workflow(operator: Any, k8s_api: client.ApiClient, namespace: str) -> None:
    require_leadership()
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_operation(k8s_api, namespace, example_operation("text-upper"))
    before = scrape()
    create_workflow(k8s_api, namespace, "measured", {
        "nodes": [
            {"name": "say", "operation": "text-source", "parameters": {"Text": "metrics"}},
            {"name": "shout", "operation": "text-upper", "inputs": {"Text": ["say"]}},
        ],
    })

    during = wait_for(
        lambda: (lambda s: s if value(s, "stage2_workflows", phase="Running") >= 1 else None)(scrape()),
        timeout=60, message="stage2_workflows{phase=Running} >= 1 while the workflow runs",
    )
    assert value(during, "stage2_nodes", phase="Running") >= 1
    assert value(during, "stage2_job_create_duration_seconds_count") > value(
        before, "stage2_job_create_duration_seconds_count")

    body = wait_for(lambda: workflow_phase_is(k8s_api, namespace, "measured", "Succeeded", "Failed"),
                    timeout=180, message="workflow measured finished")
    assert body["status"]["phase"] == "Succeeded", body["status"]
    after = wait_for(
        lambda: (lambda s: s if value(s, "stage2_workflows", phase="Succeeded") >= 1 else None)(scrape()),
        timeout=30, message="stage2_workflows{phase=Succeeded} >= 1 after the workflow finished",
    )

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert value(after, "stage2_nodes", phase="Succeeded") >= 2
    assert delta("stage2_reconcile_total", result="success") + delta("stage2_reconcile_total", result="requeue_after") >= 3
    assert ("stage2_reconcile_total", (("result", "error"),)) in after
    assert "stage2_reconcile_errors_total" in names(after)
    assert delta("stage2_reconcile_time_seconds_count") >= 3
    assert 0 < value(after, "stage2_reconcile_time_seconds_sum") / value(after, "stage2_reconcile_time_seconds_count") < 10

    assert delta("stage2_job_create_duration_seconds_count") >= 2
    assert delta("stage2_job_create_duration_seconds_sum") / delta("stage2_job_create_duration_seconds_count") < 5

    # shout's Job follows say's finishedAt, which has one-second resolution.
    assert delta("stage2_step_latency_seconds_count") >= 1
    assert 0 <= delta("stage2_step_latency_seconds_sum") / delta("stage2_step_latency_seconds_count") < 60

    for operation in ("text-source", "text-upper"):
        assert delta("stage2_node_duration_seconds_count", operation=operation, phase="Succeeded") >= 1, operation
        assert delta("stage2_node_duration_seconds_sum", operation=operation, phase="Succeeded") < 180, operation

    assert delta("stage2_k8s_requests_total", verb="create", resource="jobs", code="201") >= 2
    assert delta("stage2_k8s_requests_total", verb="create", resource="configmaps", code="201") >= 2
    assert delta("stage2_k8s_requests_total", verb="get", resource="workflows", code="200") >= 3
    assert delta("stage2_k8s_requests_total", verb="update", resource="workflows/status", code="200") >= 2
    assert delta("stage2_k8s_request_duration_seconds_count", verb="create", resource="jobs") >= 2

    assert "stage2_workqueue_depth" in names(after)
    assert value(after, "stage2_workqueue_depth") >= 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert any(name == "stage2_build_info" for name, _labels in after)
