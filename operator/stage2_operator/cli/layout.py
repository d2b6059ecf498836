"""A layered (Sugiyama-style) layout of a directed graph, drawn left to right.

The SVG renderer of `stage2 graph` uses it. The steps are the classic ones:
layers by longest path from the roots, a chain of dummy points for every edge
that spans more than one layer (so long edges bend around boxes instead of
crossing them), barycenter sweeps that reduce crossings, and vertical
placement that pulls each box towards the anchors it is connected to while
keeping the order and the gaps (isotonic regression, pool adjacent
violators). The module is pure; sizes and anchor offsets are given in
pixels by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

COLUMN_GAP = 110.0
ROW_GAP = 26.0
DUMMY_HEIGHT = 14.0
ORDER_SWEEPS = 12
PLACEMENT_SWEEPS = 6


@dataclass(frozen=True)
class Box:
    width: float
    height: float


@dataclass(frozen=True)
class LayoutEdge:
    """An edge from the source's anchor at `source_offset` to the target's anchor at `target_offset`.

    Offsets are measured down from the top of each box.
    """

    source: str
    target: str
    source_offset: float
    target_offset: float


@dataclass
class Layout:
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    routes: list[list[tuple[float, float]]] = field(default_factory=list)
    layers: dict[str, int] = field(default_factory=dict)
    width: float = 0.0
    height: float = 0.0


def assign_layers(names: Sequence[str], edges: Sequence[LayoutEdge]) -> dict[str, int]:
    """Put every node one layer right of its deepest upstream; nodes on a cycle keep the layer reached so far."""
    upstreams: dict[str, list[str]] = {name: [] for name in names}
    downstreams: dict[str, list[str]] = {name: [] for name in names}
    for edge in edges:
        upstreams[edge.target].append(edge.source)
        downstreams[edge.source].append(edge.target)
    pending = {name: len(upstreams[name]) for name in names}
    layer = {name: 0 for name in names}
    ready = [name for name in names if pending[name] == 0]
    done: set[str] = set()
    while len(done) < len(names):
        if not ready:
            # A cycle (an invalid Workflow): release the first unfinished node so drawing still works.
            ready = [next(name for name in names if name not in done)]
        current = ready.pop(0)
        if current in done:
            continue
        done.add(current)
        for downstream in downstreams[current]:
            layer[downstream] = max(layer[downstream], layer[current] + 1)
            pending[downstream] -= 1
            if pending[downstream] == 0:
                ready.append(downstream)
    return layer


def _count_crossings(order: Sequence[Sequence[str]], links: Sequence[tuple[str, str]], layer_of: Mapping[str, int]) -> int:
    """Count edge crossings between neighbouring layers by counting inversions."""
    position = {name: index for layer in order for index, name in enumerate(layer)}
    by_layer: dict[int, list[tuple[int, int]]] = {}
    for source, target in links:
        by_layer.setdefault(layer_of[source], []).append((position[source], position[target]))
    total = 0
    for pairs in by_layer.values():
        pairs.sort()
        total += _inversions([target for _, target in pairs])
    return total


def _inversions(values: list[int]) -> int:
    if len(values) < 2:
        return 0
    middle = len(values) // 2
    left, right = values[:middle], values[middle:]
    count = _inversions(left) + _inversions(right)
    merged: list[int] = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            merged.append(left[i])
            i += 1
        else:
            merged.append(right[j])
            count += len(left) - i
            j += 1
    merged.extend(left[i:])
    merged.extend(right[j:])
    values[:] = merged
    return count


def _order_layers(
    layers: list[list[str]], links: Sequence[tuple[str, str]], layer_of: Mapping[str, int]
) -> list[list[str]]:
    """Reorder each layer by the mean position of its neighbours, keeping the order with fewest crossings."""
    predecessors: dict[str, list[str]] = {name: [] for layer in layers for name in layer}
    successors: dict[str, list[str]] = {name: [] for layer in layers for name in layer}
    for source, target in links:
        successors[source].append(target)
        predecessors[target].append(source)

    best = [list(layer) for layer in layers]
    best_crossings = _count_crossings(best, links, layer_of)
    current = [list(layer) for layer in layers]
    for sweep in range(ORDER_SWEEPS):
        downward = sweep % 2 == 0
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for index in indices:
            neighbour_layer = current[index - 1] if downward else current[index + 1]
            position = {name: i for i, name in enumerate(neighbour_layer)}
            neighbours = predecessors if downward else successors

            def barycenter(item: tuple[int, str]) -> float:
                own_index, name = item
                linked = [position[other] for other in neighbours[name] if other in position]
                return sum(linked) / len(linked) if linked else float(own_index)

            ranked = sorted(enumerate(current[index]), key=lambda item: (barycenter(item), item[0]))
            current[index] = [name for _, name in ranked]
        crossings = _count_crossings(current, links, layer_of)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in current], crossings
        if best_crossings == 0:
            break
    return best


def _pool_adjacent_violators(targets: Sequence[float]) -> list[float]:
    """Return the non-decreasing sequence closest to `targets` in least squares."""
    blocks: list[list[float]] = []  # [sum, count]
    for value in targets:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    result: list[float] = []
    for total, count in blocks:
        result.extend([total / count] * int(count))
    return result


def _place_layer(layer: Sequence[str], heights: Mapping[str, float], desired: Mapping[str, float]) -> dict[str, float]:
    """Place a layer's boxes as close to their desired tops as the order and the gaps allow."""
    offsets = []
    running = 0.0
    for name in layer:
        offsets.append(running)
        running += heights[name] + ROW_GAP
    fitted = _pool_adjacent_violators([desired[name] - offset for name, offset in zip(layer, offsets)])
    return {name: value + offset for name, value, offset in zip(layer, fitted, offsets)}


