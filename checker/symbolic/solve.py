"""Asking z3, with Ctrl-C kept the user's.

While a query runs, z3 takes SIGINT for itself: it cancels the query and answers
``unknown`` ("interrupted from keyboard"), and Python's handler never runs. Taken as an
ordinary ``unknown``, an interrupted check went on with its next query, and could even
end ``ok`` or ``inconclusive`` (exit 0 or 4 instead of 130). Every query goes through
:func:`check`, which turns that answer back into the interrupt.
"""

from __future__ import annotations

import z3

INTERRUPTED = "interrupted from keyboard"
"""z3's ``reason_unknown`` for a query its SIGINT handler cancelled."""


def check(solver: z3.Solver, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
    result = solver.check(*assumptions)
    if result == z3.unknown and solver.reason_unknown() == INTERRUPTED:
        raise KeyboardInterrupt
    return result
