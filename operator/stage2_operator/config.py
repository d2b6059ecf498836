"""Operator settings read from the environment (the Helm chart sets them)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .planner import Settings


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(f"{name}={raw!r} is not a number; set it to seconds, for example 120") from error


def _int(name: str, default: int) -> int:
    value = _float(name, default)
    if value != int(value) or value < 1:
        raise ValueError(f"{name}={value!r} must be a whole number of at least 1")
    return int(value)


def _port(name: str, default: int) -> int:
    value = _float(name, default)
    if value != int(value) or not 0 <= value <= 65535:
        raise ValueError(f"{name}={value!r} must be a TCP port from 0 to 65535 (0: any free port)")
    return int(value)


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (os.environ.get(name) or default).lower()
    if raw not in choices:
        raise ValueError(f"{name}={raw!r} is not supported; use one of {', '.join(choices)}")
    return raw


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean; use true or false")


@dataclass(frozen=True)
class OperatorConfig:
    planner: Settings
    workers: int
    resync_seconds: float
    post_events: bool
    create_concurrency: int
    leader_election: bool
    leader_election_namespace: str
    leader_election_id: str
    metrics_port: int = 9090
    metrics_address: str = "127.0.0.1"
    log_format: str = "text"

    @classmethod
    def from_env(cls) -> OperatorConfig:
        return cls(
            planner=Settings(
                image_pull_grace_seconds=_float("STAGE2_IMAGE_PULL_GRACE_SECONDS", 120.0),
                default_storage_class=os.environ.get("STAGE2_DEFAULT_STORAGE_CLASS") or None,
            ),
            workers=_int("STAGE2_WORKERS", 4),
            resync_seconds=_float("STAGE2_RESYNC_SECONDS", 60.0),
            post_events=_bool("STAGE2_EVENTS", True),
            create_concurrency=_int("STAGE2_CREATE_CONCURRENCY", 8),
            leader_election=_bool("STAGE2_LEADER_ELECTION", True),
            leader_election_namespace=(
                os.environ.get("STAGE2_LEADER_ELECTION_NAMESPACE") or os.environ.get("POD_NAMESPACE") or "default"
            ),
            # Operators that watch different namespaces must not share a
            # Lease, or one would wait for the other forever.
            leader_election_id=os.environ.get("STAGE2_LEADER_ELECTION_ID") or "stage2-operator",
            metrics_port=_port("STAGE2_METRICS_PORT", 9090),
            metrics_address=os.environ.get("STAGE2_METRICS_ADDRESS") or "127.0.0.1",
            log_format=_choice("STAGE2_LOG_FORMAT", "text", ("text", "json")),
        )
