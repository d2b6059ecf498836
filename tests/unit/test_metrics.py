"""Metric names, request classification and the helpers the reconciler calls."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from prometheus_client import generate_latest

from stage2_operator import metrics


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def test_exposition_names() -> None:
    text = generate_latest(metrics.REGISTRY).decode()
    for name in (
        "stage2_workflows", "stage2_nodes", "stage2_reconcile_total", "stage2_reconcile_errors_total",
        "stage2_reconcile_time_seconds", "stage2_job_create_duration_seconds", "stage2_step_latency_seconds",
        "stage2_node_duration_seconds", "stage2_k8s_requests_total", "stage2_k8s_request_duration_seconds",
        "stage2_workqueue_depth", "stage2_leader", "stage2_build_info", "process_resident_memory_bytes",
    ):
        assert f"# TYPE {name} " in text, name
    assert 'stage2_reconcile_total{result="error"}' in text


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/apis/stage2.dev/v1alpha1/namespaces/ns/workflows/wf", ("get", "workflows")),
        ("PUT", "/apis/stage2.dev/v1alpha1/namespaces/ns/workflows/wf/status", ("update", "workflows/status")),
        ("PATCH", "/apis/stage2.dev/v1alpha1/namespaces/ns/operations/op/status", ("patch", "operations/status")),
        ("POST", "/apis/batch/v1/namespaces/ns/jobs", ("create", "jobs")),
        ("DELETE", "/apis/batch/v1/namespaces/ns/jobs/wf-a", ("delete", "jobs")),
        ("DELETE", "/api/v1/namespaces/ns/configmaps", ("deletecollection", "configmaps")),
        ("GET", "/api/v1/namespaces/ns/pods", ("list", "pods")),
        ("GET", "/api/v1/namespaces", ("list", "namespaces")),
        ("GET", "/api/v1/namespaces/ns", ("get", "namespaces")),
        ("PUT", "/apis/coordination.k8s.io/v1/namespaces/ns/leases/stage2", ("update", "leases")),
        ("GET", "/version", ("get", "other")),
    ],
)
def test_describe_request(method: str, path: str, expected: tuple[str, str]) -> None:
    assert metrics.describe_request(method, f"https://127.0.0.1:6443{path}?limit=5") == expected


class FakeError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class FakeResponse:
    status = 201


class FakeRest:
    def __init__(self) -> None:
        self.fail_with: Exception | None = None

    def request(self, method: str, url: str, headers: Any = None, body: Any = None) -> FakeResponse:
        if self.fail_with is not None:
            raise self.fail_with
        return FakeResponse()


class FakeApiClient:
    def __init__(self) -> None:
        self.rest_client = FakeRest()


def test_instrumented_client_counts_codes() -> None:
    api_client = FakeApiClient()
    metrics.instrument_api_client(api_client)
    metrics.instrument_api_client(api_client)
    labels = {"verb": "create", "resource": "secrets", "code": "201"}
    before = sample("stage2_k8s_requests_total", labels)
    url = "https://127.0.0.1:6443/api/v1/namespaces/ns/secrets"

    api_client.rest_client.request("POST", url, body={})
    assert sample("stage2_k8s_requests_total", labels) == before + 1

    api_client.rest_client.fail_with = FakeError(409)
    with pytest.raises(FakeError):
        api_client.rest_client.request("POST", url)
    assert sample("stage2_k8s_requests_total", {**labels, "code": "409"}) >= 1

    api_client.rest_client.fail_with = ConnectionError("refused")
    with pytest.raises(ConnectionError):
        api_client.rest_client.request("POST", url)
    assert sample("stage2_k8s_requests_total", {**labels, "code": "error"}) >= 1


def test_phase_gauges_follow_last_status() -> None:
    key = ("ns-gauge", "wf")
    before = sample("stage2_workflows", {"phase": "Running"})
    nodes_before = sample("stage2_nodes", {"phase": "Succeeded"})
    metrics.PHASES.update(key, {"phase": "Running", "nodes": {"a": {"phase": "Succeeded"}, "b": {"phase": "Running"}}})
    assert sample("stage2_workflows", {"phase": "Running"}) == before + 1
    assert sample("stage2_nodes", {"phase": "Succeeded"}) == nodes_before + 1

    metrics.PHASES.update(key, {"phase": "Succeeded", "nodes": {"a": {"phase": "Succeeded"}, "b": {"phase": "Succeeded"}}})
    assert sample("stage2_workflows", {"phase": "Running"}) == before
    assert sample("stage2_nodes", {"phase": "Succeeded"}) == nodes_before + 2

    metrics.PHASES.forget(key)
    assert sample("stage2_nodes", {"phase": "Succeeded"}) == nodes_before


def test_controller_gauges_read_callbacks() -> None:
    metrics.watch_controller(queue_depth=lambda: 7, is_leader=lambda: True)
    try:
        assert sample("stage2_workqueue_depth") == 7
        assert sample("stage2_leader") == 1
    finally:
        metrics.watch_controller(queue_depth=lambda: 0, is_leader=lambda: False)


def test_upstream_times_take_latest_finish() -> None:
    spec = {"nodes": [
        {"name": "a", "operation": "src"},
        {"name": "b", "operation": "src"},
        {"name": "c", "operation": "join", "inputs": {"Left": ["a"], "Right": ["b"]}},
    ]}
    status = {"nodes": {"a": {"finishedAt": "2026-12-04T12:00:05Z"}, "b": {"finishedAt": "2026-12-04T12:00:09Z"}}}
    times = metrics.UpstreamTimes(spec=spec, status=status)
    assert times.latest("c") == datetime(2026, 12, 4, 12, 0, 9, tzinfo=timezone.utc)
    assert times.latest("a") is None
    assert times.latest("unknown") is None


def test_step_latency_observed_for_nodes_with_inputs() -> None:
    count = sample("stage2_step_latency_seconds_count")
    jobs = sample("stage2_job_create_duration_seconds_count")
    now = datetime(2026, 12, 4, 12, 0, 10, tzinfo=timezone.utc)
    metrics.record_job_created(seconds=0.01, upstream_finished=None, now=now)
    metrics.record_job_created(seconds=0.01, upstream_finished=datetime(2026, 12, 4, 12, 0, 9, tzinfo=timezone.utc),
                               now=now)
    assert sample("stage2_job_create_duration_seconds_count") == jobs + 2
    assert sample("stage2_step_latency_seconds_count") == count + 1


def test_node_duration_observed_once() -> None:
    spec = {"nodes": [{"name": "a", "operation": "metrics-test-op"}]}
    labels = {"operation": "metrics-test-op", "phase": "Succeeded"}
    running = {"nodes": {"a": {"phase": "Running", "startedAt": "2026-12-04T12:00:00Z"}}}
    done = {"nodes": {"a": {"phase": "Succeeded", "startedAt": "2026-12-04T12:00:00Z",
                            "finishedAt": "2026-12-04T12:00:04Z"}}}
    metrics.record_finished_nodes(spec=spec, old_status=running, new_status=done)
    metrics.record_finished_nodes(spec=spec, old_status=done, new_status=done)
    assert sample("stage2_node_duration_seconds_count", labels) == 1
    assert sample("stage2_node_duration_seconds_sum", labels) == 4


def test_reconcile_errors_counted() -> None:
    errors = sample("stage2_reconcile_errors_total")
    failed = sample("stage2_reconcile_total", {"result": "error"})
    metrics.record_reconcile(result="error", seconds=0.2)
    metrics.record_reconcile(result="success", seconds=0.1)
    assert sample("stage2_reconcile_errors_total") == errors + 1
    assert sample("stage2_reconcile_total", {"result": "error"}) == failed + 1


def test_serve_on_free_port() -> None:
    import urllib.request

    server = metrics.serve(address="127.0.0.1", port=0)
    try:
        assert server.port in metrics.serving_ports()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as response:
            text = response.read().decode()
        assert "stage2_reconcile_total" in text
    finally:
        metrics.stop(server)
    assert server.port not in metrics.serving_ports()
