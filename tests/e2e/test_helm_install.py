"""Install the Helm chart on the cluster and run Workflows with the operator as a pod.

One test walks the whole life of a release, because each step needs the
previous one. It lints and dry-runs the chart, then installs it with
hostNetwork, watching only its own `s2e-<random>` namespace, with the
webhook on and a certificate made here. It then runs a first Workflow,
checks the ServiceAccount's permissions and the webhook's rejection of a
cycle, upgrades while a slow Workflow runs, and uninstalls with
`crds.keep=true`.

The operator image `localhost/stage2-operator:dev` must contain the current
tree: run `hack/cluster.sh images` after changing `operator/`.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster import REPO_ROOT, wait_for
from tests.support.operator import kubectl_path
from tests.unit.test_helm_chart import helm_binary

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

CHART = REPO_ROOT / "helm" / "stage2-operator"
EXAMPLE = REPO_ROOT / "manifests" / "examples" / "01-linear-chain.yaml"
GROUP, VERSION = "stage2.dev", "v1alpha1"


def release_name(namespace: str) -> str:
    # Cluster-scoped objects (ClusterRoles, the webhook configuration) are
    # named after the release, so each test namespace gets its own release.
    return f"e2e-{namespace.removeprefix('s2e-')}"


def full_name(namespace: str) -> str:
    return f"{release_name(namespace)}-stage2-operator"


def run(*command: str, timeout: float = 300, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command[:4])} ... failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Create a CA and a serving certificate for 127.0.0.1 with openssl, and return their paths (CA, cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl not found; it makes the webhook's test certificate")
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "tls.key", directory / "tls.csr", directory / "tls.crt"
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stage2-e2e-ca",
        "-keyout", str(ca_key), "-out", str(ca_cert))
    run(openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(key), "-out", str(csr))
    run(openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "1", "-extfile", str(extensions), "-out", str(cert))
    return ca_cert, cert, key


@pytest.fixture
def helm() -> str:
    found = helm_binary()
    if found is None:
        pytest.skip("helm not found on PATH or in the local cluster's build cache")
    return found


@pytest.fixture
def e2e_namespace(k8s_api: client.ApiClient, helm: str) -> Iterator[str]:
    """A fresh namespace `s2e-<random>`; the release in it is uninstalled and the namespace deleted afterwards."""
    core = client.CoreV1Api(k8s_api)
    name = f"s2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"stage2.dev/test": "true"})))
    wait_for(lambda: core.read_namespaced_service_account("default", name), timeout=30,
             message=f"ServiceAccount default in namespace {name}")
    yield name
    # The release may be gone already; uninstall first so the webhook
    # configuration and cluster roles do not outlive the test.
    run(helm, "uninstall", release_name(name), "--namespace", name, "--wait", "--timeout", "2m", check=False)
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as error:
        if error.status != 404:
            raise


def workflow_status(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    body = client.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, VERSION, namespace, "workflows", name)
    return dict(body.get("status") or {})


def wait_for_phase(api: client.ApiClient, namespace: str, name: str, phase: str, timeout: float) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = workflow_status(api, namespace, name)
        if status.get("phase") in ("Failed", "Cancelled") and phase not in ("Failed", "Cancelled"):
            raise AssertionError(f"Workflow {namespace}/{name} ended {status.get('phase')}: {status.get('message')}")
        return status if status.get("phase") == phase else None

    return wait_for(reached, timeout=timeout, interval=1, message=f"Workflow {namespace}/{name} phase {phase}")


def operator_pods(api: client.ApiClient, namespace: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(
        namespace,
        label_selector=f"app.kubernetes.io/instance={release_name(namespace)},app.kubernetes.io/name=stage2-operator",
    )
    return [pod for pod in pods.items if pod.metadata.deletion_timestamp is None]


def slow_workflow(namespace: str) -> str:
    """Return YAML of an Operation that sleeps 15 s before upper-casing, and a Workflow using it."""
    operations = [document for document in yaml.safe_load_all(EXAMPLE.read_text()) if document["kind"] == "Operation"]
    upper = next(document for document in operations if document["metadata"]["name"] == "text-upper")
    slow = {**upper, "metadata": {"name": "text-upper-slow", "namespace": namespace}}
    slow["spec"] = {**upper["spec"], "command": ["sh", "-c", 'sleep 15; exec python stage2_interface.py "$1"', "x"],
                    "timeoutSeconds": 120}
    workflow = {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow",
        "metadata": {"name": "slow-chain", "namespace": namespace},
        "spec": {"nodes": [
            {"name": "hello", "operation": "text-source", "parameters": {"Text": "slow"}},
            {"name": "slow", "operation": "text-upper-slow", "inputs": {"Text": ["hello"]}},
        ]},
    }
    return yaml.safe_dump_all([slow, workflow])


CYCLE_WORKFLOW = """
apiVersion: stage2.dev/v1alpha1
kind: Workflow
metadata:
  name: has-cycle
spec:
  nodes:
  - {name: first, operation: text-upper, inputs: {Text: [second]}}
  - {name: second, operation: text-upper, inputs: {Text: [first]}}
