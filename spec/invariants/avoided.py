"""What the invariants know of the groups one avoids, read from the configuration (the
topology's ``avoid`` graph) rather than from what the topology derived for the rules
(``GroupTopology.avoided_groups``, ``crg.spec.vocabulary.topology.avoided_group``), so a
slip in that derivation is seen: the mutation harness mutates it, and this is its oracle.

The placement order is stated here its own way too (SPEC.md section 4): one avoided pair
at a time, by the cycles of the ``avoid`` graph, rather than by the topology's peeling
(``placement_order``). For ``g`` avoiding ``h``: if ``h`` does not reach ``g`` by ``avoid``
links (they are not in one strongly connected set), ``h`` comes first — an avoided group
before the groups avoiding it. Otherwise their cycle's member with the least choice (the
fewest nodes where its application may run), then the first name, comes first of it; if
that is neither, the same question is asked of the cycle without it.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx

from crg.spec.vocabulary.topology import AvoidedGroup, AvoidGraph, GroupTopology


def avoided(topo: GroupTopology) -> tuple[AvoidedGroup, ...]:
    """The groups ``topo``'s group avoids: each one's index, preferred node, failback,
    candidates, and whether it takes its node first."""
    graph = topo.graph
    if graph is None:
        return topo.avoided()  # a group built by hand: no configuration to read
    return _avoided(graph, topo.index)


@lru_cache(maxsize=4096)
def _avoided(graph: AvoidGraph, g: int) -> tuple[AvoidedGroup, ...]:
    return tuple(AvoidedGroup(h, graph.candidates[h][0], graph.auto_failback[h],
                              graph.candidates[h], comes_first(graph, g, h))
                 for h in graph.avoid[g])


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
    return len(graph.candidates[k]) if graph.failover[k] else 1
