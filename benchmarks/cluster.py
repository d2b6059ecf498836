"""Shared parts of the cluster benchmarks: the API client, namespaces and an operator subprocess.

The operator runs as `kopf run --standalone --namespace 's2b-*'` in a child
process, so its resident memory can be read from /proc and nothing it does
shares the benchmark's interpreter. Leader election is off: only this
operator watches `s2b-*`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from prometheus_client.parser import text_string_to_metric_families
from urllib3.exceptions import ProtocolError

from tests.support.cluster import resolve_kubeconfig, wait_for
from tests.support.operator import install_crds

REPO_ROOT = Path(__file__).resolve().parents[1]
GROUP = "stage2.dev"
VERSION = "v1alpha1"
PYTHON_IMAGE = "localhost/stage2-python:dev"
# Writes data.txt at the payload's output path and ignores the inputs.
WRITE_OUTPUT = (
    "import json, sys; payload = json.loads(sys.argv[-1]); "
    "open(payload['outputs']['output'] + '.txt', 'w').write('x')"
)


def api_client() -> client.ApiClient:
    """Return a client of the local cluster (or STAGE2_TEST_KUBECONFIG), starting the cluster if needed."""
    path = resolve_kubeconfig()
    os.environ["KUBECONFIG"] = str(path)
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(path), client_configuration=configuration)
    configuration.connection_pool_maxsize = 32
    api = client.ApiClient(configuration)
    install_crds(api)
    return api


@contextmanager
def namespace(api: client.ApiClient, *, max_pods: int | None = None) -> Iterator[str]:
    """Create namespace `s2b-<random>` and delete it afterwards, with a pod quota of `max_pods` if given."""
    core = client.CoreV1Api(api)
    name = f"s2b-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(lambda: core.read_namespaced_service_account("default", name), timeout=30,
             message=f"ServiceAccount default in namespace {name}")
    if max_pods is not None:
        core.create_namespaced_resource_quota(name, {
            "metadata": {"name": "pods"}, "spec": {"hard": {"pods": str(max_pods)}},
        })
    try:
        yield name
    finally:
        try:
            core.delete_namespace(name, propagation_policy="Background")
        except ApiException as error:
            if error.status != 404:
                raise


def operation(name: str, family: str) -> dict[str, Any]:
    """Return an Operation that runs the base Python image and writes one small output file."""
    spec: dict[str, Any] = {
        "family": family, "image": PYTHON_IMAGE, "imagePullPolicy": "IfNotPresent",
        "command": ["python", "-c", WRITE_OUTPUT], "output": {},
        "parameters": {"Text": {"type": "string", "default": "x"}},
        "resources": {"requests": {"cpu": "1m", "memory": "16Mi"}, "limits": {"memory": "64Mi"}},
        "timeoutSeconds": 600, "retries": 0,
    }
    if family == "compute":
        spec["inputs"] = {"Input": {"multiplicity": {"min": 1}}}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Operation", "metadata": {"name": name}, "spec": spec}


def create_operations(api: client.ApiClient, ns: str) -> None:
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "operations", operation("bench-source", "source"))
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, "operations", operation("bench-compute", "compute"))


def workflow(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": {"name": name}, "spec": spec}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Operator:
    """The operator in a child process, with its log in a file and its metrics on a free port."""

    def __init__(self, log_path: Path, *kopf_arguments: str, **env: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "operator"), os.environ.get("PYTHONPATH", "")]),
            "STAGE2_METRICS_PORT": str(self.port),
            "STAGE2_LEADER_ELECTION": "false",
            **env,
        }
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "--namespace=s2b-*", *kopf_arguments,
             "-m", "stage2_operator.handlers"],
            env=environment, stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
        )
        wait_for(self.scrape, timeout=60, message=f"operator metrics on port {self.port} (log: {log_path})")

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        if self.process.poll() is not None:
            raise RuntimeError(f"the operator exited with {self.process.returncode}; log: {self.log_path}")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as response:
            text = response.read().decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        return self.scrape().get((name, tuple(sorted(labels.items()))), 0.0)

    def resident_bytes(self) -> int:
        """Return VmRSS of the operator process from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for pid {self.process.pid}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


@contextmanager
def operator(log_path: Path, *kopf_arguments: str, **env: str) -> Iterator[Operator]:
    """Run the operator for the block; `kopf_arguments` go to `kopf run` and `env` into its environment."""
    running = Operator(log_path, *kopf_arguments, **env)
    try:
        yield running
    finally:
        running.stop()


class JobWatch:
    """Arrival times (time.monotonic) of Job watch events in one namespace, from a thread."""

    def __init__(self, api: client.ApiClient, ns: str) -> None:
        self.added: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.annotations: dict[str, dict[str, str]] = {}
        self._api = api
        self._ns = ns
        self._watch = watch.Watch()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"watch-jobs-{ns}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._follow()
        except ProtocolError:
            # stop() closes the stream under the reader; anything else is a real failure.
            if not self._stopping:
                raise

    def _follow(self) -> None:
        batch = client.BatchV1Api(self._api)
        for event in self._watch.stream(batch.list_namespaced_job, self._ns, timeout_seconds=3600):
            arrived = time.monotonic()
            job = event["object"]
            name = job.metadata.name
            with self._lock:
                if event["type"] == "ADDED":
                    self.added.setdefault(name, arrived)
                    self.annotations[name] = dict(job.metadata.annotations or {})
                conditions = job.status.conditions if job.status else None
                if any(c.type == "Complete" and c.status == "True" for c in conditions or []):
                    self.completed.setdefault(name, arrived)

    def count_added(self) -> int:
        with self._lock:
            return len(self.added)

    def wait_added(self, count: int, timeout: float) -> float:
        """Return the arrival time of the `count`-th Job ADDED event."""
        wait_for(lambda: self.count_added() >= count, timeout=timeout, interval=0.05,
                 message=f"{count} Jobs in namespace {self._ns}")
        with self._lock:
            return sorted(self.added.values())[count - 1]

    def stop(self) -> None:
        self._stopping = True
        self._watch.stop()


def concurrently(calls: list[Callable[[], Any]], workers: int) -> None:
    """Run `calls` on `workers` threads and raise the first error."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
