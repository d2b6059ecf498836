"""Typed models of the Operation and Workflow custom resources.

These models are the single source of the CRD schemas (see `crdgen`), and the
pure core (validation, planner, builders) reads specs through them. They check
shapes and local bounds only; cross-object rules such as "the upstream node
exists" live in `validation`, which reports every error at once.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_COMMAND = ["python", "stage2_interface.py"]
DEFAULT_OUTPUT_PORT = "output"

# Bounds that keep a Workflow spec well below the 256 KiB annotation budget
# that `kubectl apply` (client-side) spends on its last-applied copy.
MAX_NODES = 2000
MAX_NAME_LENGTH = 63
MAX_PORT_NAME_LENGTH = 128
MAX_PARAMETERS = 128
MAX_UPSTREAMS_PER_PORT = 256


class _Model(BaseModel):
    """Base for spec models: camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid", frozen=False)


class Family(StrEnum):
    SOURCE = "source"
    COMPUTE = "compute"
    SINK = "sink"


class ParameterType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ARRAY = "array"
    OBJECT = "object"


class PullPolicy(StrEnum):
    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class Shutdown(StrEnum):
    """Lifecycle verb: Stop lets running nodes finish, Cancel deletes their Jobs."""

    STOP = "Stop"
    CANCEL = "Cancel"


class ClaimRetention(StrEnum):
    """Retention policy of a run's claim when the Workflow is deleted or starts a new run."""

    DELETE = "Delete"
    RETAIN = "Retain"
    RETAIN_ON_FAILURE = "RetainOnFailure"


class ResourceRequirements(_Model):
    """Container resources, as in the Kubernetes `ResourceRequirements` type."""

    requests: dict[str, str | int | float] = Field(default_factory=dict, max_length=16)
    limits: dict[str, str | int | float] = Field(default_factory=dict, max_length=16)


class ParameterSpec(_Model):
    """Declaration of one operation parameter.

    `min` and `max` bound the value of numbers and the length of strings and
    arrays. A parameter with no `default` must be set by every node, unless it
    is nullable, in which case it defaults to null.
    """

    type: ParameterType
    description: str = Field(default="", max_length=4096)
    default: Any = Field(default=None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True})
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    enum: list[Any] | None = Field(default=None, max_length=256)

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set


class Multiplicity(_Model):
    """How many upstream nodes a port accepts; a missing `max` means unbounded."""

    min: int = Field(default=1, ge=1)
    max: int | None = Field(default=None, ge=1)


class InputPort(_Model):
    description: str = Field(default="", max_length=4096)
    multiplicity: Multiplicity = Field(default_factory=lambda: Multiplicity(min=1, max=1))


class OutputPort(_Model):
    name: str = Field(default=DEFAULT_OUTPUT_PORT, min_length=1, max_length=MAX_PORT_NAME_LENGTH)
    description: str = Field(default="", max_length=4096)


class OperationSpec(_Model):
    """Spec of an Operation: the Stage2 definition plus what Kubernetes needs to run it."""

    family: Family
    category: str = Field(default="", max_length=253)
    thumbnail: str = Field(default="", max_length=2048)
    description: str = Field(default="", max_length=8192)
    image: str = Field(min_length=1, max_length=1024)
    image_pull_policy: PullPolicy = Field(default=PullPolicy.IF_NOT_PRESENT, alias="imagePullPolicy")
    command: list[str] = Field(default_factory=lambda: list(DEFAULT_COMMAND), min_length=1, max_length=64)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict, max_length=MAX_PARAMETERS)
    inputs: dict[str, InputPort] = Field(default_factory=dict, max_length=64)
    output: OutputPort | None = None
    resources: ResourceRequirements | None = None
    timeout_seconds: int | None = Field(default=None, ge=1, alias="timeoutSeconds")
    retries: int = Field(default=0, ge=0, le=100)


class Condition(BaseModel):
    """A `metav1.Condition`."""

    model_config = ConfigDict(populate_by_name=True)

    type: str
    status: str
    reason: str
    message: str = ""
    last_transition_time: str = Field(alias="lastTransitionTime")
    observed_generation: int | None = Field(default=None, alias="observedGeneration")


class OperationStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    conditions: list[Condition] = Field(default_factory=list)


class WorkflowNode(_Model):
    """One node of the graph: an Operation, its parameters and its upstream wiring."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    operation: str = Field(min_length=1, max_length=253)
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_PARAMETERS,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    inputs: dict[str, list[str]] = Field(default_factory=dict, max_length=64)
    retries: int | None = Field(default=None, ge=0, le=100)
    timeout_seconds: int | None = Field(default=None, ge=1, alias="timeoutSeconds")
    resources: ResourceRequirements | None = None


class Storage(_Model):
    """The volume shared by the nodes of a run: a new claim per run, or an existing one."""

    size: str = Field(default="1Gi", max_length=32)
    storage_class_name: str | None = Field(default=None, max_length=253, alias="storageClassName")
    access_modes: list[str] = Field(default_factory=lambda: ["ReadWriteOnce"], alias="accessModes", max_length=4)
    existing_claim: str | None = Field(default=None, max_length=253, alias="existingClaim")
    retention: ClaimRetention = ClaimRetention.RETAIN_ON_FAILURE


class Toleration(_Model):
    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = Field(default=None, alias="tolerationSeconds")


class WorkflowSpec(_Model):
    nodes: list[WorkflowNode] = Field(min_length=1, max_length=MAX_NODES)
    storage: Storage = Field(default_factory=Storage)
    parallelism: int | None = Field(default=None, ge=1)
    active_deadline_seconds: int | None = Field(default=None, ge=1, alias="activeDeadlineSeconds")
    suspend: bool = False
    shutdown: Shutdown | None = None
    rerun: str | None = Field(default=None, max_length=63)
    ttl_seconds_after_finished: int | None = Field(default=None, ge=0, alias="ttlSecondsAfterFinished")
    ttl_seconds_after_success: int | None = Field(default=None, ge=0, alias="ttlSecondsAfterSuccess")
    ttl_seconds_after_failure: int | None = Field(default=None, ge=0, alias="ttlSecondsAfterFailure")
    service_account_name: str | None = Field(default=None, max_length=253, alias="serviceAccountName")
    node_selector: dict[str, str] = Field(default_factory=dict, alias="nodeSelector")
    tolerations: list[Toleration] = Field(default_factory=list, max_length=64)
    affinity: dict[str, Any] | None = Field(
        default=None, json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )
    priority_class_name: str | None = Field(default=None, max_length=253, alias="priorityClassName")


class NodePhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"


class WorkflowPhase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class NodeStatus(BaseModel):
    """Compact per-node entry of `Workflow.status.nodes`."""

    model_config = ConfigDict(populate_by_name=True)

    phase: NodePhase = NodePhase.PENDING
    job: str | None = None
    attempts: int = 0
    started_at: str | None = Field(default=None, alias="startedAt")
    finished_at: str | None = Field(default=None, alias="finishedAt")
    exit_code: int | None = Field(default=None, alias="exitCode")
    reason: str | None = None
    message: str | None = None
    outputs: list[str] = Field(default_factory=list)
    rerun: int | None = None
    next_retry_at: str | None = Field(default=None, alias="nextRetryAt")


class WorkflowStatus(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    run: str | None = None
    run_generation: int | None = Field(default=None, alias="runGeneration")
    spec_hash: str | None = Field(default=None, alias="specHash")
    phase: WorkflowPhase = WorkflowPhase.PENDING
    progress: str | None = None
    started_at: str | None = Field(default=None, alias="startedAt")
    finished_at: str | None = Field(default=None, alias="finishedAt")
    message: str | None = None
    claim: str | None = None
    claim_retained: bool | None = Field(default=None, alias="claimRetained")
    rerun: str | None = None
    conditions: list[Condition] = Field(default_factory=list)
    nodes: dict[str, NodeStatus] = Field(default_factory=dict)
    # The compact form, used above 200 nodes: the output entry of each
    # succeeded node, the reason of each skipped node, and reruns above zero.
    succeeded: dict[str, str] | None = None
    skipped: dict[str, str] | None = None
    reruns: dict[str, int] | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    """Serialise a model the way the API server stores it: aliases, no nulls."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)
