"""Fixtures for tests that need a Kubernetes cluster.

Cluster fixtures are created only when a test requests them, so unit tests
never start or contact a cluster. Mark such tests ``@pytest.mark.cluster``
so that ``-m 'not cluster'`` deselects them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import resolve_kubeconfig, wait_for

__all__ = ["wait_for"]


@pytest.fixture(scope="session")
def kube_config() -> str:
    """Path of the kubeconfig for cluster tests; also exported as KUBECONFIG.

    Uses STAGE2_TEST_KUBECONFIG if set, else the running local cluster, else
    starts it with hack/cluster.sh up. Fails for a server outside
    127.0.0.1/localhost unless STAGE2_TEST_ALLOW_REMOTE=1.
    """
    try:
        path: Path = resolve_kubeconfig()
    except (RuntimeError, ValueError) as error:
        pytest.fail(str(error), pytrace=False)
    # Subprocesses and in-process kopf runners read the same cluster.
    os.environ["KUBECONFIG"] = str(path)
    return str(path)


@pytest.fixture(scope="session")
def k8s_api(kube_config: str) -> Iterator["kubernetes.client.ApiClient"]:  # noqa: F821
    """A kubernetes.client.ApiClient configured from kube_config."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kube_config, client_configuration=configuration)
    api_client = client.ApiClient(configuration)
    yield api_client
    api_client.close()


@pytest.fixture
def namespace(k8s_api) -> Iterator[str]:
    """Name of a fresh namespace ``s2t-<random>``, deleted after the test.

    Deletion is requested but not awaited, so a stuck finalizer cannot hang
    the session.
    """
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    core = client.CoreV1Api(k8s_api)
    name = f"s2t-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
        name=name, labels={"stage2.dev/test": "true"},
    )))
    # Pods need the namespace's default ServiceAccount, which
    # kube-controller-manager creates shortly after the namespace.
    wait_for(
        lambda: core.read_namespaced_service_account("default", name),
        timeout=30, message=f"ServiceAccount default in namespace {name}",
    )
    yield name
    try:
        core.delete_namespace(name, propagation_policy="Background")
    except ApiException as error:
        if error.status != 404:
            raise
