"""From search indices to replayable traces of real states.

The search keeps parent pointers between (possibly symmetry-reduced) canonical states.
A trace is rebuilt by replaying: from the real initial state, take at each step the
transition whose target has the next canonical form. Symmetric states have matching
successors, so this always succeeds, and the result is a run of the real model whose
actions name real nodes and groups — something ``crg simulate`` and the runtime can follow.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from crg.checker.result import PROPERTIES, Trace, TraceStep, Violation
from crg.spec import STATE_INVARIANTS, Action, Model, State

if TYPE_CHECKING:
    from crg.checker.explicit.explore import Found, Search

_STATEMENTS = {inv.name: " ".join(inv.statement.split()) for inv in STATE_INVARIANTS}


def lift_path(search: Search, indices: list[int]) -> list[TraceStep]:
    """The real run along the search path ``indices`` (which starts at the root)."""
    model, canon, states = search.model, search.canon, search.states
    real = model.initial()
    if (real if canon is None else canon(real)) != states[indices[0]]:
        raise AssertionError("the search did not start from the initial state")
    steps = [TraceStep(None, real)]
    for p, c in pairwise(indices):
        system = search.layer_of(c) == search.layer_of(p)
        transitions = (model.system_transitions(real) if system
                       else model.environment_transitions(real))
        want = states[c]
        for action, target, _ in transitions:
            if (target if canon is None else canon(target)) == want:
                steps.append(TraceStep(action, target))
                real = target
                break
        else:
            raise AssertionError("a search edge has no counterpart in the real model")
    return steps


def violation(search: Search, found: Found) -> Violation:
    """The counterexample of ``found``, rebuilt as a real trace."""
    model = search.model
    prop = next(p for p in PROPERTIES if p.name == found.name and p.liveness == found.liveness)
    # ``found.group`` is a group of the canonical state; with group symmetry the real run
    # may have the twin in that place, so the group is read off the real trace.
    group = found.group
    if found.kind == "liveness":
        assert isinstance(found.lasso, Trace)
        trace = found.lasso
        detail = found.detail
    elif found.kind == "state":
        trace = Trace(model, tuple(lift_path(search, search.path(found.index))))
        detail = _STATEMENTS.get(found.name, found.name)
        group = _broken_group(model, trace.steps[-1].state, found.name, found.group)
    else:
        steps = lift_path(search, search.path(found.index))
        steps.append(_violating_step(search, found, steps[-1].state))
        trace = Trace(model, tuple(steps))
        detail = found.detail
        last = steps[-1].action
        assert last is not None
        group = last.group
    name = model.groups[group].name if group >= 0 else None
    return Violation(prop, found.kind, name, detail, trace, failures=found.cost[0])


def _broken_group(model: Model, state: State, name: str, hint: int) -> int:
    """A group that breaks state invariant ``name`` in the real ``state`` (``hint``, the
    canonical state's, when it is one)."""
    broken = [g for n, g in model.state_problems(state, model.is_quiescent(state)) if n == name]
    if not broken:
        raise AssertionError(f"the lifted trace does not break {name}")
    return hint if hint in broken else min(broken)


def _violating_step(search: Search, found: Found, real: State) -> TraceStep:
    model, canon = search.model, search.canon
    want = found.target if canon is None else canon(found.target)
    transitions = (model.system_transitions(real) if found.system
                   else model.environment_transitions(real))
    for action, target, problems in transitions:
        if ((target if canon is None else canon(target)) == want
                and any(name == found.name for name, _ in problems)):
            return TraceStep(action, target)
    raise AssertionError("the violating step has no counterpart in the real model")


def replay(model: Model, actions: list[tuple[Action, bool]]) -> list[TraceStep]:
    """Run ``actions`` (each with whether it is a system step) from the initial state of
    ``model``; raises ValueError if one is not enabled. Used to carry a counterexample
    over to an isomorphic component."""
    real = model.initial()
    steps = [TraceStep(None, real)]
    for action, system in actions:
        transitions = (model.system_transitions(real) if system
                       else model.environment_transitions(real))
        for candidate, target, _ in transitions:
            if candidate == action:
                steps.append(TraceStep(candidate, target))
                real = target
                break
        else:
            raise ValueError(f"{action} is not enabled")
    return steps


def step_detail(model: Model, before: State, action: Action, name: str) -> str:
    """The explanation the step check gives for ``action`` from ``before``."""
    for candidate, _, problems in (model.system_transitions(before)
                                   + model.environment_transitions(before)):
        if candidate == action:
            for found, detail in problems:
                if found == name:
                    return detail
    return name
