"""The symbolic engine's counterexamples as the checker's :class:`Violation` objects, so
every report (text, JSON, SARIF, JUnit, ITF) reads both engines the same way.

The runs are replayed on the component's concrete model once more to get their states
(they were confirmed there already); a lasso becomes a :class:`Trace` with its loop."""

from __future__ import annotations

from collections.abc import Sequence

from crg.checker.result import PROPERTIES, Trace, TraceStep, Violation
from crg.checker.symbolic.replay import replay
from crg.spec import KINDS, STATE_INVARIANTS, Action, Model

_STATEMENTS = {inv.name: " ".join(inv.statement.split()) for inv in STATE_INVARIANTS}


def as_violation(model: Model, label: str, kind: str, group: str | None, reason: str,
                 actions: Sequence[Action], loop: int | None = None) -> Violation:
    """``actions`` run from the initial state of ``model``; for a lasso (``loop`` set) the
    last one returns to state ``loop``."""
    prop = next(p for p in PROPERTIES if p.label == label)
    states = replay(model, actions)
    steps = [TraceStep(None, states[0])]
    steps += [TraceStep(a, s) for a, s in zip(actions, states[1:], strict=True)]
    if loop is not None:
        trace = Trace(model, tuple(steps[:-1]), loop, actions[-1])
    else:
        trace = Trace(model, tuple(steps))
    failures = sum(1 for a in actions if not KINDS[a.kind].system)
    # What the invariant says first, as the explicit engine's counterexample has it: "a
    # run of 6 steps ... breaks it" alone does not say what "it" is.
    statement = _STATEMENTS.get(prop.name) if kind == "state" else None
    detail = f"{statement} Found by z3: {reason}." if statement else reason
    return Violation(prop, kind, group, detail, trace, failures)
