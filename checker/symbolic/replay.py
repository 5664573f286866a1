"""Replaying a symbolic run on the concrete model: nothing is reported unchecked.

A run that z3 found is a sequence of actions; it counts as a counterexample only if every
action is enabled (within the config's assumptions) in the concrete
:class:`~crg.spec.Model`, step after step from its initial state, and the concrete model
itself reports the broken invariant at the end.
"""

from __future__ import annotations

from collections.abc import Sequence

from crg.checker.runs import ReplayError as ReplayError
from crg.checker.runs import replay as replay
from crg.checker.symbolic.bmc import Target
from crg.spec import Action, Model, State


def confirm(model: Model, actions: Sequence[Action], target: Target) -> list[State]:
    """Replay the run and check that it breaks ``target``; raise :class:`ReplayError` if
    it does not."""
    states = replay(model, actions)
    if target.step:
        if not actions:
            raise ReplayError("a step invariant needs a step")
        last, before = actions[-1], states[-2]
        for candidate, _, broken in (model.system_transitions(before)
                                     + model.environment_transitions(before)):
            if candidate == last and any(name == target.name for name, _ in broken):
                return states
        raise ReplayError(f"the last step does not break {target.name}")
    final = states[-1]
    problems = model.state_problems(final, model.is_quiescent(final))
    if (target.name, target.group) not in problems:
        raise ReplayError(f"the final state does not break {target.name}")
    return states
