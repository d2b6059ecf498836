"""Manifests of the objects a Workflow run owns: its claim, payload ConfigMaps and Jobs.

Pure functions from the Workflow, its Operations and the run to plain
dictionaries, created by the reconciler. Every child carries our labels and a
controller ownerReference to the Workflow, so Kubernetes garbage collection
removes it with the Workflow and no finalizer is needed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any

from . import API_VERSION, naming
from .models import ClaimRetention, OperationSpec, ResourceRequirements, WorkflowNode, WorkflowSpec
from .nodestate import job_backoff_seconds
from .payload import INPUTS_ROOT, OUTPUTS_ROOT, encode, input_dir, output_dir

LAUNCHER_MOUNT = "/stage2/launcher"
LAUNCHER_KEY = "launcher.py"
PAYLOAD_KEY = "payload.json"
CONTAINER_NAME = "operation"
DATA_VOLUME = "stage2-data"
# Time for pod start-up per Job, on top of the attempts' own timeouts.
JOB_DEADLINE_SLACK_SECONDS = 60
LAUNCHER_VOLUME = "stage2-launcher"


@dataclass(frozen=True)
class Owner:
    """The Workflow that owns the children of a run."""

    name: str
    namespace: str
    uid: str

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": API_VERSION,
            "kind": "Workflow",
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@functools.cache
def launcher_source() -> str:
    return resources.files(__package__).joinpath("launcher.py").read_text()


def node_data_path(*, run_prefix: str, node: str) -> str:
    """Directory of a node's output on the shared volume, relative to its root."""
    return f"{run_prefix}{node}"


def run_prefix(*, storage_existing_claim: str | None, run: str) -> str:
    """Keep runs apart on an existing claim, which outlives a single run."""
    return f"stage2/runs/r{run}/" if storage_existing_claim else ""


def _metadata(*, owner: Owner, name: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels,
        "ownerReferences": [owner.reference()],
    }
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def build_claim(*, owner: Owner, run: str, spec: WorkflowSpec, default_storage_class: str | None) -> dict[str, Any]:
    """Build the run's claim; with `retention: Retain` it is not owned, so it outlives the Workflow."""
    storage = spec.storage
    claim_spec: dict[str, Any] = {
        "accessModes": list(storage.access_modes),
        "resources": {"requests": {"storage": storage.size}},
    }
    storage_class = storage.storage_class_name or default_storage_class
    if storage_class:
        claim_spec["storageClassName"] = storage_class
    metadata = _metadata(
        owner=owner,
        name=naming.claim_name(workflow=owner.name, run=run),
        labels=naming.labels(workflow=owner.name, run=run),
    )
    if storage.retention == ClaimRetention.RETAIN:
        del metadata["ownerReferences"]
        metadata["labels"][naming.LABEL_RETAINED] = "true"
        metadata["annotations"] = {naming.ANNOTATION_RETAINED_FROM: f"{owner.namespace}/{owner.name} run {run}"}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": claim_spec}


def build_payload_configmap(
    *, owner: Owner, run: str, node: WorkflowNode, payload: dict[str, Any], rerun: int = 0
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(
            owner=owner,
            name=naming.payload_configmap_name(workflow=owner.name, run=run, node=node.name, rerun=rerun),
            labels=naming.labels(workflow=owner.name, run=run, node=node.name, operation=node.operation),
            annotations={naming.ANNOTATION_WORKFLOW: owner.name, naming.ANNOTATION_NODE: node.name},
        ),
        "data": {PAYLOAD_KEY: encode(payload), LAUNCHER_KEY: launcher_source()},
    }


def _resources(operation: OperationSpec, node: WorkflowNode) -> dict[str, Any] | None:
    chosen: ResourceRequirements | None = node.resources or operation.resources
    if chosen is None:
        return None
    result: dict[str, Any] = {}
    if chosen.requests:
        result["requests"] = {key: str(value) for key, value in chosen.requests.items()}
    if chosen.limits:
        result["limits"] = {key: str(value) for key, value in chosen.limits.items()}
    return result or None


