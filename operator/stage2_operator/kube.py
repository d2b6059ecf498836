"""The one seam between the controller and the Kubernetes API.

Blocking calls of the official client; the reconciler runs them in threads.
Create treats `409 AlreadyExists` as success and delete treats `404` as
success, because every child name is deterministic.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from . import GROUP, VERSION, metrics

WORKFLOWS = "workflows"
OPERATIONS = "operations"

logger = logging.getLogger("stage2.kube")


class Conflict(Exception):
    """The object changed since it was read: reconcile again from fresh state."""


class CreateRejected(Exception):
    """The API server rejected a manifest as invalid; retrying cannot help."""

    def __init__(self, kind: str, name: str, status: int, reason: str) -> None:
        super().__init__(f"{kind} {name} was rejected ({status}): {reason}")
        self.kind = kind
        self.name = name
        self.status = status
        self.reason = reason


def load_api_client() -> client.ApiClient:
    """Return an API client from the in-cluster service account, else from KUBECONFIG."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        # The client reads KUBECONFIG when it is imported; read it again here
        # so that a value set later (by a test harness, say) is honoured.
        config.load_kube_config(config_file=os.environ.get("KUBECONFIG"), client_configuration=configuration)
    return client.ApiClient(configuration)


def _message(error: ApiException) -> str:
    try:
        body = json.loads(error.body or "{}")
    except ValueError:
        return str(error.reason)
    return str(body.get("message") or error.reason)


class Kube:
    def __init__(self, api_client: client.ApiClient) -> None:
        # Counts every request of this client, including those of the
        # leader elector when it shares the client.
        metrics.instrument_api_client(api_client)
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    # Workflows and Operations.

    def get_workflow(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, WORKFLOWS, name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return result

    def replace_workflow_status(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Write the whole status with the body's resourceVersion as a precondition."""
        metadata = body["metadata"]
        try:
            result: dict[str, Any] = self.custom.replace_namespaced_custom_object_status(
                GROUP, VERSION, metadata["namespace"], WORKFLOWS, metadata["name"], dict(body)
            )
        except ApiException as error:
            if error.status == 409:
                raise Conflict(_message(error)) from error
            raise
        return result

    def delete_workflow(self, namespace: str, name: str, uid: str) -> None:
        try:
            self.custom.delete_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                WORKFLOWS,
                name,
                body=client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=uid)),
            )
        except ApiException as error:
            if error.status not in (404, 409):
                raise

    def patch_operation_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, namespace, OPERATIONS, name, {"status": dict(status)}
            )
        except ApiException as error:
            if error.status != 404:
                raise

    # Children.

    def create(self, manifest: Mapping[str, Any]) -> bool:
        """Create a child; return False when it already exists."""
        kind = manifest["kind"]
        namespace = manifest["metadata"]["namespace"]
        name = manifest["metadata"]["name"]
        body = dict(manifest)
        try:
            if kind == "Job":
                self.batch.create_namespaced_job(namespace, body)
            elif kind == "ConfigMap":
                self.core.create_namespaced_config_map(namespace, body)
            elif kind == "PersistentVolumeClaim":
                self.core.create_namespaced_persistent_volume_claim(namespace, body)
            else:
                raise ValueError(f"cannot create kind {kind}")
        except ApiException as error:
            if error.status == 409:
                return False
            if error.status in (400, 422):
                raise CreateRejected(kind, name, error.status, _message(error)) from error
            raise
        return True

    def delete(self, *, kind: str, namespace: str, name: str) -> None:
        options = client.V1DeleteOptions(propagation_policy="Background")
        try:
            if kind == "Job":
                self.batch.delete_namespaced_job(name, namespace, body=options)
            elif kind == "ConfigMap":
                self.core.delete_namespaced_config_map(name, namespace, body=options)
            elif kind == "PersistentVolumeClaim":
                self.core.delete_namespaced_persistent_volume_claim(name, namespace, body=options)
            else:
                raise ValueError(f"cannot delete kind {kind}")
        except ApiException as error:
            if error.status != 404:
                raise

    def patch(self, *, kind: str, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """Apply a JSON merge patch to a child; a missing child is left alone."""
        try:
            if kind == "PersistentVolumeClaim":
                self.core.patch_namespaced_persistent_volume_claim(name, namespace, dict(patch))
            elif kind == "ConfigMap":
                self.core.patch_namespaced_config_map(name, namespace, dict(patch))
            elif kind == "Job":
                self.batch.patch_namespaced_job(name, namespace, dict(patch))
            else:
                raise ValueError(f"cannot patch kind {kind}")
        except ApiException as error:
            if error.status != 404:
                raise

    def delete_collection(self, *, kind: str, namespace: str, label_selector: str) -> None:
        if kind == "ConfigMap":
            self.core.delete_collection_namespaced_config_map(namespace, label_selector=label_selector)
        elif kind == "PersistentVolumeClaim":
            self.core.delete_collection_namespaced_persistent_volume_claim(namespace, label_selector=label_selector)
        elif kind == "Job":
            self.batch.delete_collection_namespaced_job(
                namespace, label_selector=label_selector, propagation_policy="Background"
            )
        else:
            raise ValueError(f"cannot delete kind {kind}")

    # Events.

    def post_event(
        self, *, involved: Mapping[str, Any], type_: str, reason: str, message: str, component: str
    ) -> None:
        metadata = involved["metadata"]
        now = datetime.now(timezone.utc)
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(generate_name=f"{metadata['name']}.", namespace=metadata["namespace"]),
            involved_object=client.V1ObjectReference(
                api_version=involved.get("apiVersion"),
                kind=involved.get("kind"),
                name=metadata["name"],
                namespace=metadata["namespace"],
                uid=metadata.get("uid"),
                resource_version=metadata.get("resourceVersion"),
            ),
            reason=reason,
            message=message[:1024],
            type=type_,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
            source=client.V1EventSource(component=component),
            reporting_component=component,
            reporting_instance=component,
        )
        try:
            self.core.create_namespaced_event(metadata["namespace"], event)
        except ApiException as error:
            logger.warning("posting an event failed; the event is dropped: %s", _message(error))
