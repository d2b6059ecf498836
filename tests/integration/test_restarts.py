"""Operator restarts and two replicas, with real operator processes on the test cluster.

These tests start `kopf run` as child processes that watch only their own
`s2r-*` namespace, kill them with SIGKILL at chosen moments, and check that
no node attempt gets a second Job, no succeeded node runs again, and the
run still completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch

from tests.support.cluster import REPO_ROOT, wait_for
from tests.support.operator import (
    create_operation,
    create_workflow,
    derived_operation,
    example_operation,
    get_workflow,
    install_crds,
    node_phase,
    owned_children,
    sleeping_command,
    workflow_phase_is,
)

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]


class OperatorProcess:
    """One `kopf run` child process with its own log file."""

    def __init__(self, *, kube_config: str, namespace: str, lease: str, log: Path) -> None:
        self.kube_config = kube_config
        self.namespace = namespace
        self.lease = lease
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": self.kube_config,
            "PYTHONPATH": str(REPO_ROOT / "operator"),
            "STAGE2_LEADER_ELECTION_NAMESPACE": self.namespace,
            "STAGE2_LEADER_ELECTION_ID": self.lease,
            "STAGE2_RESYNC_SECONDS": "5",
        }
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kopf", "run", "--standalone", f"--namespace={self.namespace}",
                 "-m", "stage2_operator.handlers"],
                env=env, stdout=output, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def restart_namespace(k8s_api: client.ApiClient) -> Iterator[str]:
    """A namespace that only this test's operator processes watch."""
    install_crds(k8s_api)
    core = client.CoreV1Api(k8s_api)
    name = f"s2r-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(lambda: core.read_namespaced_service_account("default", name), timeout=30,
             message=f"ServiceAccount default in {name}")
    yield name
    core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def operators(kube_config: str, restart_namespace: str, tmp_path: Path) -> Iterator[list[OperatorProcess]]:
    started: list[OperatorProcess] = []
    lease = f"stage2-restart-{uuid.uuid4().hex[:6]}"
    for index in range(2):
        started.append(OperatorProcess(kube_config=kube_config, namespace=restart_namespace, lease=lease,
                                       log=tmp_path / f"operator-{index}.log"))
    yield started
    for process in started:
        process.stop()


def slow_chain(api: client.ApiClient, namespace: str, name: str, seconds: int) -> list[str]:
    create_operation(api, namespace, derived_operation("text-source", "slow-source", command=sleeping_command(seconds)))
    create_operation(api, namespace, derived_operation("text-upper", "slow-upper", command=sleeping_command(seconds)))
    nodes = ["a", "b", "c", "d"]
    spec = [{"name": "a", "operation": "slow-source", "parameters": {"Text": "restart"}}]
    for upstream, node in zip(nodes, nodes[1:]):
        spec.append({"name": node, "operation": "slow-upper", "inputs": {"Text": [upstream]}})
    create_workflow(api, namespace, name, {"nodes": spec})
    return nodes


def assert_one_job_and_pod_per_node(api: client.ApiClient, namespace: str, nodes: list[str]) -> None:
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    jobs = batch.list_namespaced_job(namespace, label_selector="app.kubernetes.io/managed-by=stage2-operator").items
    assert sorted(job.metadata.labels["stage2.dev/node"] for job in jobs) == sorted(nodes)
    for job in jobs:
        pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job.metadata.name}").items
        assert len(pods) == 1, f"Job {job.metadata.name} ran {len(pods)} pods"
        assert job.status.succeeded == 1


class KillOnAdded(threading.Thread):
    """Kill the operator as soon as an object of a kind is added in the namespace."""

    def __init__(self, api: client.ApiClient, namespace: str, kind: str, operator: OperatorProcess) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace, self.kind, self.operator = api, namespace, kind, operator
        self.fired = threading.Event()

    def run(self) -> None:
        core = client.CoreV1Api(self.api)
        lister = core.list_namespaced_config_map if self.kind == "ConfigMap" else None
        assert lister is not None
        stream = watch.Watch()
        for event in stream.stream(lister, self.namespace, label_selector="stage2.dev/node", timeout_seconds=120):
            if event["type"] == "ADDED":
                self.operator.kill()
                self.fired.set()
                stream.stop()
                return


def test_kill_between_configmap_and_job(
    k8s_api: client.ApiClient, restart_namespace: str, operators: list[OperatorProcess]
) -> None:
    nodes = slow_chain(k8s_api, restart_namespace, "crash", seconds=1)
    first = operators[0]
    killer = KillOnAdded(k8s_api, restart_namespace, "ConfigMap", first)
    killer.start()
    first.start()
    assert killer.fired.wait(timeout=90), first.text()
    first.start()
    body = wait_for(lambda: workflow_phase_is(k8s_api, restart_namespace, "crash", "Succeeded", "Failed"),
                    timeout=240, message="the run completes after the restart")
    assert body["status"]["phase"] == "Succeeded", body["status"]
    assert_one_job_and_pod_per_node(k8s_api, restart_namespace, nodes)


