"""Kubernetes API access for the commands that read a cluster.

`get`, `watch`, `logs`, `graph --name` and `validate --cluster` use it. The
kubeconfig comes from `--kubeconfig`, else KUBECONFIG, else
`~/.kube/config`, as kubectl does. The kubernetes package is imported only
here and only when a command needs a cluster, so offline commands start
quickly.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from typing import Any

from .. import GROUP, VERSION

WORKFLOWS = "workflows"
OPERATIONS = "operations"


class ClusterError(Exception):
    """The cluster could not be reached, or an object is missing."""


def add_cluster_arguments(parser: argparse.ArgumentParser, *, namespace_help: str | None = None) -> None:
    parser.add_argument(
        "-n", "--namespace",
        help=namespace_help or "namespace of the Workflow (default: the kubeconfig context's, else default)",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context to use (default: the current context)")


@dataclass
class Cluster:
    """An API client and the namespace commands act in."""

    api: Any
    namespace: str

    def get_workflow(self, name: str) -> dict[str, Any]:
        return self._get(WORKFLOWS, "Workflow", name)

    def get_operation(self, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """Return the Operation, or None when it does not exist."""
        try:
            return self._get(OPERATIONS, "Operation", name, namespace=namespace)
        except ClusterError as error:
            if "not found" in str(error):
                return None
            raise

    def _get(self, plural: str, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        namespace = namespace or self.namespace
        objects = client.CustomObjectsApi(self.api)
        try:
            body: dict[str, Any] = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        except ApiException as error:
            if error.status == 404:
                raise ClusterError(f"{kind} {name!r} not found in namespace {namespace!r}") from None
            raise ClusterError(f"reading {kind} {name!r} failed: {error.status} {error.reason}") from None
        except OSError as error:
            raise ClusterError(f"cannot reach the API server: {error}") from None
        return body


def connect(args: argparse.Namespace) -> Cluster:
    """Build an API client from the kubeconfig options; raise ClusterError when that fails."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    # The client reads KUBECONFIG when it is imported; read it again so a value set later counts.
    config_file = getattr(args, "kubeconfig", None) or os.environ.get("KUBECONFIG")
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=config_file,
            context=getattr(args, "context", None),
            client_configuration=configuration,
        )
        _, active = config.list_kube_config_contexts(config_file=config_file)
    except (ConfigException, OSError, TypeError) as error:
        raise ClusterError(f"cannot load the kubeconfig: {error}; set KUBECONFIG or pass --kubeconfig") from None
    namespace = getattr(args, "namespace", None)
    if not namespace:
        context = active
        if getattr(args, "context", None):
            contexts, _ = config.list_kube_config_contexts(config_file=config_file)
            context = next((item for item in contexts if item.get("name") == args.context), active)
        namespace = ((context or {}).get("context") or {}).get("namespace") or "default"
    return Cluster(api=client.ApiClient(configuration), namespace=namespace)