def _volume_mounts(
    *, node: WorkflowNode, operation: OperationSpec, prefix: str
) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"name": LAUNCHER_VOLUME, "mountPath": LAUNCHER_MOUNT, "readOnly": True},
    ]
    if operation.output is not None:
        mounts.append(
            {
                "name": DATA_VOLUME,
                "mountPath": output_dir(port=operation.output.name),
                "subPath": node_data_path(run_prefix=prefix, node=node.name),
            }
        )
    for port in operation.inputs:
        for upstream in node.inputs.get(port, []):
            mounts.append(
                {
                    "name": DATA_VOLUME,
                    "mountPath": input_dir(port=port, upstream=upstream),
                    "subPath": node_data_path(run_prefix=prefix, node=upstream),
                    "readOnly": True,
                }
            )
    return mounts


def build_job(
    *,
    owner: Owner,
    run: str,
    spec: WorkflowSpec,
    node: WorkflowNode,
    operation: OperationSpec,
    claim: str,
    configmap: str,
    rerun: int = 0,
) -> dict[str, Any]:
    """Build the Job of one node.

    The pod runs the launcher with the image's own `python`; the launcher
    appends the payload to the operation's command, so no shell parses it.
    Retries are Job pod retries (`backoffLimit`), and a pod lost to a node
    disruption (eviction, preemption, node drain) is not counted against them.
    The timeout bounds each attempt (the pod's `activeDeadlineSeconds`); the
    Job's own deadline covers every attempt plus the Job controller's backoff
    between them, as a backstop.
    """
    name = naming.job_name(workflow=owner.name, run=run, node=node.name, rerun=rerun)
    labels = naming.labels(workflow=owner.name, run=run, node=node.name, operation=node.operation)
    retries = node.retries if node.retries is not None else operation.retries
    timeout = node.timeout_seconds if node.timeout_seconds is not None else operation.timeout_seconds
    prefix = run_prefix(storage_existing_claim=spec.storage.existing_claim, run=run)

    env = [
        {"name": "STAGE2_PAYLOAD_FILE", "value": f"{LAUNCHER_MOUNT}/{PAYLOAD_KEY}"},
        {"name": "STAGE2_INPUTS_ROOT", "value": INPUTS_ROOT},
        {"name": "STAGE2_OUTPUTS_ROOT", "value": OUTPUTS_ROOT},
    ]
    if operation.output is not None:
        env.append({"name": "STAGE2_OUTPUT_DIR", "value": output_dir(port=operation.output.name)})

    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": operation.image,
        "imagePullPolicy": operation.image_pull_policy.value,
        "command": ["python", f"{LAUNCHER_MOUNT}/{LAUNCHER_KEY}", "--", *operation.command],
        "env": env,
        "volumeMounts": _volume_mounts(node=node, operation=operation, prefix=prefix),
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    container_resources = _resources(operation, node)
    if container_resources:
        container["resources"] = container_resources

    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "automountServiceAccountToken": spec.service_account_name is not None,
        "containers": [container],
        "volumes": [
            {"name": LAUNCHER_VOLUME, "configMap": {"name": configmap, "defaultMode": 0o444}},
            {"name": DATA_VOLUME, "persistentVolumeClaim": {"claimName": claim}},
        ],
    }
    if spec.service_account_name:
        pod_spec["serviceAccountName"] = spec.service_account_name
    if spec.node_selector:
        pod_spec["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod_spec["tolerations"] = [t.model_dump(by_alias=True, exclude_none=True) for t in spec.tolerations]
    if spec.affinity:
        pod_spec["affinity"] = spec.affinity
    if spec.priority_class_name:
        pod_spec["priorityClassName"] = spec.priority_class_name

    job_spec: dict[str, Any] = {
        "backoffLimit": retries,
        "podFailurePolicy": {
            "rules": [
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            ]
        },
        "template": {
            "metadata": {
                "labels": labels,
                "annotations": {naming.ANNOTATION_WORKFLOW: owner.name, naming.ANNOTATION_NODE: node.name},
            },
            "spec": pod_spec,
        },
    }
    if timeout is not None:
        pod_spec["activeDeadlineSeconds"] = timeout
        backoff = sum(job_backoff_seconds(failures) for failures in range(1, retries + 1))
        job_spec["activeDeadlineSeconds"] = timeout * (retries + 1) + backoff + JOB_DEADLINE_SLACK_SECONDS

    annotations = {naming.ANNOTATION_WORKFLOW: owner.name, naming.ANNOTATION_NODE: node.name}
    # The output port as started, so that later edits of the Operation do not
    # change how this Job's result is read. Empty for a sink.
    annotations[naming.ANNOTATION_OUTPUT_PORT] = operation.output.name if operation.output else ""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(owner=owner, name=name, labels=labels, annotations=annotations),
        "spec": job_spec,
    }
