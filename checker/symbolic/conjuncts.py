"""The conjuncts a proof works with: auxiliary invariants and the spec's invariants.

A conjunct is one named predicate instantiated on one group (or on the node status),
evaluated on any symbolic state. The proof engine strengthens with all of them at once and
keeps those that survive (see :mod:`crg.checker.symbolic.induction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from crg.checker.symbolic.auxiliary import GROUP_AUXILIARIES, NODE_AUXILIARIES
from crg.checker.symbolic.encoding import Encoding, Step, SymState
from crg.spec.invariants import STATE_INVARIANTS, STEP_INVARIANTS, StateInvariant, StepInvariant
from crg.spec.vocabulary.actions import Action
from crg.spec.vocabulary.algebra import Bool


@dataclass(frozen=True, slots=True)
class Conjunct:
    name: str
    """The invariant's or auxiliary invariant's name."""
    group: int | None
    """The group it is about (None: the node status)."""
    auxiliary: bool
    index: int
    """Position in the registry it comes from (to evaluate it)."""

    @property
    def label(self) -> str:
        where = "nodes" if self.group is None else f"group {self.group}"
        return f"{self.name} ({where})"

    def holds(self, enc: Encoding, s: SymState) -> Bool:
        a = enc.a
        if self.group is None:
            return NODE_AUXILIARIES[self.index].predicate(a, s.nodes, enc.topology)
        view = enc.view(s, self.group)
        if self.auxiliary:
            return GROUP_AUXILIARIES[self.index].predicate(view, enc.topology)
        return STATE_INVARIANTS[self.index].predicate(view)

    def reads(self, enc: Encoding, group: int) -> bool:
        """Does a step of ``group`` (which changes only that group) change this conjunct?"""
        if self.group is None:
            return False
        return self.group == group or group in enc.groups[self.group].avoid


def strengthening(enc: Encoding) -> list[Conjunct]:
    """Every auxiliary invariant and every *always* invariant, for every group."""
    out = [Conjunct(aux.name, None, True, i) for i, aux in enumerate(NODE_AUXILIARIES)]
    for g in range(len(enc.groups)):
        out += [Conjunct(aux.name, g, True, i) for i, aux in enumerate(GROUP_AUXILIARIES)]
        out += [Conjunct(inv.name, g, False, i) for i, inv in enumerate(STATE_INVARIANTS)
                if inv.sort == "always"]
    return out


def settled_invariants(enc: Encoding) -> list[tuple[StateInvariant, int]]:
    """Every *quiescent* invariant, for every group."""
    return [(inv, g) for g in range(len(enc.groups)) for inv in STATE_INVARIANTS
            if inv.sort == "quiescent"]


def step_ok(enc: Encoding, s: SymState, step: Step, check: StepInvariant, group: int) -> Bool:
    """The step invariant ``check`` on ``step`` from ``s``, for ``group`` (the step's own
    group, or each group a node event touches).

    SPEC.md lets a step check branch in Python on the action's node ("the action is
    concrete"); when it does, the check is instantiated once per node, each under
    "the performing node is this one"."""
    view, after = enc.view(s, group), enc.view(step.after, group)
    try:
        return check.check(view, Action(step.kind, step.group, step.node), after)
    except z3.Z3Exception:
        pass
    a = enc.a
    return a.and_(*(a.or_(a.not_(a.eq(step.node, node)),
                          check.check(view, Action(step.kind, step.group, node), after))
                    for node in range(enc.n_nodes)))


__all__ = ["STEP_INVARIANTS", "Conjunct", "settled_invariants", "step_ok", "strengthening"]
