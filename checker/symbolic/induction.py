"""Inductive proofs of one component: Houdini over the conjuncts, then consequences.

1. **Strengthening** (:meth:`Prover.strengthen`): start from every auxiliary invariant and
   every *always* invariant of every group; check that each holds in the initial state and
   that every step template (symbolic performing node) from a state satisfying all of them
   leads to a state satisfying all of them. A step that breaks some conjunct in a
   counterexample to induction drops it; repeat until nothing drops. What is left is a
   conjunction that is inductive relative to itself and true initially: each *always*
   invariant in it holds in every reachable state, for every interleaving.
2. **Settled invariants** (:meth:`Prover.settled`): ``S ∧ quiescent ⇒ P``, where
   ``quiescent`` is the conjunction of the negated guards of every system step. Passing only
   the candidates' steps gives a weaker antecedent (so a proof with it is still a proof);
   if that is not enough, every node's steps are used.
3. **Step invariants** (:meth:`Prover.steps`): ``S ∧ guard ⇒ check(state, action, next)``
   for every step template.

Every query has a time limit; a query that runs out is an honest "unknown", never a proof.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import z3

from crg.checker.symbolic import solve
from crg.checker.symbolic.conjuncts import (
    STEP_INVARIANTS,
    settled_invariants,
    step_ok,
    strengthening,
)
from crg.checker.symbolic.encoding import Encoding, Step
from crg.checker.symbolic.substitute import Substitution
from crg.spec.rules.registry import KINDS

Key = tuple[str, int]
"""(invariant name, group index in the component)."""


@dataclass(slots=True)
class Finding:
    proved: bool
    reason: str
    """How it was proved, or why not (in words)."""


@dataclass(slots=True)
class ProofStats:
    queries: int = 0
    seconds: float = 0.0
    dropped: dict[str, str] = field(default_factory=dict)
    """Conjunct label -> why it was dropped from the strengthening."""


def _label(step: Step) -> str:
    kind = KINDS[step.kind].kind.label
    return kind if step.group < 0 else f"{kind} (group {step.group})"


class Prover:
    def __init__(self, enc: Encoding, timeout_ms: int,
                 only: frozenset[str] | None = None) -> None:
        """``only``: strengthen with just the conjuncts of these names."""
        self.enc = enc
        self.timeout_ms = timeout_ms
        self.s = enc.fresh_state("s")
        self.n = enc.node_var("n")
        self.templates = enc.steps(self.s, self.n)
        self.conjuncts = [c for c in strengthening(enc) if only is None or c.name in only]
        self.now = [enc.a.boolean(c.holds(enc, self.s)) for c in self.conjuncts]
        self.use = [z3.Bool(f"use.{i}") for i in range(len(self.conjuncts))]
        self.goal = [z3.Bool(f"goal.{i}") for i in range(len(self.conjuncts))]
        self.active: set[int] = set(range(len(self.conjuncts)))
        self.stats = ProofStats()
        self._solvers: dict[int, z3.Solver] = {}
        self._renamings: dict[int, list[tuple[z3.ExprRef, z3.ExprRef]]] = {}
        self._substitutions: dict[int, Substitution | None] = {}
        self._settled = False

    def renaming(self, t: int) -> list[tuple[z3.ExprRef, z3.ExprRef]]:
        """``z3.substitute`` pairs taking a term on the state ``s`` to the same term on the
        state after template ``t``."""
        if t not in self._renamings:
            self._renamings[t] = self.enc.renaming(self.s, self.templates[t].after)
        return self._renamings[t]

    def after(self, t: int, term: z3.ExprRef) -> z3.ExprRef:
        """``term`` (on ``s``) on the state after template ``t``."""
        if t not in self._substitutions:
            pairs = self.renaming(t)
            self._substitutions[t] = Substitution(pairs) if pairs else None
        rename = self._substitutions[t]
        return term if rename is None else rename(term)

    # -- plumbing --------------------------------------------------------------------

    def _solver(self) -> z3.Solver:
        solver = z3.SolverFor("QF_BV")
        solver.set(timeout=self.timeout_ms)
        return solver

    def _check(self, solver: z3.Solver, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        started = time.perf_counter()
        result = solve.check(solver, *assumptions)
        self.stats.queries += 1
        self.stats.seconds += time.perf_counter() - started
        return result

    def _template_solver(self, i: int) -> z3.Solver:
        """A solver holding ``use_c ⇒ c(s)`` for every conjunct and the template's guard."""
        solver = self._solvers.get(i)
        if solver is None:
            solver = self._solver()
            for use, now in zip(self.use, self.now, strict=True):
                solver.add(z3.Implies(use, now))
            solver.add(self.enc.a.boolean(self.templates[i].guard))
            if self._settled:
                solver.add(*self._uses())
            self._solvers[i] = solver
        return solver

    def _uses(self) -> list[z3.BoolRef]:
        return [self.use[i] for i in sorted(self.active)]

    def _assumed(self) -> list[z3.BoolRef]:
        """The conjuncts in force, as assumptions of a query (none once the strengthening
        is settled: they are then asserted in every template solver, which spares each
        of the thousands of later queries converting a hundred assumptions)."""
        return [] if self._settled else self._uses()

    def _settle(self) -> None:
        """The strengthening is final: assert its conjuncts in every template solver."""
        self._settled = True
        for solver in self._solvers.values():
            solver.add(*self._uses())

    def _drop(self, indices: Iterable[int], reason: str) -> None:
        for i in indices:
            if i in self.active:
                self.active.discard(i)
                self.stats.dropped[self.conjuncts[i].label] = reason

    # -- 1. strengthening ------------------------------------------------------------

    def strengthen(self) -> None:
        enc = self.enc
        initial = enc.initial_state()
        for i, c in enumerate(self.conjuncts):
            value = z3.simplify(enc.a.boolean(c.holds(enc, initial)))
            if not z3.is_true(value):
                self._drop([i], "false in the initial state")
        after_cache: dict[tuple[int, int], z3.BoolRef] = {}
        changed = True
        while changed:
            changed = False
            for t, step in enumerate(self.templates):
                affected = [i for i in sorted(self.active)
                            if step.group < 0 or self.conjuncts[i].reads(enc, step.group)]
                while affected:
                    for i in affected:
                        if (t, i) not in after_cache:
                            after_cache[(t, i)] = self.after(t, self.now[i])
                    solver = self._template_solver(t)
                    solver.push()
                    solver.add(z3.Or(*[z3.And(self.goal[i], z3.Not(after_cache[(t, i)]))
                                       for i in affected]))
                    goals = [self.goal[i] if i in self.active else z3.Not(self.goal[i])
                             for i in affected]
                    result = self._check(solver, *self._assumed(), *goals)
                    if result == z3.unsat:
                        solver.pop()
                        break
                    changed = True
                    if result == z3.unknown:
                        solver.pop()
                        self._drop(affected, f"unknown after {_label(step)}: "
                                             f"{solver.reason_unknown()}")
                        break
                    model = solver.model()
                    broken = [i for i in affected
                              if z3.is_false(model.eval(after_cache[(t, i)],
                                                        model_completion=True))]
                    solver.pop()
                    self._drop(broken, f"not preserved by {_label(step)}")
                    affected = [i for i in affected if i in self.active]
        self._settle()

    def holding(self) -> dict[Key, Finding]:
        """The *always* invariants kept by the strengthening (proved) and the others."""
        out: dict[Key, Finding] = {}
        for i, c in enumerate(self.conjuncts):
            if c.auxiliary or c.group is None:
                continue
            if i in self.active:
                out[(c.name, c.group)] = Finding(True, "inductive with the auxiliary "
                                                       "invariants")
            else:
                out[(c.name, c.group)] = Finding(False, self.stats.dropped.get(c.label, ""))
        return out

    def strengthening_labels(self) -> list[str]:
        return [self.conjuncts[i].label for i in sorted(self.active)]

    # -- 2. settled invariants -------------------------------------------------------

    def settled(self) -> dict[Key, Finding]:
        enc = self.enc
        nearby = sorted({c for topo in enc.groups for c in topo.candidates})
        attempts = [nearby]
        if len(nearby) < enc.n_nodes:
            attempts.append(list(range(enc.n_nodes)))
        open_keys = {(inv.name, g): inv for inv, g in settled_invariants(enc)}
        out: dict[Key, Finding] = {}
        for nodes in attempts:
            if not open_keys:
                break
            solver = self._solver()
            for i in self.active:
                solver.add(self.now[i])
            solver.add(enc.a.boolean(enc.quiescent(self.s, nodes)))
            for key, inv in list(open_keys.items()):
                claim = enc.a.boolean(inv.predicate(enc.view(self.s, key[1])))
                solver.push()
                solver.add(z3.Not(claim))
                result = self._check(solver)
                solver.pop()
                if result == z3.unsat:
                    out[key] = Finding(True, "implied in every settled state by the "
                                             "inductive invariant")
                    del open_keys[key]
                else:
                    why = ("the inductive invariants do not imply it in a settled state"
                           if result == z3.sat else f"unknown: {solver.reason_unknown()}")
                    out[key] = Finding(False, why)
        return out

    # -- 3. step invariants ----------------------------------------------------------

    def steps(self) -> dict[Key, Finding]:
        enc = self.enc
        out: dict[Key, Finding] = {}
        for name in dict.fromkeys(s.name for s in STEP_INVARIANTS):
            for g in range(len(enc.groups)):
                out[(name, g)] = Finding(True, "every step satisfies it from a state "
                                               "satisfying the inductive invariant")
        for t, step in enumerate(self.templates):
            groups = range(len(enc.groups)) if step.group < 0 else (step.group,)
            for check in STEP_INVARIANTS:
                for g in groups:
                    key = (check.name, g)
                    if not out[key].proved:
                        continue
                    ok = step_ok(enc, self.s, step, check, g)
                    if ok is True:
                        continue
                    solver = self._template_solver(t)
                    solver.push()
                    solver.add(z3.Not(enc.a.boolean(ok)))
                    result = self._check(solver, *self._assumed())
                    solver.pop()
                    if result != z3.unsat:
                        why = (f"{check.message} ({_label(step)})" if result == z3.sat
                               else f"unknown: {solver.reason_unknown()}")
                        out[key] = Finding(False, why)
        return out
