"""Failure sets: which sets of at most k nodes out make a property of a group fail.

A failure set is a set of nodes that are out (crashed; a cut-off, lost or drained node is
out for the same purposes). z3 searches the sets symbolically; each set found is shrunk to
an inclusion-minimal one (dropping nodes while the property still fails, evaluated with the
concrete algebra), and every superset of it is excluded before the next search. The result
is every minimal failure set, without enumerating the subsets of the cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import z3

from crg.checker.symbolic.algebra import Z3Algebra, word_width
from crg.checker.symbolic.solve import check
from crg.spec.rules.view import View
from crg.spec.vocabulary.algebra import CONCRETE, Algebra, Bool
from crg.spec.vocabulary.topology import GroupTopology, Topology
from crg.spec.vocabulary.variables import FLAG_FIELDS, GroupVars, NodeVars, avoided_vars

Failing = Callable[[Algebra, NodeVars], Bool]
"""``failing(algebra, nodes)``: the property fails when the nodes are as given."""


def down_nodes(down: object) -> NodeVars:
    """The node status where exactly the nodes of ``down`` are out (crashed)."""
    return NodeVars(*(down if f == "down" else 0 for f in NodeVars._fields))


def idle_group() -> GroupVars:
    """A group that nobody owns yet (the placement's point of view before a claim)."""
    return GroupVars(**{f: (False if f in FLAG_FIELDS else 0) for f in GroupVars._fields})


def idle_view(a: Algebra, topo: GroupTopology, nodes: NodeVars, n_nodes: int,
              avoided: dict[int, Any] | None = None, owner: Any = 0) -> View:
    """The view of a group owned by ``owner`` (default: nobody) with nothing else set;
    the groups it avoids are owned by nobody unless ``avoided`` gives their owners (and
    have no target, ban or maintenance)."""
    g = idle_group()._replace(owner=owner)
    owners = avoided or {}
    return View(a, topo, nodes, g,
                {h: avoided_vars(idle_group()._replace(owner=owners.get(h, 0)))
                 for h in topo.avoid}, n_nodes)


def minimal_sets(topology: Topology, failing: Failing, *, limit: int = 64,
                 timeout_ms: int = 30_000) -> tuple[list[frozenset[int]], bool]:
    """Every inclusion-minimal failure set of at most ``max_down`` nodes on which
    ``failing`` holds, smallest first; and whether the enumeration was complete (False when
    ``limit`` sets were found or z3 gave up)."""
    n, k = topology.n_nodes, topology.max_down
    a = Z3Algebra(word_width(n, 1))
    down = z3.BitVec("failed", a.width)
    solver = z3.SolverFor("QF_BV")
    solver.set(timeout=timeout_ms)
    solver.add(a.boolean(a.is_zero(a.without(down, (1 << n) - 1))))
    solver.add(a.boolean(a.popcount_le(down, k, n)))
    solver.add(a.boolean(failing(a, down_nodes(down))))
    found: list[frozenset[int]] = []
    while len(found) < limit:
        result = check(solver)
        if result != z3.sat:
            return sorted(found, key=lambda s: (len(s), sorted(s))), result == z3.unsat
        mask = solver.model().eval(down, model_completion=True).as_long()
        for node in range(n):
            smaller = mask & ~(1 << node)
            if mask >> node & 1 and failing(CONCRETE, down_nodes(smaller)):
                mask = smaller
        found.append(frozenset(i for i in range(n) if mask >> i & 1))
        solver.add((down & mask) != mask)  # no superset of a minimal set is minimal
    return sorted(found, key=lambda s: (len(s), sorted(s))), False


def names(topology: Topology, nodes: frozenset[int]) -> list[str]:
    return [topology.nodes[i] for i in sorted(nodes)]


def sentence_list(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def sets_phrase(topology: Topology, sets: list[frozenset[int]], shown: int = 3) -> str:
    """``n1 is out, or n2`` / ``n1 and n2 are out, or n1 and n3`` (at most ``shown``)."""
    words = [sentence_list(names(topology, s)) for s in sets[:shown]]
    verb = "is" if len(sets[0]) == 1 else "are"
    phrase = f"{words[0]} {verb} out" + "".join(f", or {w}" for w in words[1:])
    if len(sets) > shown:
        phrase += f" ({len(sets)} sets in all)"
    return phrase
