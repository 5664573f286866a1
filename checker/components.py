"""Compositional checking: split a configuration into components of interacting groups.

A group's rules read the node status, its own variables and the owners of the groups it
avoids — nothing else (SPEC.md section 11). Groups linked by ``avoid`` (either way) are
therefore one component; a component is checked on its own with
``Model(topology.restrict(component))``, against the full node environment (every node,
the same ``assume at most k nodes down`` and fault kinds). Why that decides the verdicts of
the whole configuration is argued in SPEC.md, "Compositional checking", and tested in
tests/checker/test_checker_compose.py against monolithic runs.

Components that are the same up to a renaming of nodes (rac.crg's three instance groups,
each the rotation of the other) have isomorphic state graphs: :func:`signature` lets the
checker explore one and carry its result over to the others.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx

from crg.spec import Topology


def components(topology: Topology) -> list[tuple[int, ...]]:
    """Connected components of the ``avoid`` graph, each sorted, in order of their first
    group."""
    graph = nx.Graph()
    graph.add_nodes_from(g.index for g in topology.groups)
    graph.add_edges_from((g.index, h) for g in topology.groups for h in g.avoid)
    return sorted((tuple(sorted(c)) for c in nx.connected_components(graph)),
                  key=lambda c: c[0])


@dataclass(frozen=True, slots=True)
class Signature:
    """A component's topology with nodes renamed in order of first appearance in its
    candidate lists (unused nodes after them, by index): equal signatures mean the same
    model up to that renaming."""

    key: tuple[object, ...]
    node_order: tuple[int, ...]
    """``node_order[k]`` is the real node that plays canonical node ``k``."""


def signature(topology: Topology, component: tuple[int, ...]) -> Signature:
    groups = [topology.groups[g] for g in component]
    order: list[int] = []
    for g in groups:
        for n in g.candidates:
            if n not in order:
                order.append(n)
    order += [n for n in range(topology.n_nodes) if n not in order]
    rename = {n: k for k, n in enumerate(order)}
    position = {g: k for k, g in enumerate(component)}
    key = (
        topology.n_nodes, topology.max_down, tuple(sorted(topology.faults)),
        # which avoided groups each one waits for (the placement order goes by choice,
        # then by name, inside a cycle of avoidance, so two components alike but for
        # their names may place in another order)
        tuple((g.failover, tuple(rename[n] for n in g.candidates), g.auto_failback, g.budget,
               g.self_fencing, tuple(sorted(position[h] for h in g.avoid)),
               tuple(sorted(position[h.index] for h in g.avoided() if h.placed_first)))
              for g in groups),
    )
    return Signature(key, tuple(order))


def reduce_nodes(topology: Topology) -> tuple[Topology, tuple[int, ...]]:
    """The component over its candidates and the first ``k`` other nodes (fewer if there
    are fewer), keeping the nodes' order; and ``kept[i]``, the original index of node i.

    The other nodes are interchangeable and at most ``k`` of them out at once, so this
    reaches the same states of the candidates and groups (the symbolic engine proves on
    it once the footprint is proved: :mod:`crg.checker.symbolic.reduction`; the explicit
    engine's symmetry merges the same states, so its size predictions count on it)."""
    used = {c for g in topology.groups for c in g.candidates}
    others = [n for n in range(topology.n_nodes) if n not in used]
    kept = tuple(sorted(used | set(others[:topology.max_down])))
    index = {old: new for new, old in enumerate(kept)}
    groups = tuple(replace(g, candidates=tuple(index[c] for c in g.candidates))
                   for g in topology.groups)
    return (Topology(tuple(topology.nodes[n] for n in kept), groups, topology.max_down,
                     topology.faults), kept)