"""


def test_helm_install_lifecycle(
    kube_config: str, k8s_api: client.ApiClient, helm: str, e2e_namespace: str, tmp_path: Path
) -> None:
    namespace = e2e_namespace
    release, fullname = release_name(namespace), full_name(namespace)
    kubectl = kubectl_path()
    ca_cert, cert, key = make_certificates(tmp_path)
    webhook_port, health_port, metrics_port = free_port(), free_port(), free_port()
    values = [
        "--set", "hostNetwork=true",
        "--set", "apiServer.host=127.0.0.1",
        "--set-string", "apiServer.port=6443",
        "--set", f"watchNamespaces={{{namespace}}}",
        "--set", "image.pullPolicy=Never",
        "--set", f"health.port={health_port}",
        "--set", f"metrics.port={metrics_port}",
        "--set", "controller.resyncSeconds=10",
        "--set", "controller.imagePullGraceSeconds=30",
        "--set", "webhook.enabled=true",
        "--set", f"webhook.port={webhook_port}",
        "--set", f"webhook.url=https://127.0.0.1:{webhook_port}",
        "--set-file", f"webhook.certificate.cert={cert}",
        "--set-file", f"webhook.certificate.key={key}",
        "--set", f"webhook.caBundle={base64.b64encode(ca_cert.read_bytes()).decode()}",
    ]

    # Lint, then let the API server check every rendered object without storing it.
    run(helm, "lint", "--strict", str(CHART), *values)
    rendered = run(helm, "template", release, str(CHART), "--namespace", namespace, *values).stdout
    dry_run = run(kubectl, "apply", "--dry-run=server", "-f", "-", stdin=rendered)
    assert f"deployment.apps/{fullname} created (server dry run)" in dry_run.stdout

    # Install. The CRDs usually exist already (other suites apply crds/), so
    # the release takes them over; crds.keep=true leaves them on uninstall.
    run(helm, "install", release, str(CHART), "--namespace", namespace, *values,
        "--take-ownership", "--force-conflicts", "--wait", "--timeout", "3m")
    (pod,) = operator_pods(k8s_api, namespace)
    assert pod.spec.service_account_name == fullname
    assert pod.spec.host_network is True
    first_pod = pod.metadata.name

    # The ServiceAccount may act in the watched namespace, and nowhere else.
    account = f"system:serviceaccount:{namespace}:{fullname}"
    for verb, resource, subresource, where, expected in [
        ("create", "jobs.batch", "", namespace, "yes"),
        ("patch", "workflows.stage2.dev", "status", namespace, "yes"),
        ("create", "jobs.batch", "", "default", "no"),
        ("get", "secrets", "", namespace, "no"),
        ("update", "workflows.stage2.dev", "", namespace, "no"),
    ]:
        answer = run(kubectl, "auth", "can-i", verb, resource, f"--subresource={subresource}", "-n", where,
                     "--as", account, check=False)
        assert answer.stdout.strip() == expected, (
            f"can-i {verb} {resource} {subresource} in {where}: {answer.stdout}{answer.stderr}"
        )

    # A first Workflow runs to the end with only the chart's permissions.
    run(kubectl, "apply", "-n", namespace, "-f", str(EXAMPLE))
    status = wait_for_phase(k8s_api, namespace, "linear-chain", "Succeeded", timeout=240)
    assert status["progress"] == "3/3"

    # The webhook rejects a cycle and names it.
    rejected = run(kubectl, "apply", "-n", namespace, "-f", "-", stdin=CYCLE_WORKFLOW, check=False)
    assert rejected.returncode != 0
    assert "cycle: first -> second -> first" in rejected.stderr

    # An upgrade while a slow node runs: the Recreate rollout replaces the
    # pod, and the new one finishes the Workflow.
    run(kubectl, "apply", "-n", namespace, "-f", "-", stdin=slow_workflow(namespace))
    wait_for(lambda: (workflow_status(k8s_api, namespace, "slow-chain").get("nodes") or {})
             .get("slow", {}).get("phase") == "Running", timeout=120, interval=1, message="node slow Running")
    run(helm, "upgrade", release, str(CHART), "--namespace", namespace, *values,
        "--set", "controller.logFormat=json", "--wait", "--timeout", "3m")
    (pod,) = operator_pods(k8s_api, namespace)
    assert pod.metadata.name != first_pod
    env = {item.name: item.value for item in pod.spec.containers[0].env}
    assert env["STAGE2_LOG_FORMAT"] == "json"
    status = wait_for_phase(k8s_api, namespace, "slow-chain", "Succeeded", timeout=240)
    assert status["progress"] == "2/2"

    # Uninstall: the operator and webhook go, the CRDs and the Workflows stay.
    run(helm, "uninstall", release, "--namespace", namespace, "--wait", "--timeout", "2m")
    wait_for(lambda: not operator_pods(k8s_api, namespace), timeout=60, message="operator pod deleted")
    extensions = client.ApiextensionsV1Api(k8s_api)
    for crd in ("workflows.stage2.dev", "operations.stage2.dev"):
        assert extensions.read_custom_resource_definition(crd).metadata.deletion_timestamp is None
    assert workflow_status(k8s_api, namespace, "linear-chain")["phase"] == "Succeeded"
    configurations = client.AdmissionregistrationV1Api(k8s_api).list_validating_webhook_configuration()
    assert f"{fullname}-{namespace}" not in [item.metadata.name for item in configurations.items]
