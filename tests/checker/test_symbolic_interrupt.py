"""Ctrl-C during a z3 query is the user's interrupt (checker/symbolic/solve.py).

z3 takes SIGINT for itself while a query runs and answers ``unknown`` ("interrupted from
keyboard"); Python's handler never runs. Read as an ordinary ``unknown``, an interrupted
``crg check`` went on and could end ``ok`` (exit 0) — the tester's Ctrl-C two seconds
into a symbolic check of ``web-tier-avoid.crg``."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import z3

from crg.checker.symbolic import solve


class Interrupted:
    """A solver whose query z3's own SIGINT handler cancelled."""

    def check(self, *assumptions: z3.BoolRef) -> z3.CheckSatResult:
        return z3.unknown

    def reason_unknown(self) -> str:
        return solve.INTERRUPTED


class TimedOut(Interrupted):
    def reason_unknown(self) -> str:
        return "timeout"


def test_an_interrupted_query_raises_the_interrupt() -> None:
    with pytest.raises(KeyboardInterrupt):
        solve.check(Interrupted())  # type: ignore[arg-type]


def test_any_other_unknown_is_an_answer() -> None:
    assert solve.check(TimedOut()) == z3.unknown  # type: ignore[arg-type]


def hard() -> z3.Solver:
    """Factoring a 64-bit product of two primes: seconds of z3, at least."""
    x, y = z3.BitVecs("x y", 64)
    solver = z3.Solver()
    solver.set(timeout=30_000)
    solver.add(x * y == 0xC4A3_5F9B_D1E7_2B33, z3.UGT(x, 1), z3.UGT(y, 1),
               z3.ULT(x, 2**32), z3.ULT(y, 2**32))
    return solver


@pytest.mark.timeout(60)
def test_a_real_sigint_during_a_query_raises_the_interrupt() -> None:
    # SIGINT is sent again and again until the query returns; Python's own handler only
    # counts them for the while (so one that lands before or after the query changes
    # nothing): the interrupt must come from solve.check, out of z3's "unknown".
    solver, over = hard(), threading.Event()
    outside: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: outside.append(signum))

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while not over.is_set() and time.monotonic() < deadline:
            os.kill(os.getpid(), signal.SIGINT)
            over.wait(0.1)

    sender = threading.Thread(target=interrupt)
    sender.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            solve.check(solver)
    finally:
        over.set()
        sender.join()
        signal.signal(signal.SIGINT, previous)
