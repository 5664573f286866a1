"""The placement order of groups linked by ``avoid``, as the invariants state it
(SPEC.md section 4): one avoided pair at a time, by the cycles of the ``avoid`` graph,
rather than by the topology's peeling (``crg.spec.vocabulary.topology.placement_order``),
so that a slip in the order the rules follow is seen (the mutation harness mutates that
function; this is its oracle).

For ``g`` avoiding ``h``: if ``h`` does not reach ``g`` by ``avoid`` links (they are not
in one strongly connected set), ``h`` comes first — an avoided group before the groups
avoiding it. Otherwise their cycle's member with the least choice (the fewest nodes where
its application may run), then the first name, comes first of it; if that is neither,
the same question is asked of the cycle without it.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from crg.spec.vocabulary.topology import AvoidedGroup, AvoidGraph, GroupTopology


def placed_first(topo: GroupTopology, h: AvoidedGroup) -> bool:
    """Whether ``h``, a group ``topo`` avoids, takes its node before ``topo``'s group."""
    graph = topo.graph
    if graph is None or not 0 <= h.index < len(graph.names):
        return False  # a group built by hand: nothing is waited for (as the rules read it)
    return comes_first(graph, topo.index, h.index)


def comes_first(graph: AvoidGraph, g: int, h: int) -> bool:
    """``h`` comes before ``g``, which avoids it."""
    level = _whole(graph)
    while True:
        cycle = level.cycle_of[g]
        if level.cycle_of[h] is not cycle:
            return True
        first = level.first(cycle)
        if first in (g, h):
            return first == h
        level = level.within(cycle)


class _Level:
    """The strongly connected sets of the ``avoid`` links among some groups, each with its
    first member, and (once asked) the same of each set without its first member: every
    pair's question shares them, so a topology's pairs cost one decomposition per level,
    not one per pair."""

    def __init__(self, graph: AvoidGraph, among: frozenset[int]) -> None:
        self.graph = graph
        links = nx.DiGraph()
        links.add_nodes_from(among)
        links.add_edges_from((a, b) for a in among for b in graph.avoid[a] if b in among)
        self.cycle_of: dict[int, frozenset[int]] = {}
        for members in nx.strongly_connected_components(links):
            cycle = frozenset(members)
            self.cycle_of.update(dict.fromkeys(cycle, cycle))
        self._inner: dict[frozenset[int], _Level] = {}

    def first(self, cycle: frozenset[int]) -> int:
        graph = self.graph
        return min(cycle, key=lambda k: (_choice(graph, k), graph.names[k]))

    def within(self, cycle: frozenset[int]) -> _Level:
        inner = self._inner.get(cycle)
        if inner is None:
            inner = self._inner[cycle] = _Level(self.graph, cycle - {self.first(cycle)})
        return inner


@lru_cache(maxsize=64)
def _whole(graph: AvoidGraph) -> _Level:
    return _Level(graph, frozenset(range(len(graph.names))))


def _choice(graph: AvoidGraph, k: int) -> int:
    """How many nodes group ``k``'s application may run on: an instance's one."""
    return graph.candidates[k] if graph.failover[k] else 1
