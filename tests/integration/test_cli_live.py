"""stage2 get, watch and logs against a Workflow run by the in-process operator."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from stage2_operator.cli import main
from tests.support.operator import create_operation, create_workflow, example_operation

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]


def test_watch_get_logs(operator: Any, k8s_api: client.ApiClient, namespace: str, capsys: Any) -> None:
    create_operation(k8s_api, namespace, example_operation("text-source"))
    create_operation(k8s_api, namespace, example_operation("text-upper"))
    create_workflow(k8s_api, namespace, "chain", {"nodes": [
        {"name": "hello", "operation": "text-source", "parameters": {"Text": "stage two"}},
        {"name": "shout", "operation": "text-upper", "inputs": {"Text": ["hello"]}},
    ]})

    assert main(["watch", "chain", "-n", namespace, "--timeout", "240", "--no-color"]) == 0
    watched = capsys.readouterr().out
    assert f"Workflow {namespace}/chain  Succeeded  2/2" in watched

    assert main(["get", "chain", "-n", namespace, "--no-color"]) == 0
    tree = capsys.readouterr().out
    assert "\u2714 hello" in tree
    assert "  \u2714 shout" in tree

    assert main(["logs", "chain", "shout", "-n", namespace]) == 0
    assert "upper-cased 1 input file(s)" in capsys.readouterr().out

    assert main(["logs", "chain", "-n", namespace]) == 0
    both = capsys.readouterr().out
    assert "[hello] " in both
    assert "[shout] " in both

    assert main(["logs", "chain", "nope", "-n", namespace]) == 1
