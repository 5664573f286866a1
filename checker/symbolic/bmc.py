"""Bounded model checking from the initial state: real counterexamples, shortest first.

The transition relation is unrolled one step at a time; at each depth every open target
is asked for separately, so each gets the shortest run that breaks it. A run found here
is only a candidate: :mod:`crg.checker.symbolic.replay` replays it on the concrete
:class:`~crg.spec.Model` before anything is reported as violated.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from crg.checker.symbolic.conjuncts import step_ok
from crg.checker.symbolic.encoding import Encoding, Step, SymState
from crg.checker.symbolic.solve import check
from crg.spec.invariants import STATE_INVARIANTS, STEP_INVARIANTS
from crg.spec.vocabulary.actions import Action
from crg.spec.vocabulary.algebra import Bool


@dataclass(frozen=True, slots=True)
class Target:
    """Something to break: a state invariant of a group, or a step invariant of a group."""

    name: str
    group: int
    step: bool = False


@dataclass(frozen=True, slots=True)
class Run:
    target: Target
    actions: tuple[Action, ...]


class Unrolling:
    """A start state (the initial one, or any given symbolic state) followed by
    ``depth`` symbolic steps."""

    def __init__(self, enc: Encoding, timeout_ms: int, start: SymState | None = None,
                 invariant: Callable[[SymState], Bool] | None = None) -> None:
        """``invariant``: a formula proved to hold in every reachable state, asserted on
        every new frame to prune the search (it removes no reachable state)."""
        self.enc = enc
        self.invariant = invariant
        self.solver = z3.SolverFor("QF_BV")
        self.solver.set(timeout=timeout_ms)
        self.states: list[SymState] = [enc.initial_state() if start is None else start]
        self.choices: list[z3.BitVecRef] = []
        self.nodes: list[z3.BitVecRef] = []
        self.templates: list[list[Step]] = []
        self.queries = 0
        self._quiescent: dict[int, Bool] = {}

    @property
    def depth(self) -> int:
        return len(self.states) - 1

    def extend(self) -> None:
        enc, i = self.enc, self.depth
        here = self.states[i]
        node = enc.node_var(f"t{i}")
        templates = enc.steps(here, node)
        nxt = enc.fresh_state(f"t{i + 1}")
        choice = z3.BitVec(f"t{i}.choice", max(len(templates).bit_length(), 1))
        a = enc.a
        options = [z3.And(choice == j, a.boolean(step.guard),
                          a.boolean(enc.equal(step.after, nxt)))
                   for j, step in enumerate(templates) if step.guard is not False]
        self.solver.add(z3.Or(*options))
        if self.invariant is not None:
            self.solver.add(a.boolean(self.invariant(nxt)))
        self.states.append(nxt)
        self.choices.append(choice)
        self.nodes.append(node)
        self.templates.append(templates)

    def bad(self, target: Target, at: int | None = None) -> z3.BoolRef:
        """Target broken in state ``at`` (default: the last), or, for a step invariant, by
        the step into it."""
        enc, a = self.enc, self.enc.a
        at = self.depth if at is None else at
        if target.step:
            i = at - 1
            here, choice = self.states[i], self.choices[i]
            cases = []
            for j, step in enumerate(self.templates[i]):
                if step.group >= 0 and step.group != target.group:
                    continue
                broken = [a.not_(step_ok(enc, here, step, check, target.group))
                          for check in STEP_INVARIANTS if check.name == target.name]
                cases.append(z3.And(choice == j, a.boolean(a.or_(*broken))))
            return z3.Or(*cases) if cases else z3.BoolVal(False)
        state = self.states[at]
        inv = next(i for i in STATE_INVARIANTS if i.name == target.name)
        broken = a.not_(inv.predicate(enc.view(state, target.group)))
        if inv.sort == "quiescent":
            if at not in self._quiescent:
                self._quiescent[at] = enc.quiescent(state)
            broken = a.and_(self._quiescent[at], broken)
        return a.boolean(broken)

    def run(self, model: z3.ModelRef) -> tuple[Action, ...]:
        out = []
        for i in range(self.depth):
            j = model.eval(self.choices[i], model_completion=True).as_long()
            out.append(self.enc.action(self.templates[i][j], model))
        return tuple(out)


def search(enc: Encoding, targets: list[Target], max_depth: int, timeout_ms: int,
           deadline: float, invariant: Callable[[SymState], Bool] | None = None
           ) -> tuple[dict[Target, Run], str | None, int, int]:
    """Shortest runs breaking each target, up to ``max_depth`` steps.

    Returns the runs found, why the search stopped early (None if it reached
    ``max_depth`` or found every target), the depth fully searched, and the query count."""
    unrolling = Unrolling(enc, timeout_ms, invariant=invariant)
    found: dict[Target, Run] = {}
    searched = -1
    while True:
        depth = unrolling.depth
        for target in targets:
            if target in found or (target.step and depth == 0):
                continue
            if time.perf_counter() > deadline:
                return found, "time limit", searched, unrolling.queries
            solver = unrolling.solver
            solver.push()
            solver.add(unrolling.bad(target))
            result = check(solver)
            unrolling.queries += 1
            if result == z3.sat:
                found[target] = Run(target, unrolling.run(solver.model()))
            solver.pop()
            if result == z3.unknown:
                return found, f"unknown at depth {depth}", searched, unrolling.queries
        searched = depth
        if len(found) == len(targets) or depth >= max_depth:
            return found, None, searched, unrolling.queries
        unrolling.extend()
