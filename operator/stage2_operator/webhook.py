"""Validating admission webhook for Operations and Workflows.

`handlers.py` imports this module, so both handlers are always registered.
The server starts only when `STAGE2_WEBHOOK_ENABLED` is true. Otherwise a
server that never listens is installed, because kopf refuses to start when
admission handlers exist and `settings.admission.server` is None.

kopf does not manage the `ValidatingWebhookConfiguration` here: the Helm
chart renders it, with URL paths `/<handler id>` (`/validate-operation`,
`/validate-workflow`) that match kopf's routing.

A Workflow is rejected only for errors in its own spec. A reference to an
Operation that does not exist yet, or that is itself invalid, is allowed,
because GitOps tools and `kubectl apply -f dir/` may apply the Operation
right after the Workflow. The controller reports those errors on the
Workflow's status instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client
from kubernetes.client.rest import ApiException

from . import GROUP, VERSION
from .kube import OPERATIONS, load_api_client
from .models import OperationSpec
from .validation import SpecError, format_errors, validate_operation, validate_workflow

logger = logging.getLogger("stage2.webhook")

WORKFLOW_HANDLER_ID = "validate-workflow"
OPERATION_HANDLER_ID = "validate-operation"
DEFAULT_PORT = 9443
DEFAULT_CERT_DIR = "/etc/stage2/webhook-certs"
# HTTP status of a rejection: the request is well-formed, the spec is not.
REJECTION_CODE = 422
MEMO_API = "webhook_custom_api"


@dataclass(frozen=True)
class WebhookConfig:
    """Webhook settings read from `STAGE2_WEBHOOK_*` environment variables."""

    enabled: bool
    address: str
    port: int
    cert_dir: Path

    @classmethod
    def from_env(cls) -> WebhookConfig:
        enabled_text = os.environ.get("STAGE2_WEBHOOK_ENABLED", "false").strip().lower()
        if enabled_text not in ("true", "false", "1", "0", "yes", "no", ""):
            raise ValueError(f"STAGE2_WEBHOOK_ENABLED={enabled_text!r} is not a boolean; use true or false")
        port_text = os.environ.get("STAGE2_WEBHOOK_PORT") or str(DEFAULT_PORT)
        try:
            port = int(port_text)
        except ValueError as error:
            raise ValueError(f"STAGE2_WEBHOOK_PORT={port_text!r} is not a port number") from error
        if not 1 <= port <= 65535:
            raise ValueError(f"STAGE2_WEBHOOK_PORT={port} is out of range; use 1 to 65535")
        return cls(
            enabled=enabled_text in ("true", "1", "yes"),
            address=os.environ.get("STAGE2_WEBHOOK_ADDRESS") or "0.0.0.0",
            port=port,
            cert_dir=Path(os.environ.get("STAGE2_WEBHOOK_CERT_DIR") or DEFAULT_CERT_DIR),
        )


async def _no_server(_fn: Any) -> AsyncIterator[Any]:
    """Stand in for a webhook server when the webhook is off: never listen, never yield."""
    await asyncio.Event().wait()
    yield  # pragma: no cover - unreachable, makes this an async generator


@kopf.on.startup()
async def configure_webhook(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Serve admission requests over HTTPS with the mounted certificate, if the webhook is enabled."""
    config = WebhookConfig.from_env()
    if not config.enabled:
        settings.admission.server = _no_server
        logger.info("admission webhook disabled (STAGE2_WEBHOOK_ENABLED is not true)")
        return

    certfile = config.cert_dir / "tls.crt"
    pkeyfile = config.cert_dir / "tls.key"
    missing = [str(path) for path in (certfile, pkeyfile) if not path.is_file()]
    if missing:
        raise kopf.PermanentError(
            f"admission webhook enabled but certificate files are missing: {', '.join(missing)};"
            " mount a kubernetes.io/tls Secret at STAGE2_WEBHOOK_CERT_DIR"
        )
    # kopf re-reads these files every minute and restarts the server when they
    # change, so a renewed certificate needs no pod restart.
    settings.admission.server = kopf.WebhookServer(
        addr=config.address, port=config.port, certfile=str(certfile), pkeyfile=str(pkeyfile)
    )
    settings.admission.managed = None
    memo[MEMO_API] = client.CustomObjectsApi(load_api_client())
    logger.info("admission webhook listening on %s:%d with the certificate in %s",
                config.address, config.port, config.cert_dir)


