"""Counterexamples as plain runs: actions from the initial state, replayed on a model.

A worker process cannot hand a :class:`~crg.checker.result.Trace` back (it holds the
model, whose rules are compiled code), so both engines describe a counterexample as a
:class:`Run` — the actions, and for a lasso the state the last one returns to — and the
process that reports it replays the run on its own model. Replaying also checks it: every
action must be enabled, step after step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crg.checker.result import PROPERTIES, Property, Trace, TraceStep, Violation
from crg.spec import KINDS, Action, Model, State


class ReplayError(Exception):
    """A run the concrete model does not confirm (a bug in crg)."""


@dataclass(frozen=True, slots=True)
class Run:
    """A violation of one property, without its states."""

    kind: str
    """``state``, ``step`` or ``liveness`` (see :class:`~crg.checker.result.Violation`)."""
    group: str | None
    detail: str
    actions: tuple[Action, ...]
    loop: int | None = None
    """For a lasso: the state (index, the initial one being 0) the last action returns
    to."""

    @property
    def failures(self) -> int:
        return sum(1 for a in self.actions if not KINDS[a.kind].system)

    @property
    def length(self) -> int:
        return len(self.actions)

    @staticmethod
    def of(violation: Violation) -> Run:
        trace = violation.trace
        actions = tuple(s.action for s in trace.steps[1:] if s.action is not None)
        if trace.loop is not None and trace.loop_action is not None:
            actions += (trace.loop_action,)
        return Run(violation.kind, violation.group, violation.detail, actions, trace.loop)


def replay(model: Model, actions: Sequence[Action]) -> list[State]:
    """The states of the run, the initial one first; only enabled actions are accepted
    (environment events within the model's assumptions)."""
    states = [model.initial()]
    for i, action in enumerate(actions):
        here = states[-1]
        transitions = (model.system_transitions(here) if KINDS[action.kind].system
                       else model.environment_transitions(here))
        for candidate, after, _ in transitions:
            if candidate == action:
                states.append(after)
                break
        else:
            raise ReplayError(f"step {i + 1} ({action.kind.label}) is not enabled")
    return states


def to_violation(model: Model, prop: Property | str, run: Run) -> Violation:
    """``run`` replayed on ``model`` as a :class:`Violation` of ``prop`` (a property or
    its label)."""
    if isinstance(prop, str):
        prop = next(p for p in PROPERTIES if p.label == prop)
    states = replay(model, run.actions)
    steps = [TraceStep(None, states[0])]
    steps += [TraceStep(a, s) for a, s in zip(run.actions, states[1:], strict=True)]
    if run.loop is not None:
        if states[-1] != states[run.loop]:
            raise ReplayError("the loop does not return to its first state")
        trace = Trace(model, tuple(steps[:-1]), run.loop, run.actions[-1])
    else:
        trace = Trace(model, tuple(steps))
    return Violation(prop, run.kind, run.group, run.detail, trace, run.failures)
