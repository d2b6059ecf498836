"""kopf wiring: indexes of our Jobs and pods, and handlers that only enqueue.

Run with `kopf run -m stage2_operator.handlers --all-namespaces`. No handler
here changes state: the reconciler (`reconcile.Controller`) does all the
work. None of these handlers needs a finalizer or a kopf annotation, so kopf
writes nothing to Workflows, Jobs or pods, and deleting a Workflow or its
namespace never waits for the operator.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from . import GROUP, VERSION, logs, metrics, naming
from .config import OperatorConfig
from .kube import Kube, load_api_client
from .observe import job_view, pod_view
from .leader import LeaderElector
from .reconcile import Controller
from .status import READY, REASON_INVALID_SPEC, REASON_VALID, set_condition, timestamp
from .validation import format_errors, validate_operation
from . import webhook  # noqa: F401
from . import incluster

OURS = {naming.LABEL_MANAGED_BY: naming.MANAGED_BY}

logger = logging.getLogger("stage2.handlers")


def _controller(memo: kopf.Memo) -> Controller:
    controller: Controller = memo["controller"]
    return controller


@kopf.on.login()
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Log in from the pod's service account, else from KUBECONFIG as it is set now."""
    return incluster.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.enabled = False
    # kopf logs every successful handler call at INFO, several lines per
    # Job or pod event; our own loggers report the actions taken.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    settings.watching.server_timeout = 300
    config = OperatorConfig.from_env()
    if config.log_format == "json":
        logs.use_json()
    api_client = load_api_client()
    controller = Controller(kube=Kube(api_client), config=config)
    if config.leader_election:
        controller.leader = LeaderElector(
            api_client=api_client, namespace=config.leader_election_namespace, name=config.leader_election_id
        )
    memo["controller"] = controller
    metrics.watch_controller(queue_depth=lambda: len(controller.queue), is_leader=lambda: controller.is_leader)
    try:
        memo["metrics_server"] = metrics.serve(address=config.metrics_address, port=config.metrics_port)
    except OSError as error:
        # The controller works without metrics; a taken port must not stop it.
        logger.error(
            "serving metrics on %s:%d failed, so no metrics are served: %s; set STAGE2_METRICS_PORT to a free port",
            config.metrics_address, config.metrics_port, error,
        )
    else:
        logger.info("serving metrics on http://%s:%d/metrics", config.metrics_address,
                    memo["metrics_server"].port)
    controller.start()
    logger.info(
        "stage2 controller started with %d workers, resync every %.0fs, image pull grace %.0fs",
        config.workers, config.resync_seconds, config.planner.image_pull_grace_seconds,
    )


@kopf.on.cleanup()
async def shutdown(memo: kopf.Memo, **_: Any) -> None:
    controller = memo.get("controller")
    if controller is not None:
        await controller.stop()
    server = memo.get("metrics_server")
    if server is not None:
        metrics.stop(server)


def _attach(memo: kopf.Memo, workflow_jobs: kopf.Index[Any, Any], workflow_pods: kopf.Index[Any, Any],
            operation_specs: kopf.Index[Any, Any], workflow_configmaps: kopf.Index[Any, Any]) -> Controller:
    """Hand kopf's live indexes to the controller (they are complete before any handler runs)."""
    controller = _controller(memo)
    controller.jobs = lambda key: workflow_jobs.get(key, ())
    controller.pods = lambda key: workflow_pods.get(key, ())
    controller.operation_specs = lambda key: operation_specs.get(key, ())
    controller.configmaps = lambda key: workflow_configmaps.get(key, ())
    return controller


@kopf.index("batch", "v1", "jobs", labels=OURS)
async def workflow_jobs(body: kopf.Body, namespace: str, **_: Any) -> dict[Any, Any] | None:
    view = job_view(body)
    if view is None:
        return None
    return {(namespace, view.workflow): view}


@kopf.index("", "v1", "pods", labels=OURS)
async def workflow_pods(body: kopf.Body, namespace: str, **_: Any) -> dict[Any, Any] | None:
    view = pod_view(body)
    if view is None:
        return None
    return {(namespace, view.job): view}


@kopf.index("", "v1", "configmaps", labels=OURS)
async def workflow_configmaps(body: kopf.Body, namespace: str, name: str, **_: Any) -> dict[Any, Any] | None:
    workflow = (body.metadata.annotations or {}).get(naming.ANNOTATION_WORKFLOW)
    if not workflow:
        return None
    return {(namespace, workflow): name}


