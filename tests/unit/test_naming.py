"""Child names and labels: length, stability and collisions."""

from __future__ import annotations

import pytest

from stage2_operator import naming


def test_short_names_unchanged() -> None:
    assert naming.job_name(workflow="survey", run="3", node="clip") == "survey-clip-r3"


@pytest.mark.parametrize("length", [40, 63, 64, 100, 253])
def test_long_names_fit(length: int) -> None:
    name = naming.job_name(workflow="w" * length, run="12", node="node")
    assert len(name) <= naming.MAX_NAME
    assert naming.is_dns_label(name)


def test_cut_names_are_stable() -> None:
    first = naming.job_name(workflow="a" * 70, run="1", node="x")
    second = naming.job_name(workflow="a" * 70, run="1", node="x")
    assert first == second


def test_cut_names_do_not_collide() -> None:
    names = {naming.job_name(workflow="a" * 60, run="1", node=f"node-{i}") for i in range(500)}
    assert len(names) == 500


def test_distinct_children_per_node() -> None:
    job = naming.job_name(workflow="wf", run="1", node="a")
    configmap = naming.payload_configmap_name(workflow="wf", run="1", node="a")
    claim = naming.claim_name(workflow="wf", run="1")
    assert len({job, configmap, claim}) == 3


@pytest.mark.parametrize(
    ("value", "expected_prefix"),
    [("ok-name", "ok-name"), ("Upper Case", "upper-case-"), ("x" * 80, "x" * 54)],
)
def test_label_values(value: str, expected_prefix: str) -> None:
    result = naming.label_value(value)
    assert result.startswith(expected_prefix)
    assert len(result) <= 63


def test_changed_label_values_keep_originals_apart() -> None:
    assert naming.label_value("a b") != naming.label_value("a-b")


def test_labels_of_node_children() -> None:
    labels = naming.labels(workflow="wf", run="2", node="clip", operation="clip-raster")
    assert labels == {
        "app.kubernetes.io/managed-by": "stage2-operator",
        "stage2.dev/workflow": "wf",
        "stage2.dev/run": "2",
        "stage2.dev/node": "clip",
        "stage2.dev/operation": "clip-raster",
    }
