"""Configuration facts, for every failure set the assumptions allow (at most k nodes out).

These are questions about the configuration rather than about runs, answered for all
failure sets at once:

* ``coverage``: every group keeps a candidate that can host it (the spec's ``coverage``
  invariant, evaluated on the failure set);
* ``placement``: with nobody owning it yet, no switchover and no bans, the rules place a
  group on the first candidate of its sequence that is still in (free of the groups it
  avoids, if any is) — the spec's ``placement`` compared with a statement written here
  directly in z3, independently of the spec's derived notions;
* ``last-node``: which failure sets leave a group on its last node, and on every such set
  the spec disables switching there and its ``alert`` rule is enabled; with two candidates
  still in, switching stays enabled.

A failing fact comes with its minimal failure sets and a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from crg.checker.symbolic.algebra import Z3Algebra
from crg.checker.symbolic.failures import (
    down_nodes,
    idle_view,
    minimal_sets,
    names,
    sentence_list,
    sets_phrase,
)
from crg.checker.symbolic.solve import check
from crg.spec.invariants.state import coverage
from crg.spec.rules.care import alert
from crg.spec.rules.placement import placement, switching_disabled
from crg.spec.vocabulary.algebra import Algebra, Bool
from crg.spec.vocabulary.topology import GroupTopology, Topology
from crg.spec.vocabulary.variables import NodeVars


@dataclass(slots=True)
class Fact:
    name: str
    group: str
    holds: bool
    sentence: str
    failure_sets: list[list[str]] = field(default_factory=list)
    """Minimal failure sets (node names) on which the fact fails — or, for an
    informational fact such as ``last-node``, on which the situation arises."""
    complete: bool = True
    """Every minimal set is listed (False: z3 gave up or the list was cut short)."""

    def as_dict(self) -> dict[str, Any]:
        return {"fact": self.name, "group": self.group, "holds": self.holds,
                "sentence": self.sentence, "failure_sets": self.failure_sets,
                "complete": self.complete}


def _out(a: Algebra, nodes: NodeVars, c: int) -> Bool:
    """Independent reading of "candidate c is out" on a failure set (``down`` only)."""
    return a.bit(nodes.down, c)


# --- coverage ---------------------------------------------------------------------------


def coverage_fact(topology: Topology, topo: GroupTopology) -> Fact:
    def failing(a: Algebra, nodes: NodeVars) -> Bool:
        return a.not_(coverage(idle_view(a, topo, nodes, topology.n_nodes)))

    sets, complete = minimal_sets(topology, failing)
    k = topology.max_down
    if not sets:
        return Fact("coverage", topo.name, True,
                    f"{topo.name} keeps a candidate with any {_nodes(k)} out", [], complete)
    return Fact("coverage", topo.name, False,
                f"{topo.name} has no candidate left when {sets_phrase(topology, sets)} "
                f"(candidates: "
                f"{sentence_list([topology.nodes[c] for c in topo.candidates])}; "
                f"assumed: at most {_nodes(k)} down)",
                [names(topology, s) for s in sets], complete)


def _nodes(k: int) -> str:
    return f"{k} node" if k == 1 else f"{k} nodes"


# --- placement --------------------------------------------------------------------------


def placement_fact(topology: Topology, topo: GroupTopology, timeout_ms: int = 30_000) -> Fact:
    """The spec's placement against an independent z3 statement, for every failure set
    and every position of the avoided groups."""
    n = topology.n_nodes
    a = Z3Algebra(max(n, (n + 1).bit_length(), 2))
    down = z3.BitVec("failed", a.width)
    avoided = {h: z3.BitVec(f"owner.{h}", a.width) for h in topo.avoid}
    nodes = down_nodes(down)
    chosen = a.word(placement(idle_view(a, topo, nodes, n, dict(avoided))))

    def is_in(c: int) -> z3.BoolRef:
        return z3.Extract(c, c, down) == 0

    def free(c: int) -> z3.BoolRef:
        # an avoided group blocks c only where it stays: its preferred node, anywhere
        # under manual failback, or while its own home is out (away from a home it can
        # go back to, with auto failback, it is leaving); an instance's preferred node
        # is never kept apart from (its application runs nowhere else)
        if not topo.failover and c == topo.preferred:
            return z3.BoolVal(True)
        blockers = []
        for h in topo.avoided():
            there = avoided[h.index] == c + 1
            if c == h.home or not h.auto_failback or h.home < 0:
                blockers.append(z3.Not(there))
            else:
                blockers.append(z3.Not(z3.And(there, z3.Not(is_in(h.home)))))
        return z3.And(*blockers) if blockers else z3.BoolVal(True)

    # Written out directly: the first candidate that is in and free, else the first that
    # is in, else none.
    expected: z3.BitVecRef = z3.BitVecVal(0, a.width)
    for c in reversed(topo.candidates):
        expected = z3.If(is_in(c), z3.BitVecVal(c + 1, a.width), expected)
    if avoided:
        for c in reversed(topo.candidates):
            expected = z3.If(z3.And(is_in(c), free(c)), z3.BitVecVal(c + 1, a.width), expected)
    solver = z3.SolverFor("QF_BV")
    solver.set(timeout=timeout_ms)
    solver.add(a.boolean(a.is_zero(a.without(down, (1 << n) - 1))))
    solver.add(a.boolean(a.popcount_le(down, topology.max_down, n)))
    solver.add(chosen != expected)
    result = check(solver)
    if result == z3.unsat:
        extra = ", free of the groups it avoids when one is" if avoided else ""
        return Fact("placement", topo.name, True,
                    f"{topo.name} is placed on the first candidate still in{extra}, "
                    f"for every failure set")
    if result == z3.unknown:
        return Fact("placement", topo.name, False,
                    f"unknown: z3 gave up ({solver.reason_unknown()})", complete=False)
    model = solver.model()
    mask = model.eval(down, model_completion=True).as_long()
    failed = frozenset(i for i in range(n) if mask >> i & 1)
    got = model.eval(chosen, model_completion=True).as_long()
    want = model.eval(expected, model_completion=True).as_long()
    return Fact("placement", topo.name, False,
                f"with {sentence_list(names(topology, failed)) or 'no node'} out, the rules "
                f"place {topo.name} on {_ref(topology, got)} instead of {_ref(topology, want)}",
                [names(topology, failed)])


def _ref(topology: Topology, ref: int) -> str:
    return "no node" if ref == 0 else topology.nodes[ref - 1]


# --- the last node ----------------------------------------------------------------------


def last_node_fact(topology: Topology, topo: GroupTopology, timeout_ms: int = 30_000) -> Fact:
    def in_count_is_one(a: Algebra, nodes: NodeVars) -> Bool:
        ins = [a.not_(_out(a, nodes, c)) for c in topo.candidates]
        exactly_one = [a.and_(ins[i], *(a.not_(ins[j]) for j in range(len(ins)) if j != i))
                       for i in range(len(ins))]
        return a.or_(a.false, *exactly_one)

    problem = _last_node_mismatch(topology, topo, timeout_ms)
    if problem is not None:
        return problem
    sets, complete = minimal_sets(topology, in_count_is_one)
    if not sets:
        return Fact("last-node", topo.name, True,
                    f"{topo.name} never sits on its last node with at most "
                    f"{_nodes(topology.max_down)} down", [], complete)
    if sets[0] == frozenset():
        return Fact("last-node", topo.name, True,
                    f"{topo.name} has a single candidate: it is on its last node from the "
                    "start (switching disabled, alert raised once)", [[]], complete)
    return Fact("last-node", topo.name, True,
                f"{topo.name} reaches its last node when {sets_phrase(topology, sets)}: "
                "switching is disabled there and "
                "the alert is raised once", [names(topology, s) for s in sets], complete)


def _last_node_mismatch(topology: Topology, topo: GroupTopology,
                        timeout_ms: int) -> Fact | None:
    """For every failure set and owner among the candidates still in: switching is
    disabled (and the owner's ``alert`` step enabled, before the alert) exactly when the
    owner is the only candidate in."""
    n = topology.n_nodes
    a = Z3Algebra(max(n, (n + 1).bit_length(), 2))
    down = z3.BitVec("failed", a.width)
    owner = z3.BitVec("owner", a.width)
    nodes = down_nodes(down)
    view = idle_view(a, topo, nodes, n, owner=owner + 1)
    ins = {c: z3.Extract(c, c, down) == 0 for c in topo.candidates}
    sole = z3.Or(*[z3.And(owner == c, ins[c], *[z3.Not(ins[d]) for d in topo.candidates
                                                 if d != c]) for c in topo.candidates])
    owner_in = z3.Or(*[z3.And(owner == c, ins[c]) for c in topo.candidates])
    disabled = a.boolean(switching_disabled(view))
    alert_guard, _ = alert(view, owner)
    solver = z3.SolverFor("QF_BV")
    solver.set(timeout=timeout_ms)
    solver.add(a.boolean(a.is_zero(a.without(down, (1 << n) - 1))))
    solver.add(a.boolean(a.popcount_le(down, topology.max_down, n)))
    solver.add(owner_in)
    solver.add(z3.Or(disabled != sole, z3.And(sole, z3.Not(a.boolean(alert_guard)))))
    result = check(solver)
    if result == z3.unsat:
        return None
    if result == z3.unknown:
        return Fact("last-node", topo.name, False,
                    f"unknown: z3 gave up ({solver.reason_unknown()})", complete=False)
    model = solver.model()
    mask = model.eval(down, model_completion=True).as_long()
    on = model.eval(owner, model_completion=True).as_long()
    failed = frozenset(i for i in range(n) if mask >> i & 1)
    return Fact("last-node", topo.name, False,
                f"with {sentence_list(names(topology, failed)) or 'no node'} out and "
                f"{topo.name} on {topology.nodes[on]}, switching_disabled and the alert rule "
                "disagree with 'the owner is the only candidate left'",
                [names(topology, failed)])


def group_facts(topology: Topology, topo: GroupTopology) -> list[Fact]:
    return [coverage_fact(topology, topo), placement_fact(topology, topo),
            last_node_fact(topology, topo)]


_MARK = re.compile("\x00([^\x00]*)\x00")


def all_facts(topology: Topology) -> list[Fact]:
    """Every fact of every group. The facts of a group depend only on the node count,
    ``max_down``, the length of its candidate list and how many groups it avoids, up to a
    renaming of nodes: each such shape is answered once, on placeholder names, and the
    answer renamed for every group of that shape."""
    done: dict[tuple[int, ...], list[Fact]] = {}
    out: list[Fact] = []
    n = topology.n_nodes
    for topo in topology.groups:
        key = (n, topology.max_down, len(topo.candidates), len(topo.avoid))
        if key not in done:
            canon = replace(topo, index=0, name="\x00group\x00",
                            candidates=tuple(range(len(topo.candidates))))
            placeholder = Topology(tuple(f"\x00{i}\x00" for i in range(n)), (canon,),
                                   topology.max_down, topology.faults)
            done[key] = group_facts(placeholder, canon)
        order = list(topo.candidates) + [i for i in range(n) if i not in topo.candidates]
        names = {"group": topo.name} | {str(k): topology.nodes[i] for k, i in enumerate(order)}

        def real(text: str) -> str:
            return _MARK.sub(lambda m: names[m.group(1)], text)  # noqa: B023 (used at once)

        out += [Fact(f.name, topo.name, f.holds, real(f.sentence),
                     [[real(x) for x in s] for s in f.failure_sets], f.complete)
                for f in done[key]]
    return out


