"""Predicting, before searching it, that a component's explicit search will not fit.

``--engine auto`` searches a component explicitly while its search stays within
``--auto-states`` and hands the rest to z3. Groups linked by ``avoid`` multiply their
state spaces, so a component of two ordinary groups often has tens of millions of states:
searching it up to the limit first (15-30 s) only to hand it over is time wasted. This
module estimates the component's size from its groups, cheaply, and says when it is
beyond the limit (SPEC.md section 11, "Engines and budgets").

The estimate: a state of the component is a node status and one local state per group.
Search each group *alone* (its ``avoid`` links dropped, so it is an ordinary one-group
model) for its number of reachable states ``S_g``, and the node events alone for the
number ``N`` of reachable node statuses. If the groups' local states were independent
given the node status, and spread evenly over the statuses, the component would have

    E = S_1 × … × S_k / N^(k-1)

states. Neither is quite true (``avoid`` couples the groups, events spread unevenly), so
``E`` is an estimate, not a bound: measured on the reach series and the examples it is
within a factor of 4 of the real count (``tests/checker/test_checker_predict.py``). It is
only used to choose an engine, never to decide a property: a component predicted too
large goes to z3, and what z3 leaves open is searched explicitly as before.

Everything is counted on the component's candidates and ``k`` other nodes
(:func:`crg.checker.components.reduce_nodes`): the search's symmetry merges the nodes that
are nobody's candidate, so counting each of them apart would inflate ``E`` on a large
cluster.

Cheap: only whether ``E`` exceeds the limit matters, so each group's search stops as soon
as the product is known to be large enough — with ``k`` groups, each at the ``k``-th root
of what is needed (a few thousand states for a pair, a few hundred for four groups),
searched again with a larger cap only if another group turned out smaller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from crg.checker.components import reduce_nodes
from crg.checker.explicit.explore import Search
from crg.spec import Model, Topology

PREDICTION_SLACK = 4
"""How far the estimate may be above a limit and the component still fit it: the real
count was 1.3 to 3.3 times the estimate on the components measured (never below it), so
a component estimated beyond 4 times the limit is not searched even when z3 leaves a
property open (:func:`crg.checker.api.check`)."""


@dataclass(frozen=True, slots=True)
class Prediction:
    estimate: int
    """``E`` (a lower bound of it when ``beyond`` and some group's search was cut short)."""
    beyond: bool
    """``E`` exceeds the limit: the explicit search would not fit."""
    solo: tuple[int, ...]
    """Each group's states alone (a lower bound where its search was cut short)."""
    node_statuses: int
    searched: int
    """States the prediction itself explored, all searches together."""


def alone(topology: Topology, g: int) -> Topology:
    """Group ``g`` of ``topology`` as a model of its own, ``avoid`` dropped."""
    group = replace(topology.groups[g], index=0, avoid=(), avoided_groups=())
    return Topology(topology.nodes, (group,), topology.max_down, topology.faults)


def _count(topology: Topology, cap: int | None) -> tuple[int, bool]:
    """Reachable states of ``topology`` (without symmetry), and whether the search
    finished (otherwise it stopped at ``cap``)."""
    # compiled rules: interpreted ones build nothing but checked the invariants of these
    # few thousand states ten times slower
    search = Search(Model(topology), liveness=False,
                    max_states=cap)
    stats = search.run()
    return stats.states, not stats.capped


def predict(topology: Topology, limit: int) -> Prediction:
    """Estimate the component ``topology`` (all its groups) against ``limit`` states."""
    k = len(topology.groups)
    if k < 2:
        raise ValueError("a prediction needs at least two groups (one is searched as it is)")
    # the search merges the nodes that are nobody's candidate (symmetry): count without
    # them, as the symbolic engine proves (SPEC.md section 11)
    topology, _ = reduce_nodes(topology)
    nodes, _ = _count(Topology(topology.nodes, (), topology.max_down, topology.faults), None)
    searched = nodes
    need = limit * nodes ** (k - 1)
    """E > limit exactly when the product of the groups' counts exceeds this."""
    exact: dict[int, int] = {}
    floor: dict[int, int] = {}
    while True:
        pending = [g for g in range(k) if g not in exact]
        known = math.prod(exact.values())
        if not pending or known * math.prod(floor.values()) > need:
            break
        # every pending group reaching ``cap`` puts the product above ``need``
        cap = _root_ceiling(need // known + 1, len(pending))
        for g in pending:
            if floor.get(g, 0) >= cap:
                continue
            count, complete = _count(alone(topology, g), cap)
            searched += count
            if complete:
                exact[g] = count
                floor.pop(g, None)
            else:
                floor[g] = count
    solo = tuple(exact.get(g, floor.get(g, 0)) for g in range(k))
    estimate = math.prod(solo) // nodes ** (k - 1)
    return Prediction(estimate, math.prod(solo) > need, solo, nodes, searched)


def _root_ceiling(value: int, k: int) -> int:
    """The least ``c`` with ``c ** k >= value``."""
    c: int = max(1, math.ceil(float(value) ** (1 / k)))
    while c ** k < value:
        c += 1
    while c > 1 and (c - 1) ** k >= value:
        c -= 1
    return c
