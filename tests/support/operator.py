"""Helpers for tests that run the operator against a cluster.

They install the CRDs from `crds/`, apply example Operations, read Workflow
status and call kubectl, all through the kubeconfig of the `kube_config`
fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster import REPO_ROOT, wait_for

GROUP = "stage2.dev"
VERSION = "v1alpha1"
CRD_DIR = REPO_ROOT / "crds"
OPERATIONS_DIR = REPO_ROOT / "examples" / "operations"
K8S_CACHE_BIN = Path(os.environ.get("STAGE2_CACHE", "/var/cache/stage2-operator")) / "kubernetes-v1.34.4" / "bin"


def kubectl_path() -> str:
    """Find kubectl: the cluster build's own binary first, then PATH."""
    candidate = K8S_CACHE_BIN / "kubectl"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: run hack/cluster.sh up, or put kubectl on PATH")
    return found


def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl_path(), *args], capture_output=True, text=True, timeout=60, check=check,
    )


def install_crds(api: client.ApiClient) -> None:
    """Create or update both CRDs and wait until they are Established."""
    extensions = client.ApiextensionsV1Api(api)
    for path in sorted(CRD_DIR.glob("*.yaml")):
        manifest = yaml.safe_load(path.read_text())
        name = manifest["metadata"]["name"]
        try:
            current = extensions.read_custom_resource_definition(name)
        except ApiException as error:
            if error.status != 404:
                raise
            extensions.create_custom_resource_definition(manifest)
        else:
            manifest["metadata"]["resourceVersion"] = current.metadata.resource_version
            extensions.replace_custom_resource_definition(name, manifest)

        def established(crd_name: str = name) -> bool:
            crd = extensions.read_custom_resource_definition(crd_name)
            return any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or [])

        wait_for(established, timeout=30, message=f"CRD {name} Established")


def example_operation(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((OPERATIONS_DIR / name / "operation.yaml").read_text())
    return document


def create_operation(api: client.ApiClient, namespace: str, manifest: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "operations", manifest
    )


def create_workflow(api: client.ApiClient, namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Workflow", "metadata": {"name": name}, "spec": spec}
    result: dict[str, Any] = client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "workflows", body
    )
    return result


def get_workflow(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    result: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "workflows", name
    )
    return result


def workflow_phase_is(api: client.ApiClient, namespace: str, name: str, *phases: str) -> dict[str, Any] | None:
    """Return the Workflow when its phase is one of `phases`, else None (for `wait_for`)."""
    body = get_workflow(api, namespace, name)
    if (body.get("status") or {}).get("phase") in phases:
        return body
    return None


def read_claim_file(api: client.ApiClient, namespace: str, claim: str, path: str, image: str) -> str:
    """Read a file from a claim with a short-lived pod and return its content."""
    core = client.CoreV1Api(api)
    pod_name = "read-claim"
    core.create_namespaced_pod(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod_name},
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "read",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["cat", f"/data/{path}"],
                        "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}],
                    }
                ],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}],
            },
        },
    )
    wait_for(
        lambda: core.read_namespaced_pod(pod_name, namespace).status.phase in ("Succeeded", "Failed"),
        timeout=90,
        message=f"pod {pod_name} reading {claim}:{path} finished",
    )
    pod = core.read_namespaced_pod(pod_name, namespace)
    log: str = core.read_namespaced_pod_log(pod_name, namespace)
    assert pod.status.phase == "Succeeded", f"reading {path} from {claim} failed: {log}"
    return log


def derived_operation(base: str, name: str, **spec: Any) -> dict[str, Any]:
    """Return the example Operation `base` renamed to `name`, with spec fields replaced."""
    manifest = example_operation(base)
    manifest["metadata"] = {"name": name}
    manifest["spec"].update(spec)
    return manifest


def sleeping_command(seconds: int) -> list[str]:
    """A command that sleeps, then runs the image's own stage2_interface.py with the payload."""
    return ["sh", "-c", f'sleep {seconds}; exec python stage2_interface.py "$1"', "sleep-then-run"]


def patch_workflow_spec(api: client.ApiClient, namespace: str, name: str, spec: dict[str, Any]) -> None:
    client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "workflows", name, {"spec": spec}
    )


def node_phase(api: client.ApiClient, namespace: str, name: str, node: str) -> str | None:
    status = get_workflow(api, namespace, name).get("status") or {}
    phase: str | None = ((status.get("nodes") or {}).get(node) or {}).get("phase")
    return phase


def owned_children(api: client.ApiClient, namespace: str) -> dict[str, list[str]]:
    """Names of the Jobs, pods, ConfigMaps and claims the operator made in `namespace`."""
    selector = "app.kubernetes.io/managed-by=stage2-operator"
    batch = client.BatchV1Api(api)
    core = client.CoreV1Api(api)
    return {
        "jobs": sorted(j.metadata.name for j in batch.list_namespaced_job(namespace, label_selector=selector).items),
        "pods": sorted(p.metadata.name for p in core.list_namespaced_pod(namespace, label_selector=selector).items),
        "configmaps": sorted(
            c.metadata.name for c in core.list_namespaced_config_map(namespace, label_selector=selector).items
        ),
        "claims": sorted(
            c.metadata.name
            for c in core.list_namespaced_persistent_volume_claim(namespace, label_selector=selector).items
        ),
    }