def _reject(kind: str, name: str, errors: list[SpecError]) -> kopf.AdmissionError:
    logger.info("rejected %s %s with %d spec errors", kind, name or "(generated name)", len(errors))
    message = f"{kind} {name or '(generated name)'} is invalid:\n{format_errors(errors)}"
    return kopf.AdmissionError(message, code=REJECTION_CODE)


@kopf.on.validate(GROUP, VERSION, OPERATIONS, id=OPERATION_HANDLER_ID, operations=["CREATE", "UPDATE"])
async def validate_operation_admission(body: kopf.Body, name: str | None, **_: Any) -> None:
    """Reject an Operation whose spec is invalid, listing every error."""
    _spec, errors = validate_operation(dict(body.get("spec") or {}))
    if errors:
        raise _reject("Operation", name or "", errors)


@kopf.on.validate(GROUP, VERSION, "workflows", id=WORKFLOW_HANDLER_ID, operations=["CREATE", "UPDATE"])
async def validate_workflow_admission(
    body: kopf.Body, name: str | None, namespace: str | None, memo: kopf.Memo, **_: Any
) -> None:
    """Reject a Workflow with errors in its own spec, checked against the Operations that exist."""
    spec = dict(body.get("spec") or {})
    namespace = namespace or ""
    api: client.CustomObjectsApi | None = memo.get(MEMO_API)
    found: dict[str, dict[str, Any]] = {}
    if api is not None:
        found = await asyncio.to_thread(_read_operations, api, namespace, referenced_operations(spec))
    errors = admission_errors(spec, name=name or "", namespace=namespace, found_operations=found)
    if errors:
        raise _reject("Workflow", name or "", errors)


def referenced_operations(spec: Mapping[str, Any]) -> list[str]:
    """Return the Operation names the spec's nodes reference, sorted and without duplicates."""
    nodes = spec.get("nodes")
    names = set()
    for node in nodes if isinstance(nodes, list) else []:
        operation = node.get("operation") if isinstance(node, Mapping) else None
        if isinstance(operation, str) and operation:
            names.add(operation)
    return sorted(names)


def _read_operations(api: client.CustomObjectsApi, namespace: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Read the spec of each named Operation that exists in the namespace."""
    found = {}
    for operation in names:
        try:
            body = api.get_namespaced_custom_object(GROUP, VERSION, namespace, OPERATIONS, operation)
        except ApiException as error:
            if error.status == 404:
                continue
            # Reject rather than admit a spec that could not be checked. The
            # message asks the user to retry, since this is not a spec error.
            logger.warning("reading Operation %s/%s for admission failed: %s", namespace, operation, error.reason)
            raise kopf.AdmissionError(
                f"reading Operation {operation} in namespace {namespace} failed ({error.status}): {error.reason};"
                " retry the request", code=503,
            ) from error
        found[operation] = dict(body.get("spec") or {})
    return found


def admission_errors(
    spec: Mapping[str, Any], *, name: str, namespace: str, found_operations: Mapping[str, Mapping[str, Any]]
) -> list[SpecError]:
    """Return the Workflow's spec errors, leaving out missing and invalid Operations.

    `found_operations` maps the name of each referenced Operation that exists
    to its spec. Errors about a node's parameters and ports are reported only
    for nodes whose Operation exists and is valid.
    """
    operations: dict[str, OperationSpec | None] = {}
    unresolved = set(referenced_operations(spec))
    invalid = set()
    for operation, operation_spec in found_operations.items():
        parsed, _errors = validate_operation(operation_spec)
        operations[operation] = parsed
        if parsed is None:
            invalid.add(operation)
        else:
            unresolved.discard(operation)
    _parsed, errors = validate_workflow(
        spec, name=name, namespace=namespace, operations=operations, invalid_operations=invalid
    )
    return [error for error in errors if not _is_unresolved_operation_error(error, unresolved)]


def _is_unresolved_operation_error(error: SpecError, unresolved: Collection[str]) -> bool:
    # validate_workflow reports a missing or invalid Operation at
    # `spec.nodes[<node>].operation`, with a message that starts with
    # `Operation "<name>"`. tests/unit/test_webhook.py pins that shape.
    if not error.path.endswith(".operation"):
        return False
    return any(error.message.startswith(f"Operation {json.dumps(operation, ensure_ascii=False)} ")
               for operation in unresolved)
