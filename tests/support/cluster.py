"""Find or start the Kubernetes cluster that cluster tests run against.

The order is:

1. ``STAGE2_TEST_KUBECONFIG``, if set (an existing cluster);
2. the local cluster of ``hack/cluster.sh``, if its API server responds;
3. ``hack/cluster.sh up``, which builds and starts the local cluster (root only).

A kubeconfig whose server is not on 127.0.0.1 or localhost is rejected
unless ``STAGE2_TEST_ALLOW_REMOTE=1``, so tests never create and delete
namespaces on a shared cluster by accident.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Callable, TypeVar

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO_ROOT / "hack" / "cluster.sh"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.2,
    message: str = "condition not met",
) -> T:
    """Call predicate until it returns a truthy value, and return that value.

    Raises AssertionError with message and the last returned value (or the
    last exception raised by predicate) when timeout seconds pass first.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except Exception as error:  # noqa: BLE001 - reported in the timeout message
            last = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s: {message} (last value: {last!r})")
        time.sleep(interval)


def local_state_dir() -> Path:
    return Path(os.environ.get("STAGE2_CLUSTER_DIR", "/var/lib/stage2-cluster"))


def local_kubeconfig() -> Path:
    return local_state_dir() / "admin.kubeconfig"


def kubeconfig_server(path: Path) -> str:
    """Return the API server URL of the kubeconfig's current context."""
    document = yaml.safe_load(path.read_text()) or {}
    context_name = document.get("current-context")
    contexts = {item["name"]: item.get("context", {}) for item in document.get("contexts") or []}
    clusters = {item["name"]: item.get("cluster", {}) for item in document.get("clusters") or []}
    if context_name not in contexts:
        raise ValueError(f"{path}: current-context {context_name!r} is missing from contexts")
    cluster_name = contexts[context_name].get("cluster")
    if cluster_name not in clusters:
        raise ValueError(f"{path}: cluster {cluster_name!r} of context {context_name!r} is missing")
    return clusters[cluster_name]["server"]


def is_loopback_url(url: str) -> bool:
    return urllib.parse.urlsplit(url).hostname in LOOPBACK_HOSTS


def check_server_is_local(path: Path) -> None:
    """Raise RuntimeError if path points at a non-loopback API server and
    STAGE2_TEST_ALLOW_REMOTE is not 1."""
    server = kubeconfig_server(path)
    if is_loopback_url(server) or os.environ.get("STAGE2_TEST_ALLOW_REMOTE") == "1":
        return
    raise RuntimeError(
        f"kubeconfig {path} points at {server}, which is not on 127.0.0.1 or localhost. "
        "Cluster tests create and delete namespaces; set STAGE2_TEST_ALLOW_REMOTE=1 "
        "to run them against that cluster anyway."
    )


def api_server_ready(path: Path, timeout: float = 3.0) -> bool:
    """Return True if the API server of kubeconfig path responds to /readyz."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=str(path), client_configuration=configuration)
    except Exception:  # noqa: BLE001 - a broken or half-written file means "not ready"
        return False
    with client.ApiClient(configuration) as api_client:
        try:
            api_client.call_api(
                "/readyz", "GET", auth_settings=["BearerToken"],
                _preload_content=False, _request_timeout=timeout,
            )
        except Exception:  # noqa: BLE001 - connection refused, TLS or HTTP errors
            return False
    return True


def start_local_cluster() -> Path:
    """Run ``hack/cluster.sh up`` and return the local admin kubeconfig."""
    if os.geteuid() != 0:
        raise RuntimeError(
            "No cluster for the cluster tests: the local cluster is not running and starting "
            "it needs root. Run `sudo hack/cluster.sh up`, set STAGE2_TEST_KUBECONFIG to an "
            "existing cluster's kubeconfig, or deselect these tests with -m 'not cluster'."
        )
    log_path = local_state_dir() / "logs" / "pytest-cluster-up.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        result = subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), "up"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=False,
        )
    if result.returncode != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-30:])
        raise RuntimeError(
            f"hack/cluster.sh up failed with exit code {result.returncode}; "
            f"full output in {log_path}:\n{tail}"
        )
    return local_kubeconfig()


def resolve_kubeconfig() -> Path:
    """Return the kubeconfig for cluster tests, starting the local cluster if needed."""
    explicit = os.environ.get("STAGE2_TEST_KUBECONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise RuntimeError(f"STAGE2_TEST_KUBECONFIG={explicit} is not a file")
        check_server_is_local(path)
        return path

    path = local_kubeconfig()
    if not (path.is_file() and api_server_ready(path)):
        path = start_local_cluster()
    check_server_is_local(path)
    return path
