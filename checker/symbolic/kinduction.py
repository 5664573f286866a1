"""k-induction: the fallback for a target the strengthened 1-induction leaves open.

From *any* state satisfying the inductive strengthening ``S`` (it holds in every
reachable state, so assuming it in every frame is sound), ``k`` steps that keep the target
intact cannot be followed by a step that breaks it. Together with bounded model checking
from the initial state to depth ``k - 1`` (the base case) this proves the target for every
run: a shortest violating run would need ``k`` intact states right before its end.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from crg.checker.symbolic.bmc import Target, Unrolling
from crg.checker.symbolic.encoding import Encoding, SymState
from crg.checker.symbolic.solve import check
from crg.spec.vocabulary.algebra import Bool


def k_inductive(enc: Encoding, target: Target, k: int, strengthening: Callable[[SymState], Bool],
                timeout_ms: int) -> bool | None:
    """True: proved (given the base case); False: not k-inductive; None: unknown."""
    unrolling = Unrolling(enc, timeout_ms, start=enc.fresh_state("k0"))
    solver = unrolling.solver
    solver.add(enc.a.boolean(strengthening(unrolling.states[0])))
    first = 1 if target.step else 0
    for _ in range(k):
        unrolling.extend()
        solver.add(enc.a.boolean(strengthening(unrolling.states[-1])))
    for at in range(first, k):
        solver.add(z3.Not(unrolling.bad(target, at)))
    solver.add(unrolling.bad(target, k))
    result = check(solver)
    if result == z3.unknown:
        return None
    return bool(result == z3.unsat)
