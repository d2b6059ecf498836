"""Results of a planning pass: actions on child objects, Events and the new status.

These are plain values. The reconciler applies them against the API server,
and the local runner (`stage2 run`) turns Job creations into processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Controller settings that change decisions (the Helm chart sets them)."""

    image_pull_grace_seconds: float = 120.0
    default_storage_class: str | None = None


@dataclass(frozen=True)
class WorkflowMeta:
    name: str
    namespace: str
    uid: str
    generation: int


@dataclass(frozen=True)
class Create:
    manifest: dict[str, Any]
    node: str | None = None


@dataclass(frozen=True)
class Delete:
    api_version: str
    kind: str
    name: str
    node: str | None = None


@dataclass(frozen=True)
class DeleteCollection:
    """Delete every object of a kind matching a label selector (children of older runs)."""

    api_version: str
    kind: str
    label_selector: str


@dataclass(frozen=True)
class Patch:
    """A JSON merge patch of one child object."""

    api_version: str
    kind: str
    name: str
    patch: dict[str, Any]


@dataclass(frozen=True)
class DeleteWorkflow:
    """Delete the Workflow itself: its time to live after finishing has passed."""


Action = Create | Delete | DeleteCollection | Patch | DeleteWorkflow


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class Plan:
    actions: list[Action] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None

    def wake_in(self, seconds: float) -> None:
        """Ask to be planned again within `seconds` (at least one second from now)."""
        seconds = max(seconds, 1.0)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds
