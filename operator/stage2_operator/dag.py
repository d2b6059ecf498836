"""The dependency graph of a Workflow: order, cycles, upstreams and descendants.

An edge runs from an upstream node to the node that lists it under one of its
input ports, so data flows along edges. Validation uses this module to find
cycles, and the planner uses it to order nodes and to skip the descendants of
a failed node. Everything here is pure and linear in nodes plus edges, except
the topological sort, which keeps ties in spec order with a heap and so costs
O(E + V log V).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .models import WorkflowSpec


class CycleError(ValueError):
    """Raised when a graph has a cycle; `cycle` lists its nodes, first node repeated at the end."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__("cycle: " + " -> ".join(self.cycle))


@dataclass(frozen=True)
class Graph:
    """Nodes in spec order with their distinct upstream and downstream neighbours."""

    names: tuple[str, ...]
    index: Mapping[str, int]
    upstreams_by_index: tuple[tuple[int, ...], ...]
    downstreams_by_index: tuple[tuple[int, ...], ...]

    @classmethod
    def from_upstreams(cls, names: Sequence[str], upstreams: Mapping[str, Iterable[str]]) -> Graph:
        """Build a graph from node names and, per node, the names of its upstream nodes.

        Repeated upstreams count once. A node listed as its own upstream is a
        cycle of length one. Raises ValueError on a duplicate node name or an
        upstream that is not one of `names`.
        """
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            if name in index:
                raise ValueError(f"duplicate node name {name!r}")
            index[name] = position

        upstream_lists: list[list[int]] = [[] for _ in names]
        downstream_lists: list[list[int]] = [[] for _ in names]
        for name, upstream_names in upstreams.items():
            target = index[name]
            seen: set[int] = set()
            for upstream in upstream_names:
                if upstream not in index:
                    raise ValueError(f"node {name!r} lists unknown upstream node {upstream!r}")
                source = index[upstream]
                if source in seen:
                    continue
                seen.add(source)
                upstream_lists[target].append(source)
                downstream_lists[source].append(target)

        # Downstreams were appended in the order the upstream mapping was
        # walked; sorting keeps them in spec order whatever that order was.
        for downstream in downstream_lists:
            downstream.sort()
        return cls(
            names=tuple(names),
            index=index,
            upstreams_by_index=tuple(tuple(items) for items in upstream_lists),
            downstreams_by_index=tuple(tuple(items) for items in downstream_lists),
        )

    def upstreams(self, name: str) -> list[str]:
        """Return the distinct upstream nodes of `name`, in the order the spec wires them."""
        return [self.names[i] for i in self.upstreams_by_index[self.index[name]]]

    def downstreams(self, name: str) -> list[str]:
        """Return the nodes that take the output of `name`, in spec order."""
        return [self.names[i] for i in self.downstreams_by_index[self.index[name]]]

    def roots(self) -> list[str]:
        """Return the nodes without upstreams, in spec order."""
        return [name for i, name in enumerate(self.names) if not self.upstreams_by_index[i]]


def build_graph(spec: WorkflowSpec) -> Graph:
    """Build the graph of a Workflow from each node's `inputs` (port -> upstream node names).

    Raises ValueError on a duplicate node name or an unknown upstream node,
    which `validation.validate_workflow` reports first.
    """
    names = [node.name for node in spec.nodes]
    upstreams = {
        node.name: [upstream for port_upstreams in node.inputs.values() for upstream in port_upstreams]
        for node in spec.nodes
    }
    return Graph.from_upstreams(names, upstreams)


def topological_order(graph: Graph) -> list[str]:
    """Return every node after all of its upstreams, breaking ties by spec order.

    Raises CycleError naming one cycle when the graph has one.
    """
    pending = [len(upstreams) for upstreams in graph.upstreams_by_index]
    ready = [i for i, count in enumerate(pending) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        current = heapq.heappop(ready)
        order.append(current)
        for downstream in graph.downstreams_by_index[current]:
            pending[downstream] -= 1
            if pending[downstream] == 0:
                heapq.heappush(ready, downstream)

    if len(order) < len(graph.names):
        raise CycleError(_cycle_among(graph, pending))
    return [graph.names[i] for i in order]


def find_cycle(graph: Graph) -> list[str] | None:
    """Return one cycle as node names in data-flow order (`["a", "b", "a"]`), or None."""
    try:
        topological_order(graph)
    except CycleError as error:
        return error.cycle
    return None


def _cycle_among(graph: Graph, pending: Sequence[int]) -> list[str]:
    """Find one cycle among the nodes that Kahn's algorithm could not order.

    Each such node still has an unordered upstream, so walking from one to an
    unordered upstream, again and again, must come back to a node already
    walked. The part of the walk from that node on is a cycle.
    """
    start = next(i for i, count in enumerate(pending) if count > 0)
    position_in_walk: dict[int, int] = {}
    walk: list[int] = []
    current = start
    while current not in position_in_walk:
        position_in_walk[current] = len(walk)
        walk.append(current)
        current = next(up for up in graph.upstreams_by_index[current] if pending[up] > 0)

    # The walk follows edges backwards, so reverse it into data-flow order,
    # then rotate it to start at the node that comes first in the spec.
    cycle = list(reversed(walk[position_in_walk[current] :]))
    first = cycle.index(min(cycle))
    cycle = cycle[first:] + cycle[:first]
    return [graph.names[i] for i in cycle + cycle[:1]]


def descendants(graph: Graph, *names: str) -> list[str]:
    """Return every node downstream of any of `names`, directly or not, in spec order.

    The given nodes themselves are left out, even when one is downstream of
    another, because a caller skipping the descendants of failed nodes must
    not mark a failed node as skipped.
    """
    return _reachable(graph, names, graph.downstreams_by_index)


def ancestors(graph: Graph, *names: str) -> list[str]:
    """Return every node upstream of any of `names`, directly or not, in spec order."""
    return _reachable(graph, names, graph.upstreams_by_index)


def _reachable(graph: Graph, names: Iterable[str], neighbours: Sequence[Sequence[int]]) -> list[str]:
    starts = [graph.index[name] for name in names]
    seen = [False] * len(graph.names)
    stack = list(starts)
    for start in starts:
        seen[start] = True
    while stack:
        current = stack.pop()
        for neighbour in neighbours[current]:
            if not seen[neighbour]:
                seen[neighbour] = True
                stack.append(neighbour)
    for start in starts:
        seen[start] = False
    return [name for i, name in enumerate(graph.names) if seen[i]]
