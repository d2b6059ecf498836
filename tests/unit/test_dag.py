"""Unit tests of the Workflow dependency graph."""

from __future__ import annotations


import pytest

from stage2_operator import dag
from stage2_operator.models import WorkflowSpec


def graph_of(edges: dict[str, list[str]]) -> dag.Graph:
    """Build a graph from node -> upstream names, nodes in dict order."""
    return dag.Graph.from_upstreams(list(edges), edges)


DIAMOND = {"d": ["b", "c"], "c": ["a"], "b": ["a"], "a": []}


def test_topological_order_puts_upstreams_first() -> None:
    order = dag.topological_order(graph_of(DIAMOND))

    assert order == ["a", "c", "b", "d"]


def test_topological_order_breaks_ties_by_spec_order() -> None:
    graph = graph_of({"z": [], "y": [], "x": ["z"], "w": []})

    assert dag.topological_order(graph) == ["z", "y", "x", "w"]


def test_build_graph_reads_node_inputs() -> None:
    spec = WorkflowSpec.model_validate(
        {
            "nodes": [
                {"name": "load", "operation": "src"},
                {"name": "mask", "operation": "src"},
                {"name": "clip", "operation": "clip", "inputs": {"Image": ["load"], "Mask": ["mask", "load"]}},
            ]
        }
    )

    graph = dag.build_graph(spec)

    assert graph.upstreams("clip") == ["load", "mask"]
    assert graph.downstreams("load") == ["clip"]
    assert graph.roots() == ["load", "mask"]


def test_build_graph_rejects_unknown_upstream() -> None:
    spec = WorkflowSpec.model_validate({"nodes": [{"name": "a", "operation": "x", "inputs": {"In": ["ghost"]}}]})

    with pytest.raises(ValueError, match="unknown upstream node 'ghost'"):
        dag.build_graph(spec)


def test_from_upstreams_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="duplicate node name 'a'"):
        dag.Graph.from_upstreams(["a", "a"], {})


def test_find_cycle_lists_nodes_in_order() -> None:
    graph = graph_of({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["c"]})

    assert dag.find_cycle(graph) == ["a", "b", "c", "a"]


def test_find_cycle_starts_at_first_node_in_spec() -> None:
    # The cycle is c -> b -> c; "b" comes first in the spec.
    graph = graph_of({"a": [], "b": ["c"], "c": ["b", "a"], "e": ["c"]})

    assert dag.find_cycle(graph) == ["b", "c", "b"]


def test_find_cycle_behind_acyclic_nodes() -> None:
    # "x" is downstream of the cycle but comes first, so it is not on it.
    graph = graph_of({"x": ["q"], "p": ["q"], "q": ["p"]})

    assert dag.find_cycle(graph) == ["p", "q", "p"]


def test_find_cycle_self_loop() -> None:
    graph = graph_of({"a": [], "b": ["a", "b"]})

    assert dag.find_cycle(graph) == ["b", "b"]


def test_find_cycle_none_when_acyclic() -> None:
    assert dag.find_cycle(graph_of(DIAMOND)) is None


def test_topological_order_raises_cycle_error() -> None:
    with pytest.raises(dag.CycleError) as raised:
        dag.topological_order(graph_of({"a": ["b"], "b": ["a"]}))

    assert raised.value.cycle == ["a", "b", "a"]
    assert str(raised.value) == "cycle: a -> b -> a"


def test_repeated_upstream_counts_once() -> None:
    graph = graph_of({"a": [], "b": ["a", "a"]})

    assert graph.upstreams("b") == ["a"]
    assert graph.downstreams("a") == ["b"]
    assert dag.topological_order(graph) == ["a", "b"]


def test_descendants_in_spec_order() -> None:
    graph = graph_of({"a": [], "b": ["a"], "c": ["b"], "d": [], "e": ["d", "c"]})

    assert dag.descendants(graph, "b") == ["c", "e"]
    assert dag.descendants(graph, "a") == ["b", "c", "e"]
    assert dag.descendants(graph, "e") == []


def test_descendants_leave_out_given_nodes() -> None:
    graph = graph_of({"a": [], "b": ["a"], "c": ["b"]})

    assert dag.descendants(graph, "a", "b") == ["c"]


def test_ancestors_in_spec_order() -> None:
    graph = graph_of({"a": [], "b": ["a"], "c": ["b"], "d": [], "e": ["d", "c"]})

    assert dag.ancestors(graph, "e") == ["a", "b", "c", "d"]


def test_large_graph() -> None:
    # A chain of 20,000 nodes plus a second edge to each node's grandparent.
    count = 20_000
    names = [f"n{i}" for i in range(count)]
    edges = {name: names[max(0, i - 2) : i] for i, name in enumerate(names)}

    graph = dag.Graph.from_upstreams(names, edges)
    order = dag.topological_order(graph)
    skipped = dag.descendants(graph, "n0")
    cyclic = dag.Graph.from_upstreams(names, {**edges, "n0": ["n19999"]})
    cycle = dag.find_cycle(cyclic)

    assert order == names
    assert len(skipped) == count - 1
    assert cycle is not None
    assert cycle[0] == "n0"
    assert cycle[-1] == "n0"