def layout(names: Sequence[str], boxes: Mapping[str, Box], edges: Sequence[LayoutEdge]) -> Layout:
    """Lay out the graph; positions are box top-left corners, routes run from output anchor to input anchor."""
    layer_of = assign_layers(names, edges)

    # Split long edges into unit-length links through dummy points.
    chains: list[list[str]] = []
    heights = {name: boxes[name].height for name in names}
    anchor_out: dict[tuple[str, str], float] = {}
    anchor_in: dict[tuple[str, str], float] = {}
    all_layer_of = dict(layer_of)
    for number, edge in enumerate(edges):
        chain = [edge.source]
        start, end = layer_of[edge.source], layer_of[edge.target]
        for step in range(start + 1, end):
            dummy = f"\0dummy-{number}-{step}"
            all_layer_of[dummy] = step
            heights[dummy] = DUMMY_HEIGHT
            chain.append(dummy)
        chain.append(edge.target)
        chains.append(chain)
        for source, target in zip(chain, chain[1:]):
            anchor_out[(source, target)] = edge.source_offset if source == edge.source else DUMMY_HEIGHT / 2
            anchor_in[(source, target)] = edge.target_offset if target == edge.target else DUMMY_HEIGHT / 2
    links = [(source, target) for chain in chains for source, target in zip(chain, chain[1:])
             if all_layer_of[target] > all_layer_of[source]]

    depth = max(all_layer_of.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for name in names:
        layers[layer_of[name]].append(name)
    for chain in chains:
        for name in chain[1:-1]:
            layers[all_layer_of[name]].append(name)
    layers = _order_layers(layers, links, all_layer_of)

    # Vertical placement: stack, then pull towards connected anchors.
    top: dict[str, float] = {}
    for layer in layers:
        top.update(_place_layer(layer, heights, {name: 0.0 for name in layer}))
    incoming: dict[str, list[tuple[str, str]]] = {}
    outgoing: dict[str, list[tuple[str, str]]] = {}
    for link in links:
        outgoing.setdefault(link[0], []).append(link)
        incoming.setdefault(link[1], []).append(link)
    for sweep in range(PLACEMENT_SWEEPS):
        order = layers if sweep % 2 == 0 else list(reversed(layers))
        for layer in order:
            desired = {}
            for name in layer:
                wanted = [top[s] + anchor_out[(s, t)] - anchor_in[(s, t)] for s, t in incoming.get(name, [])]
                wanted += [top[t] + anchor_in[(s, t)] - anchor_out[(s, t)] for s, t in outgoing.get(name, [])]
                desired[name] = sum(wanted) / len(wanted) if wanted else top[name]
            top.update(_place_layer(layer, heights, desired))

    lowest = min(top.values(), default=0.0)
    widths = [max((boxes[name].width for name in layer if name in boxes), default=0.0) for layer in layers]
    column_x = []
    x = 0.0
    for width in widths:
        column_x.append(x)
        x += width + COLUMN_GAP

    result = Layout(layers=dict(layer_of))
    for name in names:
        column = layer_of[name]
        left = column_x[column] + (widths[column] - boxes[name].width) / 2
        result.positions[name] = (left, top[name] - lowest)
    for chain, edge in zip(chains, edges):
        source_x, source_y = result.positions[edge.source]
        points = [(source_x + boxes[edge.source].width, source_y + edge.source_offset)]
        for dummy in chain[1:-1]:
            column = all_layer_of[dummy]
            y = top[dummy] - lowest + DUMMY_HEIGHT / 2
            points.append((column_x[column], y))
            points.append((column_x[column] + widths[column], y))
        target_x, target_y = result.positions[edge.target]
        points.append((target_x, target_y + edge.target_offset))
        result.routes.append(points)

    result.width = max(x - COLUMN_GAP, 0.0)
    result.height = max((top[name] - lowest + heights[name] for layer in layers for name in layer), default=0.0)
    return result
