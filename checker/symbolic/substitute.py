"""``z3.substitute`` for many terms under the same pairs.

z3's Python ``substitute`` checks the sorts of every pair on every call (each check makes
new Python objects for both sorts), which, with a whole state's pairs, costs far more than
the substitution itself: most of the time of an unrolling of owner changes
(:mod:`crg.checker.symbolic.owner_moves`) went there, and a good part of the prover's
renaming of terms to the state after a step. :class:`Substitution` checks and lays out
the pairs once and makes the same call of z3's C API for every term, so its terms are the
ones ``z3.substitute`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3


class Substitution:
    """``z3.substitute(term, *pairs)``, as ``Substitution(pairs)(term)``."""

    def __init__(self, pairs: Sequence[tuple[z3.ExprRef, z3.ExprRef]]) -> None:
        if not all(z3.is_expr(x) and z3.is_expr(y) and x.sort().eq(y.sort())
                   for x, y in pairs):
            raise ValueError("z3 substitution: expression pairs of the same sort expected")
        self._pairs = list(pairs)  # keeps the terms, and so the arrays' ASTs, alive
        self._count = len(self._pairs)
        self._from = (z3.Ast * self._count)(*(x.as_ast() for x, _ in self._pairs))
        self._to = (z3.Ast * self._count)(*(y.as_ast() for _, y in self._pairs))

    def __call__(self, term: z3.ExprRef) -> z3.ExprRef:
        ctx = term.ctx
        return z3.z3._to_expr_ref(  # as z3.substitute makes its result
            z3.Z3_substitute(ctx.ref(), term.as_ast(), self._count, self._from, self._to),
            ctx)
