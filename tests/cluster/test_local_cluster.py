"""Checks that the cluster from hack/cluster.sh runs real workloads.

The images are the ones hack/images/build.py imports into containerd; they
exist only on the node, so every pod uses imagePullPolicy Never.
"""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

PYTHON_IMAGE = "localhost/stage2-python:dev"
OPERATOR_IMAGE = "localhost/stage2-operator:dev"
POD_TIMEOUT = 120


def python_pod(name: str, script: str, **spec_fields) -> client.V1Pod:
    """Build a run-once pod that executes script with the base image's python."""
    container = client.V1Container(
        name="main",
        image=PYTHON_IMAGE,
        image_pull_policy="Never",
        command=["python", "-c", script],
        volume_mounts=spec_fields.pop("volume_mounts", None),
        env=spec_fields.pop("env", None),
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            containers=[container],
            restart_policy="Never",
            termination_grace_period_seconds=1,
            **spec_fields,
        ),
    )


def wait_for_pod_phase(core: client.CoreV1Api, namespace: str, name: str, phases: set[str]) -> client.V1Pod:
    def finished():
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase in phases else None

    return wait_for(finished, timeout=POD_TIMEOUT, interval=0.5,
                    message=f"pod {namespace}/{name} to reach phase {sorted(phases)}")


def test_single_node_is_ready(k8s_api):
    nodes = client.CoreV1Api(k8s_api).list_node().items
    assert len(nodes) == 1, [node.metadata.name for node in nodes]

    conditions = {c.type: c.status for c in nodes[0].status.conditions}
    assert conditions.get("Ready") == "True", conditions


def test_job_with_local_image_completes(k8s_api, namespace):
    batch = client.BatchV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    script = "import kopf, stage2_operator; print('imports ok')"
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="import-check"),
        spec=client.V1JobSpec(
            backoff_limit=0,
            template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
                restart_policy="Never",
                containers=[client.V1Container(
                    name="main", image=OPERATOR_IMAGE, image_pull_policy="Never",
                    command=["python", "-c", script],
                    # The operator image must run unprivileged and read-only.
                    security_context=client.V1SecurityContext(
                        read_only_root_filesystem=True, run_as_non_root=True,
                        allow_privilege_escalation=False,
                    ),
                )],
            )),
        ),
    )
    batch.create_namespaced_job(namespace, job)

    def job_finished():
        status = batch.read_namespaced_job_status("import-check", namespace).status
        return status if (status.succeeded or status.failed) else None

    status = wait_for(job_finished, timeout=POD_TIMEOUT, interval=0.5,
                      message="job import-check to finish")
    assert status.succeeded == 1, status

    pods = core.list_namespaced_pod(namespace, label_selector="job-name=import-check").items
    assert len(pods) == 1
    log = core.read_namespaced_pod_log(pods[0].metadata.name, namespace)
    assert log.strip() == "imports ok"


def test_pvc_data_survives_pods(k8s_api, namespace):
    core = client.CoreV1Api(k8s_api)
    token = uuid.uuid4().hex
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="data"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "16Mi"}),
        ),
    )
    core.create_namespaced_persistent_volume_claim(namespace, claim)
    volume = client.V1Volume(
        name="data",
        persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="data"),
    )
    mount = client.V1VolumeMount(name="data", mount_path="/data")

    writer = python_pod(
        "writer",
        "import os; open('/data/token', 'w').write(os.environ['TOKEN'])",
        volumes=[volume], volume_mounts=[mount],
        env=[client.V1EnvVar(name="TOKEN", value=token)],
    )
    core.create_namespaced_pod(namespace, writer)
    written = wait_for_pod_phase(core, namespace, "writer", {"Succeeded", "Failed"})
    assert written.status.phase == "Succeeded"

    # The reader checks the content itself too, so a mismatch shows as a
    # failed pod even if its log cannot be read.
    reader = python_pod(
        "reader",
        "import os, sys; data = open('/data/token').read(); print(data);"
        " sys.exit(data != os.environ['TOKEN'])",
        volumes=[volume], volume_mounts=[mount],
        env=[client.V1EnvVar(name="TOKEN", value=token)],
    )
    core.create_namespaced_pod(namespace, reader)
    read = wait_for_pod_phase(core, namespace, "reader", {"Succeeded", "Failed"})
    assert core.read_namespaced_pod_log("reader", namespace).strip() == token
    assert read.status.phase == "Succeeded"

    bound = core.read_namespaced_persistent_volume_claim("data", namespace)
    assert bound.status.phase == "Bound"
    assert bound.spec.storage_class_name, "claim did not get the default StorageClass"


def test_deleted_claim_releases_volume(k8s_api, namespace):
    core = client.CoreV1Api(k8s_api)
    claim = client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name="scratch"),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=client.V1VolumeResourceRequirements(requests={"storage": "8Mi"}),
        ),
    )
    core.create_namespaced_persistent_volume_claim(namespace, claim)

    def bound_volume():
        current = core.read_namespaced_persistent_volume_claim("scratch", namespace)
        return current.spec.volume_name if current.status.phase == "Bound" else None

    volume_name = wait_for(bound_volume, timeout=60, message="claim scratch to be bound")
    volume = core.read_persistent_volume(volume_name)
    assert volume.spec.persistent_volume_reclaim_policy == "Delete"

    core.delete_namespaced_persistent_volume_claim("scratch", namespace)

    def volume_deleted():
        try:
            core.read_persistent_volume(volume_name)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(volume_deleted, timeout=60, message=f"PersistentVolume {volume_name} to be deleted")


def test_namespace_deletion_completes(k8s_api):
    core = client.CoreV1Api(k8s_api)
    name = f"s2t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(lambda: core.read_namespaced_service_account("default", name),
             timeout=30, message=f"ServiceAccount default in namespace {name}")
    # A running pod makes deletion wait for the kubelet to stop a container.
    core.create_namespaced_pod(name, python_pod("sleeper", "import time; time.sleep(3600)"))
    wait_for_pod_phase(core, name, "sleeper", {"Running"})

    core.delete_namespace(name)

    def namespace_gone():
        try:
            core.read_namespace(name)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(namespace_gone, timeout=120, interval=0.5, message=f"namespace {name} to be deleted")