def test_kill_when_jobs_finish(
    k8s_api: client.ApiClient, restart_namespace: str, operators: list[OperatorProcess]
) -> None:
    nodes = slow_chain(k8s_api, restart_namespace, "crashes", seconds=3)
    operator = operators[0]
    operator.start()
    batch = client.BatchV1Api(k8s_api)
    for node in nodes[:3]:
        # Kill the operator the moment this node's Job completes, before it
        # can record the result, then start it again.
        def completed(node: str = node) -> bool:
            jobs = batch.list_namespaced_job(restart_namespace, label_selector=f"stage2.dev/node={node}").items
            return bool(jobs) and (jobs[0].status.succeeded or 0) == 1

        wait_for(completed, timeout=150, interval=0.1, message=f"the Job of node {node} completes")
        operator.kill()
        operator.start()
    body = wait_for(lambda: workflow_phase_is(k8s_api, restart_namespace, "crashes", "Succeeded", "Failed"),
                    timeout=240, message="the run completes after the restarts")
    status = body["status"]
    assert status["phase"] == "Succeeded", status
    assert all(status["nodes"][node]["attempts"] == 1 for node in nodes)
    assert_one_job_and_pod_per_node(k8s_api, restart_namespace, nodes)


def test_two_replicas_take_turns(
    k8s_api: client.ApiClient, restart_namespace: str, operators: list[OperatorProcess]
) -> None:
    leader, standby = operators
    leader.start()
    wait_for(lambda: "became the leader" in leader.text(), timeout=60, message="the first replica leads")
    standby.start()
    nodes = slow_chain(k8s_api, restart_namespace, "replicas", seconds=4)
    wait_for(lambda: node_phase(k8s_api, restart_namespace, "replicas", "b") == "Running", timeout=120,
             message="node b runs")
    assert "created Job" not in standby.text()
    assert "became the leader" not in standby.text()

    leader.kill()
    wait_for(lambda: "became the leader" in standby.text(), timeout=60, message="the standby takes over")
    body = wait_for(lambda: workflow_phase_is(k8s_api, restart_namespace, "replicas", "Succeeded", "Failed"),
                    timeout=240, message="the standby completes the run")
    assert body["status"]["phase"] == "Succeeded", body["status"]
    assert_one_job_and_pod_per_node(k8s_api, restart_namespace, nodes)
    assert owned_children(k8s_api, restart_namespace)["claims"]
    assert get_workflow(k8s_api, restart_namespace, "replicas")["status"]["progress"] == "4/4"


def test_status_conflicts_lose_nothing(
    k8s_api: client.ApiClient, restart_namespace: str, operators: list[OperatorProcess]
) -> None:
    """Edits racing with status writes are retried from fresh state; no node phase goes back."""
    create_operation(k8s_api, restart_namespace, example_operation("text-source"))
    create_operation(k8s_api, restart_namespace, example_operation("text-upper"))
    nodes = [{"name": "s", "operation": "text-source"}] + [
        {"name": f"u{i}", "operation": "text-upper", "inputs": {"Text": ["s"]}} for i in range(6)
    ]
    operators[0].start()
    create_workflow(k8s_api, restart_namespace, "busy", {"nodes": nodes})
    custom = client.CustomObjectsApi(k8s_api)
    seen: dict[str, list[str]] = {}
    deadline = time.monotonic() + 180
    counter = 0
    while time.monotonic() < deadline:
        counter += 1
        custom.patch_namespaced_custom_object(
            "stage2.dev", "v1alpha1", restart_namespace, "workflows", "busy",
            {"metadata": {"annotations": {"test.stage2.dev/touch": str(counter)}}},
        )
        status: dict[str, Any] = get_workflow(k8s_api, restart_namespace, "busy").get("status") or {}
        for name, entry in (status.get("nodes") or {}).items():
            history = seen.setdefault(name, [])
            if not history or history[-1] != entry["phase"]:
                history.append(entry["phase"])
        if status.get("phase") in ("Succeeded", "Failed"):
            break
        time.sleep(0.05)
    assert status.get("phase") == "Succeeded", status
    for name, history in seen.items():
        terminal = [index for index, phase in enumerate(history) if phase in ("Succeeded", "Failed", "Skipped")]
        assert not terminal or terminal[0] == len(history) - 1, f"node {name} went {history}"
    assert counter > 10


def test_soak_fifty_workflows_with_two_kills(
    k8s_api: client.ApiClient, restart_namespace: str, operators: list[OperatorProcess]
) -> None:
    create_operation(k8s_api, restart_namespace, example_operation("text-source"))
    create_operation(k8s_api, restart_namespace, example_operation("text-upper"))
    operator = operators[0]
    operator.start()
    names = [f"soak-{index:02d}" for index in range(50)]
    for name in names:
        create_workflow(k8s_api, restart_namespace, name, {
            "nodes": [
                {"name": "say", "operation": "text-source", "parameters": {"Text": name}},
                {"name": "shout", "operation": "text-upper", "inputs": {"Text": ["say"]}},
            ]
        })
    custom = client.CustomObjectsApi(k8s_api)

    def finished_count() -> int:
        items = custom.list_namespaced_custom_object("stage2.dev", "v1alpha1", restart_namespace, "workflows")["items"]
        return sum(1 for item in items if (item.get("status") or {}).get("phase") in ("Succeeded", "Failed"))

    for threshold in (10, 30):
        wait_for(lambda: finished_count() >= threshold, timeout=300, interval=1,
                 message=f"{threshold} workflows finish before a kill")
        operator.kill()
        operator.start()
    wait_for(lambda: finished_count() == len(names), timeout=400, interval=2, message="every workflow finishes")

    items = custom.list_namespaced_custom_object("stage2.dev", "v1alpha1", restart_namespace, "workflows")["items"]
    assert {item["status"]["phase"] for item in items} == {"Succeeded"}
    jobs = client.BatchV1Api(k8s_api).list_namespaced_job(
        restart_namespace, label_selector="app.kubernetes.io/managed-by=stage2-operator"
    ).items
    per_attempt = {(job.metadata.annotations["stage2.dev/workflow"], job.metadata.labels["stage2.dev/node"])
                   for job in jobs}
    assert len(jobs) == len(per_attempt) == 2 * len(names)
