"""The node tree that stage2 get and stage2 watch print, from a Workflow body (no cluster)."""

from __future__ import annotations

from datetime import datetime, timezone

from stage2_operator.cli.live import node_depths, render_tree

NOW = datetime(2026, 1, 1, 12, 0, 30, tzinfo=timezone.utc)
BODY = {
    "metadata": {"name": "chain", "namespace": "demo", "generation": 1},
    "spec": {"nodes": [
        {"name": "load", "operation": "make-image"},
        {"name": "stats", "operation": "image-stats", "inputs": {"Image": ["contrast"]}},
        {"name": "contrast", "operation": "adjust-contrast", "inputs": {"Raw Image File": ["load"]}},
    ]},
    "status": {
        "observedGeneration": 1, "phase": "Running", "progress": "1/3", "startedAt": "2026-01-01T12:00:00Z",
        "message": "1/3 nodes succeeded, 1 running, 1 pending",
        "nodes": {
            "load": {"phase": "Succeeded", "attempts": 1, "exitCode": 0, "outputs": ["data.png"],
                     "startedAt": "2026-01-01T12:00:00Z", "finishedAt": "2026-01-01T12:00:05Z"},
            "contrast": {"phase": "Running", "attempts": 2, "startedAt": "2026-01-01T12:00:06Z",
                         "reason": "Retrying", "message": "attempt 1 failed"},
        },
    },
}


def test_depths_follow_topological_order():
    order, depth = node_depths(BODY["spec"])
    assert order == ["load", "contrast", "stats"]
    assert depth == {"load": 0, "contrast": 1, "stats": 2}


def test_tree_lines():
    lines = render_tree(BODY, now=NOW).splitlines()
    assert lines[0] == "Workflow demo/chain  Running  1/3  30s"
    load = next(line for line in lines if "load" in line)
    contrast = next(line for line in lines if "contrast" in line)
    stats = next(line for line in lines if "stats" in line)
    assert load.startswith("\u2714 load")
    assert "5s" in load
    assert "data.png" in load
    assert contrast.startswith("  \u25b6 contrast")
    assert "24s" in contrast
    assert "Retrying: attempt 1 failed" in contrast
    assert stats.startswith("    \u25cb stats")
    assert "Pending" in stats


def test_tree_notes_stale_generation():
    body = dict(BODY, metadata=dict(BODY["metadata"], generation=2))
    assert "older generation" in render_tree(body, now=NOW)