@kopf.index(GROUP, VERSION, "operations")
async def operation_specs(body: kopf.Body, namespace: str, name: str, **_: Any) -> dict[Any, Any]:
    return {(namespace, name): (body.metadata.get("resourceVersion"), dict(body.get("spec") or {}))}


@kopf.on.event(GROUP, VERSION, "workflows")
async def workflow_changed(
    type: str | None, body: kopf.Body, namespace: str, name: str, memo: kopf.Memo,
    workflow_jobs: kopf.Index[Any, Any], workflow_pods: kopf.Index[Any, Any],
    operation_specs: kopf.Index[Any, Any], workflow_configmaps: kopf.Index[Any, Any], **_: Any,
) -> None:
    controller = _attach(memo, workflow_jobs, workflow_pods, operation_specs, workflow_configmaps)
    if type == "DELETED":
        controller.note_workflow(namespace=namespace, name=name, body=None)
        return
    controller.note_workflow(namespace=namespace, name=name, body=body)
    controller.enqueue(namespace, name)


@kopf.on.event("batch", "v1", "jobs", labels=OURS, id="job_changed")
@kopf.on.event("", "v1", "pods", labels=OURS, id="pod_changed")
async def child_changed(
    body: kopf.Body, namespace: str, memo: kopf.Memo,
    workflow_jobs: kopf.Index[Any, Any], workflow_pods: kopf.Index[Any, Any],
    operation_specs: kopf.Index[Any, Any], workflow_configmaps: kopf.Index[Any, Any], **_: Any,
) -> None:
    """Wake the Workflow that owns a changed Job or pod."""
    controller = _attach(memo, workflow_jobs, workflow_pods, operation_specs, workflow_configmaps)
    workflow = (body.metadata.annotations or {}).get(naming.ANNOTATION_WORKFLOW)
    if workflow:
        controller.enqueue(namespace, workflow)


@kopf.on.event(GROUP, VERSION, "operations")
async def operation_changed(
    type: str | None, body: kopf.Body, namespace: str, name: str, memo: kopf.Memo,
    workflow_jobs: kopf.Index[Any, Any], workflow_pods: kopf.Index[Any, Any],
    operation_specs: kopf.Index[Any, Any], workflow_configmaps: kopf.Index[Any, Any],
    logger: kopf.Logger, **_: Any,
) -> None:
    """Validate an Operation, report it in its `Ready` condition, and wake the Workflows using it."""
    controller = _attach(memo, workflow_jobs, workflow_pods, operation_specs, workflow_configmaps)
    controller.enqueue_users_of(namespace=namespace, operation=name)
    if type == "DELETED" or not controller.is_leader:
        return
    generation = int(body.metadata.get("generation") or 1)
    old_status = dict(body.get("status") or {})
    _spec, errors = validate_operation(dict(body.get("spec") or {}))
    if errors:
        ready, reason, message = False, REASON_INVALID_SPEC, f"invalid spec: {format_errors(errors, limit=20)}"
    else:
        ready, reason, message = True, REASON_VALID, "the operation is valid"
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    conditions = set_condition(
        list(old_status.get("conditions") or []),
        type_=READY, status=ready, reason=reason, message=message, generation=generation, now=now,
    )
    new_status = {"observedGeneration": generation, "conditions": conditions}
    if new_status == {key: old_status.get(key) for key in new_status}:
        return
    kube = controller.kube
    await asyncio.to_thread(kube.patch_operation_status, namespace, name, new_status)
    if errors:
        logger.warning("operation %s/%s is invalid: %s", namespace, name, message)
    else:
        logger.info("operation %s/%s is valid (generation %d, checked at %s)", namespace, name, generation,
                    timestamp(now))


@kopf.on.event("", "v1", "configmaps", labels=OURS, when=lambda type, **_: type == "DELETED")
async def configmap_changed(
    type: str | None, body: kopf.Body, namespace: str, memo: kopf.Memo,
    workflow_jobs: kopf.Index[Any, Any], workflow_pods: kopf.Index[Any, Any],
    operation_specs: kopf.Index[Any, Any], workflow_configmaps: kopf.Index[Any, Any], **_: Any,
) -> None:
    """Wake the Workflow whose payload ConfigMap was deleted, so it is recreated."""
    controller = _attach(memo, workflow_jobs, workflow_pods, operation_specs, workflow_configmaps)
    workflow = (body.metadata.annotations or {}).get(naming.ANNOTATION_WORKFLOW)
    if type == "DELETED" and workflow:
        controller.enqueue(namespace, workflow)
