"""Deterministic names and labels of the objects a Workflow owns.

Every child name is derived from the Workflow, the run and the node, so a
restarted controller finds the same names again and a `409 AlreadyExists` on
create means the object is already there. Names that would pass the
63-character limit of Job and pod names (and of label values) are cut and end
in a short hash of the full name, so two long names stay distinct.
"""

from __future__ import annotations

import hashlib
import re

from . import GROUP

MAX_NAME = 63
HASH_LENGTH = 8

LABEL_WORKFLOW = f"{GROUP}/workflow"
LABEL_NODE = f"{GROUP}/node"
LABEL_OPERATION = f"{GROUP}/operation"
LABEL_RUN = f"{GROUP}/run"
LABEL_RETAINED = f"{GROUP}/retained"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY = "stage2-operator"

GROUP_PREFIX = f"{GROUP}/"

ANNOTATION_WORKFLOW = f"{GROUP}/workflow"
ANNOTATION_NODE = f"{GROUP}/node"
ANNOTATION_ATTEMPT = f"{GROUP}/attempt"
ANNOTATION_OUTPUTS = f"{GROUP}/outputs"
ANNOTATION_OUTPUT_PORT = f"{GROUP}/output-port"
ANNOTATION_RETAINED_FROM = f"{GROUP}/retained-from"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_INVALID_CHARS = re.compile(r"[^a-z0-9-]+")


def is_dns_label(value: str) -> bool:
    """Return whether `value` is an RFC 1123 label (Job, pod and node names)."""
    return len(value) <= MAX_NAME and bool(_DNS_LABEL.match(value))


def short_hash(value: str, length: int = HASH_LENGTH) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:length]


def fit(value: str, max_length: int = MAX_NAME) -> str:
    """Cut `value` to `max_length`, ending in a hash of the whole value when cut.

    The result is a valid RFC 1123 label when `value` is built from such
    labels joined with dashes.
    """
    if len(value) <= max_length:
        return value
    digest = short_hash(value)
    head = value[: max_length - HASH_LENGTH - 1].rstrip("-.")
    return f"{head}-{digest}"


def label_value(value: str) -> str:
    """Make `value` fit a label value (63 characters, alphanumeric at both ends)."""
    cleaned = _INVALID_CHARS.sub("-", value.lower()).strip("-") or "x"
    if cleaned == value and len(value) <= MAX_NAME:
        return value
    if cleaned != value:
        # A changed value needs the hash even when short, so that two
        # different originals never share a label value.
        cleaned = f"{cleaned[: MAX_NAME - HASH_LENGTH - 1].rstrip('-')}-{short_hash(value)}"
    return fit(cleaned)


def _node_stem(workflow: str, run: str, node: str, rerun: int) -> str:
    # A rerun of a node needs a new Job name: the failed Job of the earlier
    # attempt may still exist while it is being deleted.
    stem = f"{workflow}-{node}-r{run}"
    return f"{stem}-x{rerun}" if rerun else stem


def job_name(*, workflow: str, run: str, node: str, rerun: int = 0) -> str:
    return fit(_node_stem(workflow, run, node, rerun))


def payload_configmap_name(*, workflow: str, run: str, node: str, rerun: int = 0) -> str:
    return fit(_node_stem(workflow, run, node, rerun) + "-payload")


def claim_name(*, workflow: str, run: str) -> str:
    return fit(f"{workflow}-r{run}-data")


def labels(*, workflow: str, run: str, node: str | None = None, operation: str | None = None) -> dict[str, str]:
    """Labels of every child object; `node` and `operation` only on per-node children."""
    result = {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_WORKFLOW: label_value(workflow),
        LABEL_RUN: label_value(run),
    }
    if node is not None:
        result[LABEL_NODE] = label_value(node)
    if operation is not None:
        result[LABEL_OPERATION] = label_value(operation)
    return result
