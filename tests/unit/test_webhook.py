"""Admission decisions of the webhook: real spec errors reject, missing Operations do not."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from stage2_operator.webhook import WebhookConfig, admission_errors, referenced_operations
from tests.support.cluster import REPO_ROOT

EXAMPLE = REPO_ROOT / "manifests" / "examples" / "01-linear-chain.yaml"


def example_operations() -> dict[str, dict[str, Any]]:
    documents = yaml.safe_load_all(EXAMPLE.read_text())
    return {document["metadata"]["name"]: document["spec"] for document in documents if document["kind"] == "Operation"}


def node(name: str, operation: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "operation": operation, **fields}


CYCLE = {"nodes": [node("a", "text-upper", inputs={"Text": ["b"]}), node("b", "text-upper", inputs={"Text": ["a"]})]}


def messages(spec: dict[str, Any], found: dict[str, dict[str, Any]]) -> list[str]:
    return [str(error) for error in admission_errors(spec, name="wf", namespace="ns", found_operations=found)]


def test_valid_workflow_admitted() -> None:
    documents = list(yaml.safe_load_all(EXAMPLE.read_text()))
    (workflow,) = [document for document in documents if document["kind"] == "Workflow"]
    assert messages(workflow["spec"], example_operations()) == []


def test_missing_operations_admitted() -> None:
    spec = {"nodes": [node("a", "not-applied-yet"), node("b", "text-upper", inputs={"Text": ["a"]})]}
    assert messages(spec, {}) == []


def test_invalid_operation_admitted() -> None:
    spec = {"nodes": [node("a", "broken")]}
    assert messages(spec, {"broken": {"family": "no-such-family"}}) == []


@pytest.mark.parametrize("found", [{}, "examples"], ids=["without-operations", "with-operations"])
def test_cycle_rejected(found: Any) -> None:
    operations = example_operations() if found == "examples" else {}
    assert messages(CYCLE, operations) == ["spec.nodes: cycle: a -> b -> a; remove one of these edges"]


def test_unknown_upstream_rejected() -> None:
    spec = {"nodes": [node("a", "missing-op", inputs={"Text": ["ghost"]})]}
    (message,) = messages(spec, {})
    assert 'unknown upstream node "ghost"' in message


def test_parameter_type_rejected() -> None:
    spec = {"nodes": [node("say", "text-source", parameters={"Text": 5})]}
    assert messages(spec, example_operations()) == [
        'spec.nodes[say].parameters["Text"]: expected a string, got an integer (5)'
    ]


def test_missing_operation_error_shape() -> None:
    # The webhook drops these errors by their path and message prefix; this
    # test fails first when validation changes that shape.
    from stage2_operator.validation import validate_workflow

    _parsed, errors = validate_workflow({"nodes": [node("a", "gone")]}, name="wf", namespace="ns", operations={})
    (error,) = errors
    assert error.path == "spec.nodes[a].operation"
    assert error.message.startswith('Operation "gone" ')


def test_referenced_operations_sorted() -> None:
    spec = {"nodes": [node("a", "y"), node("b", "x"), node("c", "y"), {"name": "d"}]}
    assert referenced_operations(spec) == ["x", "y"]


def test_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STAGE2_WEBHOOK_ENABLED", "STAGE2_WEBHOOK_PORT", "STAGE2_WEBHOOK_CERT_DIR", "STAGE2_WEBHOOK_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    config = WebhookConfig.from_env()
    assert config.enabled is False
    assert config.port == 9443
    assert config.address == "0.0.0.0"


def test_config_rejects_bad_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAGE2_WEBHOOK_PORT", "70000")
    with pytest.raises(ValueError, match="out of range"):
        WebhookConfig.from_env()
